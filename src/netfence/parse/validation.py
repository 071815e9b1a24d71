"""NetworkPolicy validation, as the API server does it, on the raw decoded manifest.

Public API::

    validate_network_policy(obj, source, default_namespace) -> list[Diagnostic]
    network_policy_errors(obj) -> list[FieldError]      the same, before locating them

plus helpers the loader reuses for other kinds, re-exported here from
``validation_meta`` and ``validation_shapes``: ``FieldError``, ``is_dns1123_label``,
``is_dns1123_subdomain``, ``is_qualified_name``, ``is_label_value``,
``is_iana_svc_name`` (and their ``*_errors`` forms), ``validate_label_map``,
``validate_label_selector``, ``validate_object_meta``.

It reports every problem at once, in two passes: shapes first (wrong types and
unknown fields, which ``kubectl apply`` rejects before validation runs), then the
rules of upstream ``pkg/apis/networking/validation`` (ValidateNetworkPolicy,
ValidateNetworkPolicySpec, ValidateNetworkPolicyPort, ValidateNetworkPolicyPeer,
ValidateIPBlock) and of meta/v1 for selectors and metadata. Field paths and
messages are the API server's.

Deliberate differences from upstream:

- ``ipBlock.except`` entries are checked even when ``cidr`` is missing or invalid
  (upstream stops at the cidr; the object is rejected either way).
- Warnings (Severity.WARNING, not errors) for what the API server accepts: a CIDR
  with bits set beyond its prefix (``10.0.0.1/24`` means ``10.0.0.0/24``) and a
  non-canonical IPv6 CIDR, which it also warns about; a policyType listed twice,
  which it accepts silently.
- CIDRs with leading zeros (``010.0.0.0/8``, ``10.0.0.0/08``) or IPv4-mapped IPv6
  addresses are errors, as under the API server's StrictIPCIDRValidation; older API
  servers accept them with a warning, but they are ambiguous (octal) by design.
- ``metadata.name`` is required even with ``generateName`` (``kubectl apply`` needs
  a name, and so does every explanation netfence gives).
- ``apiVersion`` must be networking.k8s.io/v1, the only version served.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from netfence.model.diagnostics import Diagnostic, ObjectRef, Source
from netfence.parse.validation_meta import (
    LABEL_SELECTOR,
    OBJECT_META,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    iana_svc_name_errors,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_iana_svc_name,
    is_label_value,
    is_qualified_name,
    label_value_errors,
    object_meta_errors,
    qualified_name_errors,
    selector_errors,
    validate_label_map,
    validate_label_selector,
    validate_object_meta,
)
from netfence.parse.validation_shapes import (
    ANYTHING,
    INT_OR_STRING,
    INTEGER,
    STRING,
    FieldError,
    ListOf,
    Obj,
    as_map,
    check_shape,
    child,
    forbidden,
    index,
    invalid,
    list_at,
    not_supported,
    objects_at,
    required,
    show,
    str_at,
    warning,
)

__all__ = [
    "FieldError",
    "dns1123_label_errors",
    "dns1123_subdomain_errors",
    "iana_svc_name_errors",
    "is_dns1123_label",
    "is_dns1123_subdomain",
    "is_iana_svc_name",
    "is_label_value",
    "is_qualified_name",
    "label_value_errors",
    "network_policy_errors",
    "qualified_name_errors",
    "validate_label_map",
    "validate_label_selector",
    "validate_network_policy",
    "validate_object_meta",
]

API_VERSION = "networking.k8s.io/v1"
PROTOCOLS = ("TCP", "UDP", "SCTP")
POLICY_TYPES = ("Ingress", "Egress")

IP_BLOCK = Obj({"cidr": STRING, "except": ListOf(STRING)})
PEER = Obj(
    {"podSelector": LABEL_SELECTOR, "namespaceSelector": LABEL_SELECTOR, "ipBlock": IP_BLOCK}
)
PORT = Obj({"protocol": STRING, "port": INT_OR_STRING, "endPort": INTEGER})
INGRESS_RULE = Obj(
    {"ports": ListOf(PORT), "from": ListOf(PEER)},
    hints={"to": 'ingress rules list their peers under "from"'},
)
EGRESS_RULE = Obj(
    {"ports": ListOf(PORT), "to": ListOf(PEER)},
    hints={"from": 'egress rules list their peers under "to"'},
)
SPEC = Obj(
    {
        "podSelector": LABEL_SELECTOR,
        "ingress": ListOf(INGRESS_RULE),
        "egress": ListOf(EGRESS_RULE),
        "policyTypes": ListOf(STRING),
    }
)
_SPEC_FIELDS = frozenset(SPEC.fields)
NETWORK_POLICY = Obj(
    {
        "apiVersion": STRING,
        "kind": STRING,
        "metadata": OBJECT_META,
        "spec": SPEC,
        "status": ANYTHING,
    }
)


def validate_network_policy(
    obj: Mapping[str, Any], source: Source | None, default_namespace: str | None
) -> list[Diagnostic]:
    """Every problem of a ``kind: NetworkPolicy`` manifest, located by source, object
    and field path. ``default_namespace`` (None: "default") names the object when
    its metadata has no namespace, as ``kubectl apply -n`` would."""
    ref = _object_ref(obj, default_namespace or "default")
    return [problem.diagnostic(source, ref) for problem in network_policy_errors(obj)]


def network_policy_errors(obj: object) -> list[FieldError]:
    if not isinstance(obj, Mapping):
        return [FieldError("", "expected an object")]
    errors = check_shape(obj, NETWORK_POLICY, "")
    errors.extend(_api_version_errors(obj))
    errors.extend(object_meta_errors(obj.get("metadata"), "metadata"))
    errors.extend(spec_errors(as_map(obj.get("spec")), "spec"))
    return errors


PartCheck = Callable[[object, str], bool]


def spec_is_valid(
    spec: Mapping[str, Any],
    rule_is_valid: PartCheck | None = None,
    selector_is_valid: Callable[[object], bool] | None = None,
) -> bool:
    """No problem at all (not even a warning) under ``spec`` of a NetworkPolicy:
    what ``network_policy_errors`` reports there is empty.

    Checked part by part: every check of a rule (its shape, ports and peers)
    looks at that rule alone, and so do those of the pod selector, so a caller
    may remember the verdict on a part (``rule_is_valid(rule, "ingress" or
    "egress")``, ``selector_is_valid(podSelector)``; by default ``valid_rule``
    and ``valid_pod_selector``). A key that is not a field of the spec: the
    whole spec is checked at once (``whole_spec_is_valid``, the definition)."""
    if not _SPEC_FIELDS.issuperset(spec):
        return whole_spec_is_valid(spec)
    if not (selector_is_valid or valid_pod_selector)(spec.get("podSelector")):
        return False
    for direction in ("ingress", "egress"):
        rules = spec.get(direction)
        if rules is None:
            continue
        if not isinstance(rules, list):
            return False  # the shape: a list
        if not all((rule_is_valid or valid_rule)(rule, direction) for rule in rules):
            return False
    path = child("spec", "policyTypes")
    return not check_shape(spec.get("policyTypes"), SPEC.fields["policyTypes"], path) and (
        not _policy_types_errors(spec, path)
    )


def whole_spec_is_valid(spec: Mapping[str, Any]) -> bool:
    return not check_shape(spec, SPEC, "spec") and not spec_errors(spec, "spec")


def valid_pod_selector(selector: object) -> bool:
    """No problem in ``spec.podSelector`` (the checks of spec_is_valid there)."""
    path = child("spec", "podSelector")
    return not check_shape(selector, LABEL_SELECTOR, path) and not selector_errors(selector, path)


def valid_rule(rule: object, direction: str) -> bool:
    """No problem in one item of ``spec.ingress`` or ``spec.egress``."""
    schema = SPEC.fields[direction]
    assert isinstance(schema, ListOf)
    path = index(child("spec", direction), 0)
    if check_shape(rule, schema.item, path):
        return False
    # a rule that is neither a map nor null failed the shape check above
    return not _rule_errors(as_map(rule), path, "from" if direction == "ingress" else "to")


def errors_outside_spec(obj: Mapping[str, Any]) -> list[FieldError]:
    """``network_policy_errors(obj)`` when its spec (a map) is valid: the shape of
    every other field (the shapes are checked key by key), apiVersion and metadata."""
    errors = check_shape({k: v for k, v in obj.items() if k != "spec"}, NETWORK_POLICY, "")
    errors.extend(_api_version_errors(obj))
    errors.extend(object_meta_errors(obj.get("metadata"), "metadata"))
    return errors


def _object_ref(obj: Mapping[str, Any], default_namespace: str) -> ObjectRef:
    meta = as_map(obj.get("metadata")) if isinstance(obj, Mapping) else {}
    name = str_at(meta, "name", "") or None
    namespace = str_at(meta, "namespace", "") or default_namespace
    return ObjectRef("NetworkPolicy", namespace, name)


def _api_version_errors(obj: Mapping[str, Any]) -> list[FieldError]:
    """NetworkPolicy is served as networking.k8s.io/v1 only (extensions/v1beta1 was
    removed in Kubernetes 1.16)."""
    version = str_at(obj, "apiVersion", "")
    if version is None or version == API_VERSION:
        return []
    if not version:
        return [required("apiVersion")]
    return [not_supported("apiVersion", version, [API_VERSION])]


def spec_errors(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    """ValidateNetworkPolicySpec: the pod selector, each rule's ports then peers, and
    policyTypes."""
    errors = selector_errors(spec.get("podSelector"), child(path, "podSelector"))
    for direction, peers_key in (("ingress", "from"), ("egress", "to")):
        rules = child(path, direction)
        for i, rule in objects_at(spec, direction):
            errors.extend(_rule_errors(rule, index(rules, i), peers_key))
    errors.extend(_policy_types_errors(spec, child(path, "policyTypes")))
    return errors


def _rule_errors(rule: Mapping[str, Any], path: str, peers_key: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, port in objects_at(rule, "ports"):
        errors.extend(port_errors(port, index(child(path, "ports"), i)))
    for i, peer in objects_at(rule, peers_key):
        errors.extend(peer_errors(peer, index(child(path, peers_key), i)))
    return errors


def _policy_types_errors(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    """API reference: "Valid options are ["Ingress"], ["Egress"], or ["Ingress",
    "Egress"]." Upstream checks the count first and stops there."""
    types = list_at(spec, "policyTypes")
    if types is None:
        return []
    if len(types) > len(POLICY_TYPES):
        return [invalid(path, types, "may not specify more than two policyTypes")]
    errors: list[FieldError] = []
    for i, item in enumerate(types):
        text = "" if item is None else item
        if not isinstance(text, str):
            continue
        if text not in POLICY_TYPES:
            errors.append(not_supported(index(path, i), text, POLICY_TYPES))
        elif text in types[:i]:  # accepted upstream, but surely not what was meant
            errors.append(warning(index(path, i), f"Duplicate value: {show(text)}"))
    return errors


