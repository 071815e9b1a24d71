"""netfence's own flow record (docs/flows.md): one JSON object a line, what an
engine ``Decision`` serialises to, so that a writer (the agent's audit mode) calls
``audit_record`` and writes the line. ``parse/flows_json.py`` reads it back.

Codes and references only; no wording (render/ words decisions).
"""

from __future__ import annotations

from typing import Any

from netfence.engine.decision import Decision, DirectionVerdict, Outcome
from netfence.model.traffic import Endpoint
from netfence.parse.flows_json import NETFENCE_KIND, NETFENCE_VERSION

Json = dict[str, Any]

TIER_OF_OUTCOME = {
    Outcome.ADMIN_ACCEPT: "Admin",
    Outcome.ADMIN_DENY: "Admin",
    Outcome.ALLOWED_BY_RULE: "NetworkPolicy",
    Outcome.NO_RULE_MATCHED: "NetworkPolicy",
    Outcome.BASELINE_ACCEPT: "Baseline",
    Outcome.BASELINE_DENY: "Baseline",
    Outcome.NOT_ISOLATED: "Default",  # no policy of any tier decided: allowed
}


def audit_record(
    decision: Decision,
    src_port: int,
    time: str | None = None,
    mode: str = "enforce",
    reply: bool = False,
) -> Json:
    """The record of one connection the engine decided. ``mode``: ``enforce`` (the
    verdict was applied) or ``audit`` (would-be: a deny was recorded, not dropped)."""
    if mode not in ("enforce", "audit"):
        raise ValueError(f"mode: expected enforce or audit, got {mode!r}")
    conn = decision.connection
    return {
        "kind": NETFENCE_KIND,
        "version": NETFENCE_VERSION,
        "time": time,
        "src": _end(conn.src, src_port),
        "dst": _end(conn.dst, conn.port),
        "protocol": conn.protocol.value,
        "reply": reply,
        "verdict": "allowed" if decision.allowed else "denied",
        "mode": mode,
        "decided_by": direction_record(deciding(decision)),
        "egress": direction_record(decision.egress),
        "ingress": direction_record(decision.ingress),
    }


def deciding(decision: Decision) -> DirectionVerdict:
    """The direction that decided: the first that denies (egress, then ingress); of
    an allowed connection, the first whose answer came from a rule (the
    destination's ingress first, as it is the one a reader looks for)."""
    for verdict in (decision.egress, decision.ingress):
        if not verdict.allowed:
            return verdict
    for verdict in (decision.ingress, decision.egress):
        if verdict.outcome in (Outcome.ALLOWED_BY_RULE, Outcome.ADMIN_ACCEPT,
                               Outcome.BASELINE_ACCEPT):  # fmt: skip
            return verdict
    return decision.ingress


def direction_record(verdict: DirectionVerdict) -> Json:
    """Tier, outcome, the policies and the rule that decided; for "no rule matched"
    the isolating policies, and no rule."""
    policies: list[str] = []
    rule = None
    if verdict.matches:
        policies = list(dict.fromkeys(m.rule.policy for m in verdict.matches))
        rule = verdict.matches[0].rule.format()
    elif verdict.outcome is Outcome.NO_RULE_MATCHED:
        policies = list(verdict.policies)
    else:
        hit = next((t.hit for t in reversed(verdict.tiers) if t.final and t.hit), None)
        if hit is not None:
            policies, rule = [hit.rule.policy], f"{hit.rule.policy} {hit.rule.path}"
    return {
        "direction": verdict.direction.value.lower(),
        "tier": TIER_OF_OUTCOME.get(verdict.outcome),
        "outcome": verdict.outcome.value,
        "policies": policies,
        "rule": rule,
    }


def _end(endpoint: Endpoint, port: int) -> Json:
    pod = endpoint.pod
    return {
        "ip": None if endpoint.ip is None else str(endpoint.ip),
        "port": port,
        "pod": None if pod is None else pod.key,
        "workload": None if pod is None or pod.workload is None else pod.workload.format(),
    }
