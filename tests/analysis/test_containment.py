"""Symbolic containment is sound: when it says "contained", it is, for random label sets."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.compile.test_label_index import labels, selectors

from netfence.analysis.lint.containment import port_within, selector_within
from netfence.compile.ir import of_policy_port
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement
from netfence.model.ports import PolicyPort, Protocol


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

    if not port_within(inner, outer):
        return
    origin = RuleRef("p", Direction.INGRESS, 0)
    pod = Pod("ns", "p", Labels(), (), (ContainerPort(number, protocol, "http"),))
    if PortMatcher(origin, 0, inner, of_policy_port(inner)).matches(number, protocol, pod):
        assert PortMatcher(origin, 0, outer, of_policy_port(outer)).matches(number, protocol, pod)
