"""A decision, and a whole check, as the lines a person reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from netfence.engine.check import CheckReport, Step, StepKind, Verdict
from netfence.engine.decision import (
    Decision,
    DirectionVerdict,
    MissCode,
    Outcome,
    RuleMatch,
    RuleMiss,
)
from netfence.model.policy import Direction
from netfence.model.traffic import Connection, Endpoint
from netfence.render.completeness import may_also_be_decided_by

VERDICT_WORDS = {
    Verdict.ALLOWED: "ALLOWED",
    Verdict.DENIED: "DENIED",
    Verdict.PARTIAL: "PARTLY ALLOWED",
    Verdict.NO_CONNECTION: "NO CONNECTION",
}


def peer_text(match: RuleMatch) -> str:
    return "all peers" if match.peer_spec is None else match.peer_spec.format()


def port_text(match: RuleMatch) -> str:
    return "all ports" if match.port_spec is None else match.port_spec.format()


def miss_reason(miss: RuleMiss, direction: Direction, conn: Connection) -> str:
    """Why a rule did not allow ``conn``, in words."""
    if miss.code is MissCode.NO_RULES:
        return f"has no {direction.rules_field} rules, so it allows nothing"
    if miss.code is MissCode.NO_PEER_MATCHES:
        other = conn.src if direction is Direction.INGRESS else conn.dst
        return f"{other.format()} matches none of its {miss.peers} peer(s)"
    allowed = ", ".join(p.format() for p in miss.ports)
    return f"{conn.port}/{conn.protocol.value} is not among its ports ({allowed})"


def explain_direction(verdict: DirectionVerdict, conn: Connection) -> list[str]:
    """One line for the verdict of one direction, then one per rule that decided;
    with cluster-wide tiers, their walkthrough follows."""
    lines = _explain_direction(verdict, conn)
    if not verdict.tiers:
        return lines
    from netfence.render.tiers import tier_lines  # only with tiers: not at start-up

    return [*lines, *tier_lines(verdict)]


def _explain_direction(verdict: DirectionVerdict, conn: Connection) -> list[str]:
    subject = conn.src if verdict.direction is Direction.EGRESS else conn.dst
    side = "egress of" if verdict.direction is Direction.EGRESS else "ingress of"
    who = f"{side} {subject.format()}"
    outcome = verdict.outcome
    if outcome is Outcome.LOOPBACK:
        return [f"{who}: a pod may always reach itself (netfence convention, as upstream e2e)"]
    if outcome is Outcome.NOT_A_POD:
        return [f"{who}: not a pod, so no policy applies: allowed"]
    if outcome is Outcome.HOST_NETWORK:
        return [f"{who}: a hostNetwork pod; policies never select it: allowed"]
    if outcome is Outcome.NOT_ISOLATED:
        return [
            f"{who}: not isolated (no policy selects it for {verdict.direction.value}): allowed"
        ]
    if verdict.tiers and outcome.value in TIER_OUTCOMES:
        return [f"{who}: {TIER_OUTCOMES[outcome.value]}"]
    isolated = f"isolated by {', '.join(verdict.policies)}"
    if outcome is Outcome.LOCAL_NODE:
        return [f"{who}: {isolated}; the source is the pod's own node, always let in: allowed"]
    if outcome is Outcome.ALLOWED_BY_RULE:
        lines = [f"{who}: {isolated}; allowed by:"]
        for m in verdict.matches:
            peer = "" if m.peer is None else f".{m.rule.direction.peers_field}[{m.peer}]"
            port = "" if m.port is None else f", ports[{m.port}]"
            lines.append(
                f"  {m.rule.policy} {m.rule.path}{peer}{port} ({peer_text(m)}; {port_text(m)})"
            )
        return lines
    lines = [f"{who}: {isolated}; no rule allows it: denied"]
    for miss in verdict.misses:
        where = miss.policy if miss.rule is None else f"{miss.policy} {miss.rule.path}"
        lines.append(f"  {where}: {miss_reason(miss, verdict.direction, conn)}")
    return lines


def explain_decision(decision: Decision) -> list[str]:
    conn = decision.connection
    word = "allowed" if decision.allowed else "DENIED"
    head = f"{conn.format()}: {word}"
    body = [
        *explain_direction(decision.egress, conn),
        *explain_direction(decision.ingress, conn),
    ]
    return [head, *(f"  {line}" for line in body)]


@dataclass(frozen=True, slots=True)
class _Group:
    first: Decision
    count: int


def _signature(decision: Decision) -> tuple[object, ...]:
    """Decisions that read the same once pod names are put aside."""
    conn = decision.connection

    def who(endpoint: Endpoint) -> str:
        pod = endpoint.pod
        if pod is None:
            return str(endpoint.ip)
        return f"{pod.namespace}/{pod.workload.format()}" if pod.workload else pod.key

    def direction(v: DirectionVerdict) -> tuple[object, ...]:
        rules = tuple((m.rule, m.peer, m.port) for m in v.matches)
        return (v.outcome, v.policies, rules, v.misses, v.tiers)

    return (
        who(conn.src),
        who(conn.dst),
        conn.port,
        conn.protocol,
        direction(decision.egress),
        direction(decision.ingress),
    )


def group_decisions(decisions: Iterable[Decision]) -> list[_Group]:
    groups: dict[tuple[object, ...], _Group] = {}
    for d in decisions:
        key = _signature(d)
        seen = groups.get(key)
        groups[key] = _Group(d, 1) if seen is None else _Group(seen.first, seen.count + 1)
    return list(groups.values())


def explain_step(step: Step) -> list[str]:
    label = "DNS" if step.kind is StepKind.DNS else "connect to"
    lines = [f"{label}: {step.title}: {VERDICT_WORDS[step.verdict]}"]
    for group in group_decisions(step.decisions):
        block = explain_decision(group.first)
        if group.count > 1:
            block[0] += f"  (and {group.count - 1} more like it)"
        lines.extend(f"  {line}" for line in block)
    lines.extend(f"  note: {note}" for note in step.notes)
    return lines


def explain_check(report: CheckReport, partial_input: bool = False) -> list[str]:
    """The verdict, then each step; ``partial_input``: the input had things not
    evaluated (the PARTIAL INPUT block follows), said on the verdict's line too."""
    port = "" if report.port is None else f" port {report.port}"
    proto = f"/{report.protocol.value}"
    head = (
        f"{report.source.format()} -> {report.destination.text}{port}{proto}: "
        f"{VERDICT_WORDS[report.verdict]}"
    )
    if report.unevaluated:
        n = len(report.unevaluated)
        head += f" (uncertain: {n} {'policy' if n == 1 else 'policies'} not evaluated)"
    elif partial_input:
        head += " (uncertain: partial input, see below)"
    lines = [head]
    lines.extend(f"  {line}" for line in may_also_be_decided_by(report.unevaluated))
    dns = report.dns_step
    if dns is not None and dns.verdict is not Verdict.ALLOWED:
        lines.append(
            f"  the name {report.destination.text!r} does not resolve: the DNS lookup is denied"
        )
    for step in report.steps:
        lines.extend(f"  {line}" for line in explain_step(step))
    lines.extend(f"  note: {note}" for note in report.notes)
    return lines


