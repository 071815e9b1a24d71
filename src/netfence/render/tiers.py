"""The cluster-wide tiers' answers in words and as JSON data: the walkthrough
``[Admin ClusterNetworkPolicy/deny-dev priority 10 ingress[1]] Pass → [NetworkPolicy
ui/allow] Accept``."""

from __future__ import annotations

from typing import Any

from netfence.compile.tiers import TierRuleRef
from netfence.engine.decision import DirectionVerdict, Outcome
from netfence.engine.tiers import TierAnswer, TierRuleHit, TierVerdict
from netfence.model.tiers import Tier, short_key

ANSWER_WORDS = {
    TierAnswer.ACCEPT: "Accept",
    TierAnswer.DENY: "Deny",
    TierAnswer.PASS: "Pass",
    TierAnswer.NO_MATCH: "no match",
}


def rule_label(ref: TierRuleRef) -> str:
    """``ClusterNetworkPolicy/x priority 10 ingress[1] "deny-dev"``."""
    priority = "" if ref.priority is None else f" priority {ref.priority}"
    name = f' "{ref.name}"' if ref.name else ""
    return f"{short_key(ref.policy)}{priority} {ref.direction.rules_field}[{ref.rule}]{name}"


def hit_path(hit: TierRuleHit) -> str:
    """The rule item that matched: ``spec.ingress[1].from[0].ports[2]``."""
    peers = hit.rule.direction.peers_field
    port = "" if hit.port is None else f".ports[{hit.port}]"
    return f"{hit.rule.path}.{peers}[{hit.peer}]{port}"


def step_text(verdict: TierVerdict) -> str:
    """``[Admin ClusterNetworkPolicy/x priority 10 ingress[1]] Pass``."""
    if verdict.hit is None:
        n = len(verdict.policies)
        return f"[{verdict.tier.value}: {n} {'policy' if n == 1 else 'policies'}] no match"
    return f"[{verdict.tier.value} {rule_label(verdict.hit.rule)}] {ANSWER_WORDS[verdict.answer]}"


def _network_policy_step(verdict: DirectionVerdict) -> str | None:
    if verdict.outcome is Outcome.ALLOWED_BY_RULE:
        return f"[NetworkPolicy {verdict.matches[0].rule.policy}] Accept"
    if verdict.outcome is Outcome.NO_RULE_MATCHED:
        return f"[NetworkPolicy {', '.join(verdict.policies)}] Deny"
    if verdict.outcome is Outcome.LOCAL_NODE:
        return f"[NetworkPolicy {', '.join(verdict.policies)}] Accept (the pod's own node)"
    return None


def walkthrough(verdict: DirectionVerdict) -> str:
    """Every tier asked, in order, with its answer; the default at the end."""
    steps = [step_text(t) for t in verdict.tiers if t.tier is Tier.ADMIN]
    np_step = _network_policy_step(verdict)
    if np_step is not None:
        steps.append(np_step)
    steps += [step_text(t) for t in verdict.tiers if t.tier is Tier.BASELINE]
    if verdict.outcome is Outcome.NOT_ISOLATED:
        steps.append("[default] Accept")
    return " → ".join(steps)


def contender_lines(verdict: DirectionVerdict) -> list[str]:
    """Same-priority rules that would act otherwise: never decided silently."""
    lines = []
    for step in verdict.tiers:
        for other in step.contenders:
            lines.append(
                f"AMBIGUOUS: {rule_label(other.rule)} has the same priority and matches too, "
                "with another action; the API lets an implementation apply either "
                "(netfence applies the first in input order)"
            )
    return lines


def tier_lines(verdict: DirectionVerdict) -> list[str]:
    """The walkthrough, the rule that answered and any ambiguity, indented under
    the direction's line."""
    lines = [f"  tiers: {walkthrough(verdict)}"]
    for step in verdict.tiers:
        if step.hit is not None:
            lines.append(
                f"  {step.tier.value}: {short_key(step.hit.rule.policy)} {hit_path(step.hit)}"
                f" → {ANSWER_WORDS[step.answer]}"
            )
    lines += [f"  {line}" for line in contender_lines(verdict)]
    return lines


def _hit_data(hit: TierRuleHit) -> dict[str, Any]:
    ref = hit.rule
    return {
        "policy": ref.policy,
        "priority": ref.priority,
        "rule": ref.path,
        "name": ref.name,
        "peer": hit.peer,
        "port": hit.port,
    }


def tiers_data(verdict: DirectionVerdict) -> list[dict[str, Any]]:
    return [
        {
            "tier": step.tier.value,
            "answer": step.answer.value,
            "policies": list(step.policies),
            "rule": None if step.hit is None else _hit_data(step.hit),
            "ambiguous_with": [_hit_data(c) for c in step.contenders],
        }
        for step in verdict.tiers
    ]
