"""Validation of the cluster-wide policy kinds and of EKS ApplicationNetworkPolicy,
as the API server does it, on the raw decoded manifest.

Public API::

    TierKindSpec, tier_kind(api_version, kind) -> TierKindSpec | None
    tier_object_errors(obj, spec) -> list[FieldError]
    tier_object_ref(obj, spec, default_namespace) -> ObjectRef
    uses_pre_npep187_ports(obj) -> bool

Every problem of an object at once: ``apiVersion`` (the served version of the
kind), the CRD's OpenAPI schema and CEL rules (``tier_crds``, ``tier_schema``),
then metadata as for any custom resource (a DNS-1123 subdomain name).

ClusterNetworkPolicy v1alpha2 had two port schemas under one version: ``ports``
(``portNumber``/``portRange``/``namedPort``) before network-policy-api v0.2.0 and
NPEP-187's ``protocols`` since. An object is read in the old schema when one of
its rules has ``ports`` and none has ``protocols``; otherwise in v0.2.0's (so an
object that mixes them is told that ``ports`` is unknown there).

Where netfence is stricter than the API server (the object would be accepted by
it, but no implementation can apply it as written), the error says so:

- label selectors follow meta/v1 (operators, label keys and values), which a CRD
  does not check but every implementation needs;
- a v1alpha1-style ``protocol`` must be TCP, UDP or SCTP (the CRDs have no enum);
- an EKS ClusterNetworkPolicy ``networks`` entry must be a CIDR (its CRD has no
  ``isCIDR`` rule), and each of its ``ports`` entries must set exactly one field
  (its CRD has no MinProperties/MaxProperties there);
- an EKS ApplicationNetworkPolicy must satisfy the NetworkPolicy rules for ports,
  ipBlocks, peers and policyTypes (its CRD only has the types);
- an object without ``spec`` (allowed by the EKS CRDs) is an error.

Warnings, not errors: a ``domainNames`` peer in an AdminNetworkPolicy rule that is
not Allow or a v1alpha2 ClusterNetworkPolicy rule that is not Accept (the API
text says they are "only supported" there; the CRDs do not check it); an
AdminNetworkPolicy/BaselineAdminNetworkPolicy
``portRange`` whose ``start`` is not below ``end`` (the v1alpha1 API text requires
it, its CRD does not check it); CIDRs with host bits set, as for NetworkPolicy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netfence.model.diagnostics import ObjectRef, Severity
from netfence.model.tiers import TierKind
from netfence.parse import tier_crds
from netfence.parse.tier_schema import Struct, schema_errors
from netfence.parse.validation import cidr_errors, ip_block_errors, port_errors
from netfence.parse.validation_meta import OBJECT_META, object_meta_errors
from netfence.parse.validation_shapes import (
    FieldError,
    as_map,
    check_shape,
    child,
    forbidden,
    index,
    invalid,
    not_supported,
    objects_at,
    required,
    show,
    str_at,
    warning,
)

APPLICATION_NETWORK_POLICY = ("networking.k8s.aws", "v1alpha1", "ApplicationNetworkPolicy")


@dataclass(frozen=True, slots=True)
class TierKindSpec:
    """One of the five kinds: its (group, version, kind), whether it is namespaced,
    and the name it is shown by (``kind`` alone is ambiguous for the two
    ClusterNetworkPolicy APIs; ``anp`` for AdminNetworkPolicy and
    ApplicationNetworkPolicy is never used)."""

    group: str
    version: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def shown_kind(self) -> str:
        """``ClusterNetworkPolicy.networking.k8s.aws`` for EKS's, the kind otherwise."""
        if self.group == "networking.k8s.aws" and self.kind == "ClusterNetworkPolicy":
            return f"{self.kind}.{self.group}"
        return self.kind

    @property
    def tier_kind(self) -> TierKind | None:
        """The ClusterPolicy kind; None for ApplicationNetworkPolicy."""
        for kind in TierKind:
            if kind.value == (self.group, self.version, self.kind):
                return kind
        return None


_SPECS = (
    *(TierKindSpec(*k.value, namespaced=False) for k in TierKind),
    TierKindSpec(*APPLICATION_NETWORK_POLICY, namespaced=True),
)
_BY_GROUP_KIND = {(s.group, s.kind): s for s in _SPECS}


def tier_kind(api_version: str, kind: str) -> TierKindSpec | None:
    """The kind an object is, by its group and kind (any version: a wrong version
    is an error of the object, reported by ``tier_object_errors``)."""
    return _BY_GROUP_KIND.get((api_version.rpartition("/")[0], kind))


