"""Symbolic containment of selectors, peers, ports and rules: "for every pod that could
ever exist", not only today's. Sound but not complete: True means contained for
sure; False means not shown (the shadowing check then stays quiet)."""

from __future__ import annotations

from netfence.compile.compiled import CompiledRule, PeerMatcher
from netfence.compile.names import names_within
from netfence.model.cluster import NAMESPACE_NAME_LABEL
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement
from netfence.model.policy import IPBlock
from netfence.model.ports import PolicyPort


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


def _block_within(inner: IPBlock, outer: IPBlock) -> bool:
    if inner.cidr.version != outer.cidr.version or not inner.cidr.subnet_of(outer.cidr):  # type: ignore[arg-type]
        return False
    # every excluded range of outer that meets inner must be excluded by inner too
    return all(
        any(e.subnet_of(x) for x in inner.except_)  # type: ignore[arg-type]
        for e in outer.except_
        if e.version == inner.cidr.version and e.overlaps(inner.cidr)
    )


def peer_within(inner: PeerMatcher, outer: PeerMatcher) -> bool:
    a, b = inner.peer, outer.peer
    if a.ip_block is not None or b.ip_block is not None:
        return (
            a.ip_block is not None
            and b.ip_block is not None
            and _block_within(a.ip_block, b.ip_block)
        )
    if b.namespace_selector is None:  # outer: the policy's own namespace only
        if a.namespace_selector is not None or inner.policy_namespace != outer.policy_namespace:
            return False
    elif a.namespace_selector is None:  # inner: its own namespace; outer must select it
        if not _selects_namespace(b.namespace_selector, inner.policy_namespace):
            return False
    elif not selector_within(a.namespace_selector, b.namespace_selector):
        return False
    if b.pod_selector is None:
        return True
    return a.pod_selector is not None and selector_within(a.pod_selector, b.pod_selector)


def _selects_namespace(selector: LabelSelector, namespace: str) -> bool:
    """Only what is certain: an empty selector, or one that only asks for the
    namespace's automatic name label."""
    return selector_within(LabelSelector(Labels.of({NAMESPACE_NAME_LABEL: namespace})), selector)


def port_within(inner: PolicyPort, outer: PolicyPort) -> bool:
    if inner.protocol is not outer.protocol:
        return False
    if outer.port is None:
        return True
    if isinstance(outer.port, str) or isinstance(inner.port, str) or inner.port is None:
        return inner.port == outer.port
    lo, hi = inner.port, inner.end_port or inner.port
    return outer.port <= lo and hi <= (outer.end_port or outer.port)


def rule_within(inner: CompiledRule, outer: CompiledRule) -> bool:
    """Everything ``inner`` allows, ``outer`` allows (for any pods)."""
    if outer.peers is not None:
        if inner.peers is None:
            return False
        if not all(any(peer_within(a, b) for b in outer.peers) for a in inner.peers):
            return False
        outer_names = tuple(n for m in outer.names for n in m.peer.domain_names or ())
        inner_names = tuple(n for m in inner.names for n in m.peer.domain_names or ())
        if not names_within(inner_names, outer_names):
            return False
    if outer.ports is None:
        return True
    if inner.ports is None:
        return False
    return all(any(port_within(a.port, b.port) for b in outer.ports) for a in inner.ports)