# --- ports ------------------------------------------------------------------------------


def port_errors(port: Mapping[str, Any], path: str) -> list[FieldError]:
    """ValidateNetworkPolicyPort."""
    protocol = str_at(port, "protocol", "TCP")  # defaulted to TCP when absent
    errors: list[FieldError] = []
    if protocol is not None and protocol not in PROTOCOLS:
        errors.append(not_supported(child(path, "protocol"), protocol, PROTOCOLS))
    number = port.get("port")
    end = port.get("endPort")
    end_port = end if isinstance(end, int) and not isinstance(end, bool) else None
    if isinstance(number, int) and not isinstance(number, bool):
        errors.extend(_numeric_port_errors(number, end_port, path))
    elif isinstance(number, str):
        errors.extend(_named_port_errors(number, end_port, path))
    elif number is None and end_port is not None:
        detail = "may not be specified when `port` is not specified"
        errors.append(invalid(child(path, "endPort"), end_port, detail))
    return errors


def _port_range_error(path: str, value: int) -> list[FieldError]:
    if 1 <= value <= 65535:
        return []
    return [invalid(path, value, "must be between 1 and 65535, inclusive")]


def _numeric_port_errors(number: int, end_port: int | None, path: str) -> list[FieldError]:
    """API reference (endPort): "indicates that the range of ports from port to endPort
    if set, inclusive, should be allowed by the policy. This field cannot be defined
    if the port field is not defined or if the port field is defined as a named
    (string) port. The endPort must be equal or greater than port.\""""
    errors = _port_range_error(child(path, "port"), number)
    if end_port is not None:
        if end_port < number:
            detail = "must be greater than or equal to `port`"
            errors.append(invalid(child(path, "endPort"), end_port, detail))
        errors.extend(_port_range_error(child(path, "endPort"), end_port))
    return errors


