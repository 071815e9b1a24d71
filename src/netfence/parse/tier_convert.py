"""A validated cluster-wide policy manifest → model.tiers.ClusterPolicy, and a validated
EKS ApplicationNetworkPolicy → model.policy.NetworkPolicy.

Validation (``tier_validation``) has already rejected every malformed object, so
this conversion trusts types and values. A null is an absent field.

What differs between the kinds is settled here, so that every consumer reads one
model:

- v1alpha1 ``Allow`` is ``RuleAction.ACCEPT``;
- ports: v1alpha1, EKS and v1alpha2 before v0.2.0 write ``portNumber`` (a single
  port: ``PortRange(start == end)``), ``portRange`` and ``namedPort``, with a
  protocol defaulted to TCP; v0.2.0 writes ``protocols`` entries ``tcp``/``udp``/
  ``sctp`` with ``destinationPort`` ``number`` or ``range``, and
  ``destinationNamedPort``;
- ``pods.namespaceSelector``, optional in v0.2.0: "if empty, it selects all
  Namespaces" (absent is empty);
- BaselineAdminNetworkPolicy has no priority; AdminNetworkPolicy is the Admin tier
  and BaselineAdminNetworkPolicy the Baseline tier; ClusterNetworkPolicy says its
  tier.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from netfence.model.diagnostics import Source
from netfence.model.policy import (
    Direction,
    IPBlock,
    NetworkPolicy,
    Peer,
    PolicyOrigin,
    Rule,
    effective_policy_types,
)
from netfence.model.ports import PolicyPort, Protocol
from netfence.model.tiers import (
    ClusterPolicy,
    NamedPort,
    NamespacedPods,
    PortRange,
    RuleAction,
    Subject,
    Tier,
    TierKind,
    TierPeer,
    TierPort,
    TierRule,
)
from netfence.parse.policy import selector

_TIERS = {
    TierKind.ADMIN_NETWORK_POLICY: Tier.ADMIN,
    TierKind.BASELINE_ADMIN_NETWORK_POLICY: Tier.BASELINE,
}
_ACTIONS = {"Allow": RuleAction.ACCEPT, **{a.value: a for a in RuleAction}}
_PROTOCOL_KEYS = {"tcp": Protocol.TCP, "udp": Protocol.UDP, "sctp": Protocol.SCTP}


def _get(raw: Mapping[str, Any] | None, key: str) -> Any:
    return None if raw is None else raw.get(key)


def to_cluster_policy(
    obj: Mapping[str, Any], kind: TierKind, source: Source | None
) -> ClusterPolicy:
    spec = _get(obj, "spec") or {}
    tier = _TIERS.get(kind) or Tier(spec["tier"])
    priority = _get(spec, "priority")
    return ClusterPolicy(
        kind=kind,
        name=obj["metadata"]["name"],
        tier=tier,
        priority=None if kind is TierKind.BASELINE_ADMIN_NETWORK_POLICY else priority,
        subject=_subject(spec["subject"]),
        ingress=_rules(_get(spec, "ingress"), "from"),
        egress=_rules(_get(spec, "egress"), "to"),
        source=source,
    )


def _subject(raw: Mapping[str, Any]) -> Subject:
    namespaces = _get(raw, "namespaces")
    if namespaces is not None:
        return Subject(namespaces=selector(namespaces))
    return Subject(pods=_pods(raw["pods"]))


def _pods(raw: Mapping[str, Any]) -> NamespacedPods:
    return NamespacedPods(
        namespace_selector=selector(_get(raw, "namespaceSelector")),
        pod_selector=selector(_get(raw, "podSelector")),
    )


def _rules(raw: list[Any] | None, peers_key: str) -> tuple[TierRule, ...]:
    return tuple(_rule(i, r or {}, peers_key) for i, r in enumerate(raw or ()))


def _rule(i: int, raw: Mapping[str, Any], peers_key: str) -> TierRule:
    """Ports None: "If unspecified, protocol-specific attributes will not be used to
    match traffic" (``ports`` and ``protocols`` have MinItems 1, so never empty)."""
    ports = _get(raw, "ports")
    protocols = _get(raw, "protocols")
    converted: tuple[TierPort, ...] | None = None
    if ports is not None:
        converted = tuple(p for item in ports for p in _v1alpha1_port(item or {}))
    elif protocols is not None:
        converted = tuple(_v1alpha2_port(item or {}) for item in protocols)
    return TierRule(
        index=i,
        name=_get(raw, "name") or "",
        action=_ACTIONS[raw["action"]],
        peers=tuple(_peer(p or {}) for p in raw[peers_key]),
        ports=converted,
    )


