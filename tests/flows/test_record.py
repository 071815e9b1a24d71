"""netfence's own record: what a Decision serialises to, read back to the same
flow; explained again, the same decision; its attribution is the engine's."""

from __future__ import annotations

import json

import pytest
from tests.conftest import SCENARIO
from tests.flows.retail_traffic import ADMIN_DENY

import netfence
from netfence.analysis.flows import AddressBook, Status, explain_flow
from netfence.analysis.flows_record import audit_record, deciding
from netfence.analysis.matrix import group_pods, probes
from netfence.engine.connections import pod_connection
from netfence.engine.decision import Outcome
from netfence.engine.evaluate import evaluate
from netfence.model.flows import LoggedVerdict
from netfence.parse.flows import read_flows

STATES = {
    "no policy": [],
    "default deny": ["policies/default-deny.yaml"],
    "workshop final": ["policies/default-deny.yaml", "policies/allow-ui-egress.yaml"],
    "catalog and orders": [
        "policies/allow-catalog-ingress-db.yaml",
        "policies/allow-catalog-ingress-webservice.yaml",
        "policies/allow-order-ingress-success-debug.yaml",
    ],
}


def _loaded(files: list[str]) -> netfence.api.Loaded:
    import os

    here = os.getcwd()
    os.chdir(SCENARIO)
    try:
        return netfence.load(files, ["cluster"], namespace="ui")
    finally:
        os.chdir(here)


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("mode", ["enforce", "audit"])
def test_records_round_trip_with_the_engines_attribution(state: str, mode: str) -> None:
    loaded = _loaded(STATES[state])
    groups = group_pods(loaded.cluster)
    lines, decisions = [], []
    for src in groups:
        for dst in groups:
            for s, d, port, protocol in probes(src, dst):
                decision = evaluate(
                    loaded.compiled, loaded.cluster, pod_connection(s, d, port, protocol)
                )
                decisions.append(decision)
                lines.append(
                    json.dumps(audit_record(decision, 40000, "2026-11-26T10:00:00Z", mode))
                )
    assert decisions
    read = read_flows("\n".join(lines), "audit.jsonl")
    book = AddressBook(loaded.cluster)
    for flow, decision in zip(read.flows, decisions, strict=True):
        again = explain_flow(loaded.compiled, loaded.cluster, flow, book)
        assert again.decision == decision
        assert again.status is Status.AGREES
        if mode == "audit" and not decision.allowed:
            assert flow.verdict is LoggedVerdict.WOULD_DENY
        verdict = deciding(decision)
        assert flow.attribution is not None
        if verdict.outcome is Outcome.ALLOWED_BY_RULE:
            first = verdict.matches[0].rule
            assert flow.attribution.rule == f"{first.policy} {first.path}"
        elif verdict.outcome is Outcome.NO_RULE_MATCHED:
            assert flow.attribution.policies == verdict.policies and flow.attribution.rule is None
            assert not decision.allowed
        else:
            assert flow.attribution.tier in ("Default", None)


def test_a_record_says_its_mode() -> None:
    loaded = _loaded([])
    pod = loaded.cluster.pods[0]
    decision = evaluate(
        loaded.compiled,
        loaded.cluster,
        pod_connection(pod, loaded.cluster.pods[1], 80, pod.ports[0].protocol),
    )
    with pytest.raises(ValueError, match="mode"):
        audit_record(decision, 1, mode="dry-run")


def test_a_tier_decision_is_attributed_to_its_tier_policy_and_rule(tmp_path: object) -> None:
    import os
    from pathlib import Path

    admin = Path(str(tmp_path)) / "admin.yaml"
    admin.write_text(ADMIN_DENY)
    here = os.getcwd()
    os.chdir(SCENARIO)
    try:
        loaded = netfence.load([str(admin)], ["cluster"])
    finally:
        os.chdir(here)
    checkout, orders = (
        loaded.cluster.pod("checkout", "checkout-0"),
        loaded.cluster.pod("orders", "orders-0"),
    )
    assert checkout is not None and orders is not None
    decision = evaluate(
        loaded.compiled,
        loaded.cluster,
        pod_connection(checkout, orders, 8080, orders.ports[0].protocol),
    )
    record = audit_record(decision, 40000, mode="audit")
    hit = decision.ingress.tiers[0].hit
    assert hit is not None
    assert record["decided_by"] == {
        "direction": "ingress", "tier": "Admin", "outcome": "admin-deny",
        "policies": [hit.rule.policy], "rule": f"{hit.rule.policy} spec.ingress[0]",
    }  # fmt: skip
    flow = read_flows(json.dumps(record), "audit.jsonl").flows[0]
    assert flow.verdict is LoggedVerdict.WOULD_DENY and flow.attribution is not None
    assert (
        flow.attribution.tier == "Admin" and flow.attribution.rule == record["decided_by"]["rule"]
    )
