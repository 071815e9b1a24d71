"""Tier answers in words (the walkthrough) and as JSON data."""

from __future__ import annotations

from tests.engine.test_tiers import (
    ACCEPT,
    DENY,
    DENY_NP,
    FROM_ANY_POD,
    FROM_BLUE,
    PASS,
    RED,
    TCP8080,
    Case,
    _decide,
    policy,
)

from netfence.engine.decision import Outcome
from netfence.model.tiers import Tier
from netfence.render.data import decision_data
from netfence.render.explain import explain_decision, reason


def test_a_pass_then_a_network_policy_reads_as_a_walkthrough() -> None:
    tiers = (policy("dev", Tier.ADMIN, 10, RED, ingress=((PASS, FROM_BLUE, None),)),)
    decision = _decide(Case("x", tiers, "client", "web", 8080, False, policies=(DENY_NP,)))
    text = "\n".join(explain_decision(decision))
    walk = '[Admin ClusterNetworkPolicy/dev priority 10 ingress[0] "r0"] Pass → [NetworkPolicy red/deny-all] Deny'
    assert f"tiers: {walk}" in text
    assert "Admin: ClusterNetworkPolicy/dev spec.ingress[0].from[0] → Pass" in text
    assert reason(decision) == f"ingress of red/web: {walk}"


def test_baseline_and_default_steps() -> None:
    tiers = (
        policy("default", Tier.BASELINE, None, RED, ingress=((ACCEPT, FROM_BLUE, TCP8080), (DENY, FROM_ANY_POD, None))),
    )  # fmt: skip
    denied = _decide(Case("x", tiers, "db", "web", 8080, False))
    assert denied.ingress.outcome is Outcome.BASELINE_DENY
    text = "\n".join(explain_decision(denied))
    assert "ingress of red/web: denied by the Baseline tier" in text
    assert 'tiers: [Baseline ClusterNetworkPolicy/default ingress[1] "r1"] Deny' in text
    egress_free = _decide(Case("x", tiers, "web", "db", 8080, False))
    assert "tiers: [Baseline: 1 policy] no match → [default] Accept" in "\n".join(
        explain_decision(egress_free)
    )


def test_ambiguity_is_said_in_words_and_data() -> None:
    tiers = (
        policy("accept", Tier.ADMIN, 7, RED, ingress=((ACCEPT, FROM_BLUE, None),)),
        policy("deny", Tier.ADMIN, 7, RED, ingress=((DENY, FROM_BLUE, None),)),
    )
    decision = _decide(Case("x", tiers, "client", "web", 8080, True))
    text = "\n".join(explain_decision(decision))
    assert (
        'AMBIGUOUS: ClusterNetworkPolicy/deny priority 7 ingress[0] "r0" has the same priority'
        in text
    )
    (step,) = decision_data(decision)["ingress"]["tiers"]
    assert step["tier"] == "Admin" and step["answer"] == "accept"
    assert step["rule"]["policy"] == "ClusterNetworkPolicy.policy.networking.k8s.io/accept"
    assert [c["policy"] for c in step["ambiguous_with"]] == [
        "ClusterNetworkPolicy.policy.networking.k8s.io/deny"
    ]


def test_without_tiers_the_data_has_no_tiers_key() -> None:
    decision = _decide(Case("x", (), "client", "web", 8080, False, policies=(DENY_NP,)))
    assert "tiers" not in decision_data(decision)["ingress"]
    assert "tiers:" not in "\n".join(explain_decision(decision))
