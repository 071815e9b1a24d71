"""A validated NetworkPolicy manifest → model.NetworkPolicy.

Validation (parse.validation) has already rejected every malformed object, so
this conversion trusts types and values.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from netfence.model.diagnostics import Source
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement
from netfence.model.policy import (
    Direction,
    IPBlock,
    NetworkPolicy,
    Peer,
    Rule,
    effective_policy_types,
)
from netfence.model.ports import PolicyPort, Protocol
from netfence.parse.validation_shapes import string_items


def to_policy(obj: dict[str, Any], namespace: str, source: Source | None) -> NetworkPolicy:
    spec = obj.get("spec") or {}
    ingress = tuple(_rule(r, "from") for r in spec.get("ingress") or ())
    egress = tuple(_rule(r, "to") for r in spec.get("egress") or ())
    declared = frozenset(Direction(t) for t in spec.get("policyTypes") or ())
    return NetworkPolicy(
        namespace=namespace,
        name=obj["metadata"]["name"],
        pod_selector=selector(spec.get("podSelector")),
        ingress=ingress,
        egress=egress,
        policy_types=effective_policy_types(declared or None, len(egress)),
        source=source,
    )


def selector(raw: dict[str, Any] | None) -> LabelSelector:
    """``matchLabels: null`` and a missing matchLabels both mean no requirement; a
    null in ``values`` is "" (Go decodes null into a string as its zero value)."""
    raw = raw or {}
    labels = Labels.of(dict(string_items(raw.get("matchLabels"))))
    expressions = tuple(
        Requirement(
            e["key"], Operator(e["operator"]), tuple(v or "" for v in e.get("values") or ())
        )
        for e in raw.get("matchExpressions") or ()
    )
    return LabelSelector(labels, expressions)


def _rule(raw: dict[str, Any] | None, peers_field: str) -> Rule:
    raw = raw or {}
    peers = tuple(_peer(p) for p in raw.get(peers_field) or ())
    ports = tuple(_port(p) for p in raw.get("ports") or ())
    return Rule(peers or None, ports or None)


def _peer(raw: dict[str, Any] | None) -> Peer:
    raw = raw or {}
    block = raw.get("ipBlock")
    if block is not None:
        return Peer(
            ip_block=IPBlock(
                ipaddress.ip_network(block["cidr"], strict=False),
                tuple(ipaddress.ip_network(e, strict=False) for e in block.get("except") or ()),
            )
        )
    pod = raw.get("podSelector", _ABSENT)
    namespace = raw.get("namespaceSelector", _ABSENT)
    return Peer(
        pod_selector=None if pod is _ABSENT else selector(pod),
        namespace_selector=None if namespace is _ABSENT else selector(namespace),
    )


def _port(raw: dict[str, Any] | None) -> PolicyPort:
    """A null item is Go's zero value: TCP, all ports."""
    raw = raw or {}
    return PolicyPort(
        protocol=Protocol(raw.get("protocol") or "TCP"),
        port=raw.get("port"),
        end_port=raw.get("endPort"),
    )


_ABSENT: Any = object()
