"""Symbolic containment of selectors, selections, ports and rules: "for every pod that
could ever exist", not only today's. Sound but not complete: True means contained
for sure; False means not shown (the shadowing checks then stay quiet).

It reads the IR (compile/ir.py), so NetworkPolicy peers, ApplicationNetworkPolicy
names and the cluster-wide peers and subjects are compared by one set of rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from netfence.compile.addresses import AddressRanges, Ranges
from netfence.compile.compiled import CompiledRule
from netfence.compile.ir import (
    EVERY_PORT,
    AddressesIn,
    EveryNamespace,
    NamesMatching,
    NamespaceScope,
    NamespacesMatching,
    NodesSelected,
    OwnNamespace,
    PodsSelected,
    PortNamed,
    PortNumbers,
    PortSelection,
    Selection,
)
from netfence.compile.names import names_within
from netfence.model.cluster import NAMESPACE_NAME_LABEL
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement


def _requirements(selector: LabelSelector) -> list[Requirement]:
    pairs = [Requirement(k, Operator.IN, (v,)) for k, v in selector.match_labels.items_]
    return [*pairs, *selector.match_expressions]


def _implies(a: Requirement, b: Requirement) -> bool:
    """Does every label set satisfying ``a`` satisfy ``b`` (same key)?"""
    if a.key != b.key:
        return False
    if b.operator is Operator.EXISTS:
        return a.operator in (Operator.IN, Operator.EXISTS)
    if b.operator is Operator.DOES_NOT_EXIST:
        return a.operator is Operator.DOES_NOT_EXIST
    if b.operator is Operator.IN:
        return a.operator is Operator.IN and set(a.values) <= set(b.values)
    # b is NotIn: a must rule out every value b excludes
    if a.operator is Operator.DOES_NOT_EXIST:
        return True
    if a.operator is Operator.IN:
        return not set(a.values) & set(b.values)
    return a.operator is Operator.NOT_IN and set(b.values) <= set(a.values)


def selector_within(inner: LabelSelector, outer: LabelSelector) -> bool:
    """Every label set ``inner`` matches, ``outer`` matches: each of outer's
    requirements follows from one of inner's."""
    mine = _requirements(inner)
    return all(any(_implies(a, b) for a in mine) for b in _requirements(outer))


def _ranges_within(inner: Ranges, outer: Ranges) -> bool:
    """Every range of ``inner`` lies inside one range of ``outer`` (both merged, so
    a range of inner cannot straddle two of outer's)."""
    at = 0
    for lo, hi in inner:
        while at < len(outer) and outer[at][1] < lo:
            at += 1
        if at == len(outer) or not (outer[at][0] <= lo and hi <= outer[at][1]):
            return False
    return True


def addresses_within(inner: AddressRanges, outer: AddressRanges) -> bool:
    return _ranges_within(inner.v4, outer.v4) and _ranges_within(inner.v6, outer.v6)


def scope_within(inner: NamespaceScope, outer: NamespaceScope) -> bool:
    """Every namespace ``inner`` admits, ``outer`` admits."""
    if isinstance(outer, EveryNamespace):
        return True
    if isinstance(outer, OwnNamespace):
        return isinstance(inner, OwnNamespace) and inner.name == outer.name
    if isinstance(inner, OwnNamespace):
        return _selects_namespace(outer.selector, inner.name)
    return isinstance(inner, NamespacesMatching) and selector_within(inner.selector, outer.selector)


def selection_within(inner: Selection, outer: Selection) -> bool:
    """Everything ``inner`` selects, ``outer`` selects, for any cluster: pods by
    their namespace scope and selector, addresses by range, nodes by selector,
    names by pattern. Selections of different kinds are never shown contained."""
    if isinstance(inner, PodsSelected):
        return (
            isinstance(outer, PodsSelected)
            and scope_within(inner.namespaces, outer.namespaces)
            and (
                outer.pods is None
                or (inner.pods is not None and selector_within(inner.pods, outer.pods))
            )
        )
    if isinstance(inner, AddressesIn):
        return isinstance(outer, AddressesIn) and addresses_within(inner.addresses, outer.addresses)
    if isinstance(inner, NodesSelected):
        return isinstance(outer, NodesSelected) and selector_within(inner.selector, outer.selector)
    return isinstance(outer, NamesMatching) and names_within(inner.patterns, outer.patterns)


def _selects_namespace(selector: LabelSelector, namespace: str) -> bool:
    """Only what is certain: an empty selector, or one that only asks for the
    namespace's automatic name label."""
    return selector_within(LabelSelector(Labels.of({NAMESPACE_NAME_LABEL: namespace})), selector)


def port_within(inner: PortSelection, outer: PortSelection) -> bool:
    """Every (port, protocol) ``inner`` matches on any destination, ``outer``
    matches: a named port lies in a range of its protocol; two names must be the
    same name with a protocol at least as wide."""
    if isinstance(outer, PortNumbers):
        if isinstance(inner, PortNumbers):
            return (
                inner.protocol is outer.protocol
                and outer.first <= inner.first
                and inner.last <= outer.last
            )
        return inner.protocol is outer.protocol and (outer.first, outer.last) == EVERY_PORT
    return (
        isinstance(inner, PortNamed)
        and inner.name == outer.name
        and (outer.protocol is None or inner.protocol is outer.protocol)
    )


class _HasPortSelection(Protocol):
    """A port matcher of either kind of rule."""

    @property
    def selection(self) -> PortSelection: ...


def peer_selections(rule: CompiledRule) -> tuple[Selection, ...] | None:
    """A NetworkPolicy rule's peers as selections, its ``domainNames`` included;
    None: the rule has no peers and matches every address and name."""
    if rule.peers is None:
        return None
    return tuple(m.selection for m in (*rule.peers, *rule.names))


def selections_within(inner: Sequence[Selection] | None, outer: Sequence[Selection] | None) -> bool:
    """Peers are ORed: each of inner's within one of outer's (None: everything)."""
    if outer is None:
        return True
    return inner is not None and all(any(selection_within(i, o) for o in outer) for i in inner)


def ports_within(
    inner: Sequence[_HasPortSelection] | None, outer: Sequence[_HasPortSelection] | None
) -> bool:
    """Ports are ORed: each of inner's within one of outer's (None: every port)."""
    if outer is None:
        return True
    return inner is not None and all(
        any(port_within(i.selection, o.selection) for o in outer) for i in inner
    )


def rule_within(inner: CompiledRule, outer: CompiledRule) -> bool:
    """Everything ``inner`` allows, ``outer`` allows (for any pods)."""
    return selections_within(peer_selections(inner), peer_selections(outer)) and ports_within(
        inner.ports, outer.ports
    )
