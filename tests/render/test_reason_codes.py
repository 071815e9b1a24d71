"""The engine gives codes; render/ words them (text and JSON carry both)."""

from __future__ import annotations

import pytest
from tests.engine.test_tiers import Case, _decide, sel

from netfence.engine.decision import MissCode
from netfence.model.labels import LabelSelector
from netfence.model.policy import Direction, NetworkPolicy, Peer, Rule
from netfence.model.ports import PolicyPort, Protocol
from netfence.render.data import decision_data
from netfence.render.explain import explain_decision


def _only(rule: Rule | None) -> NetworkPolicy:
    rules = () if rule is None else (rule,)
    return NetworkPolicy("red", "p", LabelSelector(), rules, (), frozenset({Direction.INGRESS}))


FROM_BLUE_80 = Rule(
    peers=(Peer(namespace_selector=sel(team="blue")),), ports=(PolicyPort(Protocol.TCP, 80),)
)


@pytest.mark.parametrize(
    ("policy", "src", "code", "words"),
    [
        (_only(None), "client", MissCode.NO_RULES, "has no ingress rules, so it allows nothing"),
        (_only(FROM_BLUE_80), "db", MissCode.NO_PEER_MATCHES, "red/db matches none of its 1 peer(s)"),
        (_only(FROM_BLUE_80), "client", MissCode.NO_PORT_MATCHES, "8080/TCP is not among its ports (80/TCP)"),
    ],
)  # fmt: skip
def test_a_miss_is_a_code_worded_by_render(
    policy: NetworkPolicy, src: str, code: MissCode, words: str
) -> None:
    decision = _decide(Case("x", (), src, "web", 8080, False, policies=(policy,)))
    (miss,) = decision.ingress.misses
    assert miss.code is code
    (item,) = decision_data(decision)["ingress"]["not_allowed_by"]
    assert (item["code"], item["reason"]) == (code.value, words)
    assert any(line.endswith(words) for line in explain_decision(decision))


def test_a_match_carries_the_items_not_their_words() -> None:
    decision = _decide(Case("x", (), "client", "web", 80, True, policies=(_only(FROM_BLUE_80),)))
    (match,) = decision.ingress.matches
    assert match.peer_spec == FROM_BLUE_80.peers[0] and match.port_spec == FROM_BLUE_80.ports[0]  # type: ignore[index]
    (item,) = decision_data(decision)["ingress"]["allowed_by"]
    assert (item["peer_text"], item["port_text"]) == ("namespaceSelector team=blue", "80/TCP")