def _named_port_errors(name: str, end_port: int | None, path: str) -> list[FieldError]:
    """A string port is a port name, even when it looks like a number: ``port: "80"``
    is rejected, as by the API server."""
    errors: list[FieldError] = []
    if end_port is not None:
        detail = "may not be specified when `port` is non-numeric"
        errors.append(invalid(child(path, "endPort"), end_port, detail))
    hint = " (a quoted number is a port name: write the number unquoted)"
    suffix = hint if name.isdigit() else ""
    errors.extend(
        invalid(child(path, "port"), name, m + suffix) for m in iana_svc_name_errors(name)
    )
    return errors


# --- peers ------------------------------------------------------------------------------


def peer_errors(peer: Mapping[str, Any], path: str) -> list[FieldError]:
    """ValidateNetworkPolicyPeer: "Exactly one of [the selectors or ipBlock] must be
    specified." A null field counts as absent, as in Go."""
    errors: list[FieldError] = []
    for key, check in _PEER_FIELDS:
        value = peer.get(key)
        if isinstance(value, Mapping):  # other types were reported by the shape check
            errors.extend(check(value, child(path, key)))
    present = [key for key, _ in _PEER_FIELDS if peer.get(key) is not None]
    if not present:
        errors.append(required(path, "must specify a peer" + _null_peer_hint(peer)))
    elif len(present) > 1 and "ipBlock" in present:
        errors.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return errors