def _peer(raw: Mapping[str, Any]) -> TierPeer:
    namespaces, pods, nodes = (_get(raw, k) for k in ("namespaces", "pods", "nodes"))
    networks, names = _get(raw, "networks"), _get(raw, "domainNames")
    return TierPeer(
        namespaces=None if namespaces is None else selector(namespaces),
        pods=None if pods is None else _pods(pods),
        nodes=None if nodes is None else selector(nodes),
        networks=None
        if networks is None
        else tuple(ipaddress.ip_network(n, strict=False) for n in networks),
        domain_names=None if names is None else tuple(names),
    )


def _v1alpha1_port(raw: Mapping[str, Any]) -> tuple[TierPort, ...]:
    """One entry is one port; an EKS entry (no MinProperties there) is validated to
    set exactly one field, so the tuple has one item."""
    ports: list[TierPort] = []
    number = _get(raw, "portNumber")
    if number is not None:
        protocol = Protocol(_get(number, "protocol") or "TCP")
        ports.append(PortRange(protocol, number["port"], number["port"]))
    port_range = _get(raw, "portRange")
    if port_range is not None:
        protocol = Protocol(_get(port_range, "protocol") or "TCP")
        ports.append(PortRange(protocol, port_range["start"], port_range["end"]))
    name = _get(raw, "namedPort")
    if name is not None:
        ports.append(NamedPort(name))
    return tuple(ports)


def _v1alpha2_port(raw: Mapping[str, Any]) -> TierPort:
    name = _get(raw, "destinationNamedPort")
    if name is not None:
        return NamedPort(name)
    key, protocol = next((k, p) for k, p in _PROTOCOL_KEYS.items() if _get(raw, k) is not None)
    destination = raw[key]["destinationPort"]
    number = _get(destination, "number")
    if number is not None:
        return PortRange(protocol, number, number)
    port_range = destination["range"]
    return PortRange(protocol, port_range["start"], port_range["end"])


# --- EKS ApplicationNetworkPolicy -------------------------------------------------------


def to_application_policy(
    obj: Mapping[str, Any], namespace: str, source: Source | None
) -> NetworkPolicy:
    """An ApplicationNetworkPolicy is a NetworkPolicy whose egress peers may be
    ``domainNames`` (alone in their peer); everything else reads as NetworkPolicy."""
    spec = _get(obj, "spec") or {}
    ingress = tuple(_np_rule(r or {}, "from") for r in _get(spec, "ingress") or ())
    egress = tuple(_np_rule(r or {}, "to") for r in _get(spec, "egress") or ())
    declared = frozenset(Direction(t) for t in _get(spec, "policyTypes") or ())
    return NetworkPolicy(
        namespace=namespace,
        name=obj["metadata"]["name"],
        pod_selector=selector(_get(spec, "podSelector")),
        ingress=ingress,
        egress=egress,
        policy_types=effective_policy_types(declared or None, len(egress)),
        source=source,
        origin=PolicyOrigin.APPLICATION_NETWORK_POLICY,
    )


def _np_rule(raw: Mapping[str, Any], peers_key: str) -> Rule:
    """As NetworkPolicy: empty or missing peers or ports match everything."""
    peers = tuple(_np_peer(p or {}) for p in _get(raw, peers_key) or ())
    ports = tuple(
        PolicyPort(
            protocol=Protocol(_get(p, "protocol") or "TCP"),
            port=_get(p, "port"),
            end_port=_get(p, "endPort"),
        )
        for p in _get(raw, "ports") or ()
    )
    return Rule(peers or None, ports or None)


def _np_peer(raw: Mapping[str, Any]) -> Peer:
    names, block = _get(raw, "domainNames"), _get(raw, "ipBlock")
    if names is not None:
        return Peer(domain_names=tuple(names))
    if block is not None:
        excepts = _get(block, "except") or ()
        return Peer(
            ip_block=IPBlock(
                ipaddress.ip_network(block["cidr"], strict=False),
                tuple(ipaddress.ip_network(e, strict=False) for e in excepts),
            )
        )
    pods, namespaces = _get(raw, "podSelector"), _get(raw, "namespaceSelector")
    return Peer(
        pod_selector=None if pods is None else selector(pods),
        namespace_selector=None if namespaces is None else selector(namespaces),
    )