def tier_object_ref(
    obj: Mapping[str, Any], spec: TierKindSpec, default_namespace: str
) -> ObjectRef:
    meta = as_map(obj.get("metadata"))
    name = str_at(meta, "name", "") or None
    namespace = (str_at(meta, "namespace", "") or default_namespace) if spec.namespaced else None
    return ObjectRef(spec.shown_kind, namespace, name)


def uses_pre_npep187_ports(obj: Mapping[str, Any]) -> bool:
    """Whether a v1alpha2 ClusterNetworkPolicy is written in the schema before
    v0.2.0: some rule has ``ports``, none has ``protocols``."""
    spec = as_map(obj.get("spec"))
    rules = [r for d in ("ingress", "egress") for _, r in objects_at(spec, d)]
    has = {key for r in rules for key in ("ports", "protocols") if r.get(key) is not None}
    return has == {"ports"}


def tier_object_errors(obj: Mapping[str, Any], spec: TierKindSpec) -> list[FieldError]:
    errors = _api_version_errors(obj, spec)
    errors.extend(schema_errors(obj, _schema(obj, spec), ""))
    errors.extend(check_shape(obj.get("metadata"), OBJECT_META, "metadata"))
    errors.extend(object_meta_errors(obj.get("metadata"), "metadata", namespaced=spec.namespaced))
    if obj.get("spec") is None and "spec" not in _schema(obj, spec).required:  # EKS kinds
        errors.append(required("spec", "netfence needs a spec to know what the policy selects"))
    schema = _schema(obj, spec)
    errors.extend(_own_rules(as_map(obj.get("spec")), spec, schema is not _V020_CNP))
    return errors


def _schema(obj: Mapping[str, Any], spec: TierKindSpec) -> Struct:
    kind = spec.tier_kind
    if kind is None:
        return tier_crds.APPLICATION_NETWORK_POLICY
    if kind is TierKind.CLUSTER_NETWORK_POLICY and uses_pre_npep187_ports(obj):
        return tier_crds.PRE_NPEP187_CLUSTER_NETWORK_POLICY
    return {
        TierKind.ADMIN_NETWORK_POLICY: tier_crds.ADMIN_NETWORK_POLICY,
        TierKind.BASELINE_ADMIN_NETWORK_POLICY: tier_crds.BASELINE_ADMIN_NETWORK_POLICY,
        TierKind.CLUSTER_NETWORK_POLICY: tier_crds.CLUSTER_NETWORK_POLICY,
        TierKind.EKS_CLUSTER_NETWORK_POLICY: tier_crds.EKS_CLUSTER_NETWORK_POLICY,
    }[kind]


def _api_version_errors(obj: Mapping[str, Any], spec: TierKindSpec) -> list[FieldError]:
    version = str_at(obj, "apiVersion", "")
    if version is None or version == spec.api_version:
        return []
    return [not_supported("apiVersion", version, [spec.api_version])]


# --- netfence's own rules (see the module text) -----------------------------------------

_PROTOCOLS = ("TCP", "UDP", "SCTP")


_V020_CNP = tier_crds.CLUSTER_NETWORK_POLICY


def _own_rules(spec: Mapping[str, Any], kind: TierKindSpec, has_ports: bool) -> list[FieldError]:
    """``has_ports``: the object's schema has ``ports`` (every kind but a v0.2.0
    ClusterNetworkPolicy, where ``ports`` is an unknown field)."""
    tier = kind.tier_kind
    if tier is None:
        return _application_rules(spec)
    errors: list[FieldError] = []
    for direction in ("ingress", "egress"):
        for i, rule in objects_at(spec, direction):
            path = index(child("spec", direction), i)
            for j, port in objects_at(rule, "ports") if has_ports else ():
                errors.extend(_v1alpha1_port_rules(port, index(child(path, "ports"), j), tier))
            if direction == "egress":
                eks = tier is TierKind.EKS_CLUSTER_NETWORK_POLICY
                errors.extend(_network_rules(rule, child(path, "to"), with_errors=eks))
                if not eks:
                    accept = "Accept" if tier is TierKind.CLUSTER_NETWORK_POLICY else "Allow"
                    errors.extend(_domain_names_action(rule, path, accept))
    return errors