def _null_peer_hint(peer: Mapping[str, Any]) -> str:
    nulls = [k for k in ("podSelector", "namespaceSelector", "ipBlock") if k in peer]
    if not nulls:
        return ""
    return f" ({nulls[0]}: null is no {nulls[0]}; write {{}} to select everything)"


def ip_block_errors(value: object, path: str) -> list[FieldError]:
    """ValidateIPBlock: a valid ``cidr``, and each ``except`` a valid CIDR strictly
    inside it (which also makes it the same IP family)."""
    block = as_map(value)
    cidr = str_at(block, "cidr", "")
    network: _Network | None = None
    errors: list[FieldError] = []
    if cidr == "":
        errors.append(required(child(path, "cidr")))
    elif cidr is not None:
        network, problems = cidr_errors(cidr, child(path, "cidr"))
        errors.extend(problems)
    excepts = child(path, "except")
    for i, item in enumerate(list_at(block, "except") or []):
        text = "" if item is None else item
        if isinstance(text, str):
            errors.extend(_except_errors(text, network, index(excepts, i)))
    return errors


def _except_errors(text: str, network: _Network | None, path: str) -> list[FieldError]:
    excluded, errors = cidr_errors(text, path)
    if excluded is not None and network is not None and not _strictly_inside(excluded, network):
        errors.append(invalid(path, text, "must be a strict subset of `cidr`"))
    return errors


def _strictly_inside(inner: _Network, outer: _Network) -> bool:
    """Upstream: the outer network contains the inner one's address and has a shorter
    prefix. Networks of different IP families never contain each other."""
    if inner.prefixlen <= outer.prefixlen:
        return False
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


_PEER_FIELDS: tuple[tuple[str, Callable[[object, str], list[FieldError]]], ...] = (
    ("podSelector", selector_errors),
    ("namespaceSelector", selector_errors),
    ("ipBlock", ip_block_errors),
)


# --- CIDRs ------------------------------------------------------------------------------

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_BAD_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
_LEADING_ZEROS = "must not have leading 0s in IP or prefix length"
_PADDED_IPV4 = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}")
_PREFIX = re.compile(r"[0-9]{1,4}")


def cidr_errors(text: str, path: str) -> tuple[_Network | None, list[FieldError]]:
    """The network a CIDR names (host bits cleared, as Go's ParseCIDR does), and its
    problems: errors when it is not a CIDR, warnings when it is an unusual one."""
    network, reason = parse_cidr(text)
    if network is None:
        return None, [invalid(path, text, reason)]
    address = ipaddress.ip_address(text.partition("/")[0])
    if address != network.network_address:
        single = f"{address}/{network.max_prefixlen}"
        message = (
            f"CIDR value {show(text)} is ambiguous in this context "
            f"(should be {show(str(network))} or {show(single)}?)"
        )
        return network, [warning(path, message)]
    if network.version == 6 and text != str(network):
        canonical = show(str(network))
        message = (
            f"IPv6 CIDR value {show(text)} should be in RFC 5952 canonical format ({canonical})"
        )
        return network, [warning(path, message)]
    return network, []


def parse_cidr(text: str) -> tuple[_Network | None, str]:
    """``(network, "")``, or ``(None, reason)`` in the API server's words.

    Go's parser and Python's disagree at the edges, so the edges are decided here:
    no zone (``%eth0``), no netmask (``/255.0.0.0``), a decimal prefix length.
    """
    address_text, slash, prefix_text = text.partition("/")
    if not slash or "%" in address_text or not _PREFIX.fullmatch(prefix_text):
        return None, _BAD_CIDR
    try:
        address = ipaddress.ip_address(address_text)
    except ValueError:
        padded = _PADDED_IPV4.fullmatch(address_text)
        if padded and all(int(octet) <= 255 for octet in address_text.split(".")):
            return None, _LEADING_ZEROS
        return None, _BAD_CIDR
    prefix = int(prefix_text)
    if prefix > address.max_prefixlen:
        return None, _BAD_CIDR
    if prefix_text != str(prefix):
        return None, _LEADING_ZEROS
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return None, "must not have an IPv4-mapped IPv6 address"
    return ipaddress.ip_network(f"{address}/{prefix}", strict=False), ""