TIER_OUTCOMES = {  # Outcome values of the tiers (render/tiers.py words the rest)
    "admin-accept": "accepted by the Admin tier",
    "admin-deny": "denied by the Admin tier",
    "baseline-accept": "accepted by the Baseline tier",
    "baseline-deny": "denied by the Baseline tier",
}


def _walkthrough(verdict: DirectionVerdict) -> str:
    from netfence.render.tiers import walkthrough

    return walkthrough(verdict)


def match_path(match: RuleMatch) -> str:
    """``ui/allow-ui-egress spec.egress[0].to[1]``: the rule item that matched."""
    peer = "" if match.peer is None else f".{match.rule.direction.peers_field}[{match.peer}]"
    return f"{match.rule.format()}{peer}"


def reason(decision: Decision) -> str:
    """The one clause that decided: the denying direction, else what allowed both."""
    conn = decision.connection
    for verdict, subject in ((decision.egress, conn.src), (decision.ingress, conn.dst)):
        if not verdict.allowed and verdict.tiers:
            side = "egress" if verdict.direction is Direction.EGRESS else "ingress"
            return f"{side} of {subject.format()}: {_walkthrough(verdict)}"
        if not verdict.allowed:
            side = "egress" if verdict.direction is Direction.EGRESS else "ingress"
            policies = ", ".join(verdict.policies)
            return f"{side} of {subject.format()} isolated by {policies}; no rule allows it"
    if decision.egress.outcome is Outcome.LOOPBACK:
        return "a pod may always reach itself"
    allowed_by = [
        _walkthrough(v) if v.tiers else match_path(v.matches[0])
        for v in (decision.egress, decision.ingress)
        if v.matches or v.tiers
    ]
    return " and ".join(allowed_by) if allowed_by else "no policy isolates either end"


def brief_check(report: CheckReport) -> list[str]:
    """One line per step, with the reason of its first decision of each kind."""
    lines: list[str] = []
    for step in report.steps:
        label = "DNS lookup" if step.kind is StepKind.DNS else "connect"
        for group in group_decisions(step.decisions):
            conn = group.first.connection
            word = "allowed" if group.first.allowed else "DENIED"
            lines.append(f"{label} {conn.format()}: {word} ({reason(group.first)})")
            if step.kind is StepKind.DNS:
                break  # the UDP lookup is the one resolvers make first
        lines.extend(f"note: {note}" for note in step.notes)
    return lines
