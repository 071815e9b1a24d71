"""Symbolic containment is sound: when it says "contained", it is, for random label sets."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.compile.test_ir import (
    NAMESPACES,
    ends,
    peers,
    pods,
    policy_ports,
    tier_peers,
    tier_ports,
)
from tests.compile.test_label_index import labels, selectors

from netfence.analysis.lint.containment import port_within, selection_within, selector_within
from netfence.compile.ir import (
    PeerEnd,
    PortSelection,
    of_peer,
    of_policy_port,
    of_tier_peer,
    of_tier_port,
)
from netfence.model.cluster import Pod
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement
from netfence.model.policy import IPBlock, Peer
from netfence.model.ports import PolicyPort, Protocol
from netfence.model.tiers import TierPeer


@settings(max_examples=600)
@given(selectors, selectors, st.lists(labels, min_size=1, max_size=30))
def test_selector_within_is_sound(
    inner: LabelSelector, outer: LabelSelector, samples: list[Labels]
) -> None:
    if selector_within(inner, outer):
        assert all(outer.matches(s) for s in samples if inner.matches(s))


def test_selector_within_examples() -> None:
    web_prod = LabelSelector(Labels.of(app="web", env="prod"))
    web = LabelSelector(Labels.of(app="web"))
    assert selector_within(web_prod, web) and not selector_within(web, web_prod)
    assert selector_within(web, LabelSelector())  # {} contains everything
    not_db = LabelSelector(match_expressions=(Requirement("app", Operator.NOT_IN, ("db",)),))
    assert selector_within(web, not_db) and not selector_within(not_db, web)


ports = st.builds(
    lambda proto, port, span: PolicyPort(
        proto, port, None if port is None or isinstance(port, str) or span is None else port + span
    ),
    st.sampled_from(list(Protocol)),
    st.one_of(st.none(), st.integers(1, 100), st.sampled_from(["http", "dns"])),
    st.one_of(st.none(), st.integers(0, 20)),
)


@settings(max_examples=600)
@given(ports, ports, st.integers(1, 130), st.sampled_from(list(Protocol)))
def test_port_within_is_sound(
    inner: PolicyPort, outer: PolicyPort, number: int, protocol: Protocol
) -> None:
    from netfence.compile.compiled import PortMatcher, RuleRef
    from netfence.model.cluster import Pod
    from netfence.model.policy import Direction
    from netfence.model.ports import ContainerPort

    if not port_within(of_policy_port(inner), of_policy_port(outer)):
        return
    origin = RuleRef("p", Direction.INGRESS, 0)
    pod = Pod("ns", "p", Labels(), (), (ContainerPort(number, protocol, "http"),))
    if PortMatcher(origin, 0, inner, of_policy_port(inner)).matches(number, protocol, pod):
        assert PortMatcher(origin, 0, outer, of_policy_port(outer)).matches(number, protocol, pod)


@settings(max_examples=1500)
@given(
    st.one_of(peers, tier_peers),
    st.one_of(peers, tier_peers),
    st.sampled_from(NAMESPACES),
    st.sampled_from(NAMESPACES),
    ends(),
)
def test_selection_within_is_sound(
    inner: Peer | TierPeer, outer: Peer | TierPeer, ns_in: str, ns_out: str, end: PeerEnd
) -> None:
    """Contained means: whatever the inner selection covers, the outer covers, for
    every other end (pods, addresses, nodes, names)."""
    a = of_peer(inner, ns_in) if isinstance(inner, Peer) else of_tier_peer(inner)
    b = of_peer(outer, ns_out) if isinstance(outer, Peer) else of_tier_peer(outer)
    if selection_within(a, b) and a.covers(end):
        assert b.covers(end)


def test_selection_within_examples() -> None:
    own_web = of_peer(Peer(pod_selector=LabelSelector(Labels.of({"app": "web"}))), "a")
    assert selection_within(own_web, of_peer(Peer(), "a"))
    assert not selection_within(own_web, of_peer(Peer(), "b"))
    assert selection_within(own_web, of_peer(Peer(namespace_selector=LabelSelector()), "b"))
    wide = of_tier_peer(TierPeer(networks=(ipaddress.ip_network("10.0.0.0/8"),)))
    block = of_peer(Peer(ip_block=IPBlock(ipaddress.ip_network("10.1.0.0/16"))), "a")
    assert selection_within(block, wide) and not selection_within(wide, block)


@settings(max_examples=1500)
@given(
    st.one_of(policy_ports.map(of_policy_port), tier_ports.map(of_tier_port)),
    st.one_of(policy_ports.map(of_policy_port), tier_ports.map(of_tier_port)),
    st.sampled_from([53, 80, 81, 82, 443]),
    st.sampled_from(list(Protocol)),
    st.one_of(st.none(), pods(1)),
)
def test_port_selection_within_is_sound(
    inner: PortSelection,
    outer: PortSelection,
    number: int,
    protocol: Protocol,
    destination: Pod | None,
) -> None:
    if port_within(inner, outer) and inner.matches(number, protocol, destination):
        assert outer.matches(number, protocol, destination)
