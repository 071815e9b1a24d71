"""Symbolic containment for the cluster-wide tiers: subjects, peers, ports and rules,
"for every pod that could ever exist". Sound, not complete: True means contained
for sure; False means not shown."""

from __future__ import annotations

from netfence.analysis.lint.containment import selector_within
from netfence.compile.names import names_within
from netfence.compile.tiers import CompiledTierRule, TierPeerMatcher
from netfence.model.labels import LabelSelector
from netfence.model.tiers import NamedPort, NamespacedPods, PortRange, Subject, TierPeer, TierPort


def _pods_within(inner: NamespacedPods, outer: NamespacedPods) -> bool:
    return selector_within(inner.namespace_selector, outer.namespace_selector) and selector_within(
        inner.pod_selector, outer.pod_selector
    )


def _selects_within(
    namespaces: LabelSelector | None,
    pods: NamespacedPods | None,
    outer_namespaces: LabelSelector | None,
    outer_pods: NamespacedPods | None,
) -> bool:
    """The pods chosen by (namespaces | pods) are all chosen by the outer pair."""
    if outer_namespaces is not None:
        if namespaces is not None:
            return selector_within(namespaces, outer_namespaces)
        return pods is not None and selector_within(pods.namespace_selector, outer_namespaces)
    if outer_pods is None:
        return False
    if pods is not None:
        return _pods_within(pods, outer_pods)
    # every pod of the namespaces: only an outer pod selector that matches all
    return (
        namespaces is not None
        and outer_pods.pod_selector == LabelSelector()
        and selector_within(namespaces, outer_pods.namespace_selector)
    )


def subject_within(inner: Subject, outer: Subject) -> bool:
    return _selects_within(inner.namespaces, inner.pods, outer.namespaces, outer.pods)


def _peer_within(inner: TierPeer, outer: TierPeer) -> bool:
    if inner.namespaces is not None or inner.pods is not None:
        return _selects_within(inner.namespaces, inner.pods, outer.namespaces, outer.pods)
    if inner.nodes is not None:
        return outer.nodes is not None and selector_within(inner.nodes, outer.nodes)
    if inner.networks is not None:
        return outer.networks is not None and all(
            any(n.version == o.version and n.subnet_of(o) for o in outer.networks)  # type: ignore[arg-type]
            for n in inner.networks
        )
    if inner.domain_names is not None:
        return outer.domain_names is not None and names_within(
            inner.domain_names, outer.domain_names
        )
    return False


def _port_within(inner: TierPort, outer: TierPort) -> bool:
    if isinstance(inner, NamedPort) or isinstance(outer, NamedPort):
        return inner == outer
    assert isinstance(inner, PortRange) and isinstance(outer, PortRange)
    return (
        inner.protocol is outer.protocol and outer.start <= inner.start and inner.end <= outer.end
    )


def peers_within(inner: tuple[TierPeerMatcher, ...], outer: tuple[TierPeerMatcher, ...]) -> bool:
    return all(any(_peer_within(i.peer, o.peer) for o in outer) for i in inner)


def rule_within(inner: CompiledTierRule, outer: CompiledTierRule) -> bool:
    """Every connection ``inner`` matches, ``outer`` matches (same direction)."""
    if not peers_within(inner.peers, outer.peers):
        return False
    if outer.ports is None:
        return True
    if inner.ports is None:
        return False
    return all(any(_port_within(i.port, o.port) for o in outer.ports) for i in inner.ports)
