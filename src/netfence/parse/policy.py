"""A validated NetworkPolicy manifest → model.NetworkPolicy.

Validation (parse.validation) has already rejected every malformed object, so
this conversion trusts types and values.

Every optional field is read through ``_field``: the API's Go types decode a
JSON/YAML ``null`` exactly as a missing key (pointer fields stay nil, slices and
maps stay empty), so ``namespaceSelector: null`` is *no* namespaceSelector, never
the empty selector ``{}`` that matches every namespace.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
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


def _field(raw: dict[str, Any] | None, key: str) -> Any:
    """The value of an optional field, or None when it is missing *or* null: a
    null decodes to the Go zero value (a nil pointer, an empty slice or map),
    which is what a missing key decodes to."""
    return None if raw is None else raw.get(key)


def to_policy(obj: dict[str, Any], namespace: str, source: Source | None) -> NetworkPolicy:
    return with_spec(policy_spec(_field(obj, "spec") or {}), namespace, obj, source)


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """What a NetworkPolicy's spec alone decides (policies with equal specs share it)."""

    pod_selector: LabelSelector
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    policy_types: frozenset[Direction]


def policy_spec(
    spec: dict[str, Any],
    rule: Callable[[Any, str], Rule] | None = None,
    pod_selector: Callable[[Any], LabelSelector] | None = None,
) -> PolicySpec:
    """A validated spec converted; ``rule(raw, "from" or "to")`` and
    ``pod_selector(raw)`` convert its parts (by default ``to_rule`` and
    ``selector``: a caller may remember them, each depends on its part alone)."""
    rule = rule or to_rule
    ingress = tuple(rule(r, "from") for r in _field(spec, "ingress") or ())
    egress = tuple(rule(r, "to") for r in _field(spec, "egress") or ())
    declared = frozenset(Direction(t) for t in _field(spec, "policyTypes") or ())
    return PolicySpec(
        # podSelector is a struct, not a pointer: null and {} both select every pod.
        pod_selector=(pod_selector or selector)(_field(spec, "podSelector")),
        ingress=ingress,
        egress=egress,
        policy_types=effective_policy_types(declared or None, len(egress)),
    )


def with_spec(
    spec: PolicySpec, namespace: str, obj: dict[str, Any], source: Source | None
) -> NetworkPolicy:
    """The policy ``obj`` (its name) in ``namespace``, with its converted spec."""
    return NetworkPolicy(
        namespace=namespace,
        name=obj["metadata"]["name"],
        pod_selector=spec.pod_selector,
        ingress=spec.ingress,
        egress=spec.egress,
        policy_types=spec.policy_types,
        source=source,
    )


def selector(raw: dict[str, Any] | None) -> LabelSelector:
    """``matchLabels: null`` and a missing matchLabels both mean no requirement."""
    labels = Labels.of(dict(string_items(_field(raw, "matchLabels"))))
    expressions = tuple(
        Requirement(e["key"], Operator(e["operator"]), _values(_field(e, "values")))
        for e in _field(raw, "matchExpressions") or ()
    )
    return LabelSelector(labels, expressions)


def _values(raw: list[Any] | None) -> tuple[str, ...]:
    """A requirement's values; a null item is Go's zero value for a string, ""."""
    return tuple("" if v is None else v for v in raw or ())


def to_rule(raw: dict[str, Any] | None, peers_field: str) -> Rule:
    """API reference: "If this field is empty or missing, this rule matches all
    sources" (destinations, ports): null, [] and a missing key are all None."""
    peers = tuple(_peer(p) for p in _field(raw, peers_field) or ())
    ports = tuple(_port(p) for p in _field(raw, "ports") or ())
    return Rule(peers or None, ports or None)


def _peer(raw: dict[str, Any] | None) -> Peer:
    """ipBlock, podSelector and namespaceSelector are pointers: null is unset."""
    block = _field(raw, "ipBlock")
    if block is not None:
        return Peer(
            ip_block=IPBlock(
                ipaddress.ip_network(block["cidr"], strict=False),
                tuple(ipaddress.ip_network(e, strict=False) for e in _field(block, "except") or ()),
            )
        )
    pod = _field(raw, "podSelector")
    namespace = _field(raw, "namespaceSelector")
    return Peer(
        pod_selector=None if pod is None else selector(pod),
        namespace_selector=None if namespace is None else selector(namespace),
    )


def _port(raw: dict[str, Any] | None) -> PolicyPort:
    """protocol, port and endPort are pointers; a null item is Go's zero value:
    TCP, all ports."""
    return PolicyPort(
        protocol=Protocol(_field(raw, "protocol") or "TCP"),
        port=_field(raw, "port"),
        end_port=_field(raw, "endPort"),
    )