def _v1alpha1_port_rules(port: Mapping[str, Any], path: str, tier: TierKind) -> list[FieldError]:
    errors: list[FieldError] = []
    for key in ("portNumber", "portRange"):
        value = as_map(port.get(key))
        protocol = str_at(value, "protocol", "TCP")
        if protocol is not None and protocol not in _PROTOCOLS and key in port:
            where = child(child(path, key), "protocol")
            errors.append(not_supported(where, protocol, _PROTOCOLS))
    if tier is TierKind.EKS_CLUSTER_NETWORK_POLICY:
        count = sum(port.get(k) is not None for k in ("namedPort", "portNumber", "portRange"))
        if count != 1:
            detail = (
                "exactly one of portNumber, portRange or namedPort must be set "
                "(netfence's rule: the EKS CRD does not say what such an entry matches)"
            )
            errors.append(invalid(path, "object", detail))
    port_range = as_map(port.get("portRange"))
    start, end = port_range.get("start"), port_range.get("end")
    is_v1alpha1 = tier in (TierKind.ADMIN_NETWORK_POLICY, TierKind.BASELINE_ADMIN_NETWORK_POLICY)
    if is_v1alpha1 and isinstance(start, int) and isinstance(end, int) and start >= end:
        message = (
            "Start port must be less than End port (v1alpha1 says so but its CRD does not "
            f"check it; {'a single port' if start == end else 'no port'} is matched)"
        )
        errors.append(warning(child(path, "portRange"), message))
    return errors


def _domain_names_action(rule: Mapping[str, Any], path: str, accept: str) -> list[FieldError]:
    """v1alpha1: "DomainNames is only supported for ALLOW rules."; v1alpha2:
    "DomainNames is only supported for Accept rules." Their CRDs do not enforce it
    (EKS's does: an error there), so what such a rule matches is up to the
    implementation: a warning."""
    action = rule.get("action")
    peers = rule.get("to")
    if action == accept or not isinstance(peers, list):
        return []
    if not any(isinstance(p, Mapping) and p.get("domainNames") is not None for p in peers):
        return []
    message = (
        f"domainNames peer with action {show(action)}: the API supports domainNames only in "
        f"{accept} rules (the CRD does not check it; implementations may reject or ignore it)"
    )
    return [warning(path, message)]


def _network_rules(rule: Mapping[str, Any], path: str, with_errors: bool) -> list[FieldError]:
    """CIDRs with host bits set or in a non-canonical IPv6 form are warnings, as for
    NetworkPolicy; invalid CIDRs are errors here only for the EKS kind (the
    upstream CRDs' ``isCIDR`` rule reports them)."""
    problems: list[FieldError] = []
    for i, peer in objects_at(rule, "to"):
        networks = peer.get("networks")
        for j, text in enumerate(networks if isinstance(networks, list) else []):
            if isinstance(text, str):
                where = index(child(index(path, i), "networks"), j)
                problems.extend(cidr_errors(text, where)[1])
    return [p for p in problems if with_errors or p.severity is Severity.WARNING]


def _application_rules(spec: Mapping[str, Any]) -> list[FieldError]:
    """The NetworkPolicy rules an ApplicationNetworkPolicy's controller relies on."""
    errors: list[FieldError] = []
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        for i, rule in objects_at(spec, direction):
            path = index(child("spec", direction), i)
            for j, port in objects_at(rule, "ports"):
                errors.extend(port_errors(port, index(child(path, "ports"), j)))
            for j, peer in objects_at(rule, peers_key):
                where = index(child(path, peers_key), j)
                errors.extend(_application_peer_rules(peer, where, direction == "egress"))
    for i, item in enumerate(spec.get("policyTypes") or []):
        if isinstance(item, str) and item not in ("Ingress", "Egress"):
            where = index(child("spec", "policyTypes"), i)
            errors.append(not_supported(where, item, ("Ingress", "Egress")))
    return errors


def _application_peer_rules(peer: Mapping[str, Any], path: str, egress: bool) -> list[FieldError]:
    """ValidateNetworkPolicyPeer, where an egress peer may be ``domainNames`` alone
    (its combinations with the other fields are the CRD's CEL rules)."""
    errors: list[FieldError] = []
    if isinstance(peer.get("ipBlock"), Mapping):
        errors.extend(ip_block_errors(peer["ipBlock"], child(path, "ipBlock")))
    keys = ("podSelector", "namespaceSelector", "ipBlock", *(("domainNames",) if egress else ()))
    present = [k for k in keys if peer.get(k) is not None]
    if not present:
        errors.append(required(path, "must specify a peer"))
    elif "ipBlock" in present and len(present) > 1 and "domainNames" not in present:
        errors.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return errors
