"""Lint of the cluster-wide tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
ClusterNetworkPolicy): rules that can never apply, Pass with nothing below it,
ambiguous priorities, and DNS denied by a tier. Shadowing is symbolic (every pod
that could exist, tier_containment.py); the others ask the engine about the
input's pods."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from netfence.analysis.lint.dns import dns_connection, kube_dns_backends
from netfence.analysis.lint.findings import Check, Finding, Needs
from netfence.analysis.lint.tier_containment import rule_within, subject_within
from netfence.compile.tiers import CompiledClusterPolicy, CompiledTierRule
from netfence.engine.decision import DirectionVerdict, Outcome
from netfence.engine.evaluate import evaluate
from netfence.engine.tiers import TierRuleHit
from netfence.model.diagnostics import ObjectRef, Severity
from netfence.model.policy import Direction
from netfence.model.ports import Protocol
from netfence.model.tiers import RuleAction, Tier, short_key

if TYPE_CHECKING:
    from netfence.analysis.lint.checks import Context
    from netfence.model.cluster import Pod

TIER_SHADOWED = Check(
    "NF201", "tier-rule-shadowed", Severity.NOTICE,
    "a cluster-wide rule never applies: an earlier rule covers every connection it matches",
    "Rules of a tier apply in order: policies by priority (lower first), then rules as "
    "written, and the first match answers. A rule whose every connection an earlier "
    "rule of the same policy, or a rule of a higher-precedence policy of the same tier "
    "whose subject includes this one's, already matches is never reached.",
    "Remove the rule, or move it (or its policy's priority) before the rule that covers it.",
)  # fmt: skip

PASS_TO_NOTHING = Check(
    "NF202", "tier-pass-without-network-policy", Severity.NOTICE,
    "an Admin Pass rule's subjects have no NetworkPolicy to pass to",
    "Pass hands a connection to the NetworkPolicy tier; for a pod no NetworkPolicy "
    "selects (in that direction) it goes straight on to the Baseline tier, and without "
    "a Baseline rule, to the default: allowed. A Pass meant to let namespace owners "
    "decide decides nothing until they write a policy.",
    "Add the NetworkPolicies the Pass defers to, or use Accept or Deny if the decision "
    "belongs to the cluster tier.",
    Needs.PODS,
)  # fmt: skip

EQUAL_PRIORITY = Check(
    "NF203", "tier-equal-priority", Severity.WARNING,
    "two policies of a tier have the same priority and share subjects",
    "The API: \"If two (or more) policies in the same tier with the same priority could "
    "match a connection, then the implementation can apply any of the matching policies "
    "to the connection, and there is no way for the user to reliably determine which "
    "one it will choose.\" netfence applies the first in input order and marks verdicts "
    "where the other would act differently as AMBIGUOUS.",
    "Give each policy of a tier its own priority.",
)  # fmt: skip

BASELINE_DECIDED_BY_ADMIN = Check(
    "NF204", "baseline-rule-decided-by-admin", Severity.NOTICE,
    "an Admin Accept or Deny decides every connection a Baseline rule matches",
    "The Admin tier is asked first; when one of its rules accepts or denies, neither a "
    "NetworkPolicy nor the Baseline tier is consulted. A Baseline rule fully covered by "
    "such a rule (for all of its subjects, with no Pass before it) can never apply, and "
    "no NetworkPolicy can ever change what the Admin rule decided.",
    "Remove the Baseline rule, or narrow the Admin rule (or Pass first) if namespace "
    "owners are meant to decide that traffic.",
)  # fmt: skip

TIER_DENIES_DNS = Check(
    "NF205", "tier-denies-dns", Severity.ERROR,
    "a cluster-wide Deny blocks DNS to kube-dns",
    "Every lookup of its subject pods fails: name resolution is itself a connection to "
    "kube-dns on 53/UDP (and TCP), and an Admin Deny cannot be loosened by any "
    "NetworkPolicy (a Baseline Deny only by a NetworkPolicy selecting the pod).",
    "Put an Accept (or Pass) rule for kube-dns on port 53 before the Deny.",
    Needs.PODS,
)  # fmt: skip

NAMES_WITHOUT_DNS = Check(
    "NF206", "domain-names-without-dns", Severity.ERROR,
    "an egress rule accepts domainNames for pods that cannot resolve names",
    "domainNames peers match connections made to those names; a pod that cannot reach "
    "kube-dns never learns an address for them, so the Accept is never used.",
    "Allow DNS to kube-dns on port 53 for the same subjects (before any Deny).",
    Needs.PODS,
)  # fmt: skip


def _finding(
    check: Check, policy: CompiledClusterPolicy, message: str, field: str | None = None
) -> Finding:
    p = policy.policy
    return Finding(check, message, p.source, ObjectRef(p.kind.kind, None, p.name), field)


def _ordered(ctx: Context) -> Iterator[tuple[Tier, tuple[CompiledClusterPolicy, ...]]]:
    tiers = ctx.compiled.tiers
    yield Tier.ADMIN, tiers.admin
    yield Tier.BASELINE, tiers.baseline


def _earlier(
    policies: Sequence[CompiledClusterPolicy], position: int
) -> Iterator[CompiledClusterPolicy]:
    """The policies of strictly higher precedence than ``policies[position]``."""
    mine = policies[position].policy.priority or 0
    return (p for p in policies[:position] if (p.policy.priority or 0) < mine)


def _covering(
    rule: CompiledTierRule, policy: CompiledClusterPolicy, earlier: Iterator[CompiledClusterPolicy]
) -> CompiledTierRule | None:
    """An earlier rule of the same policy, or any rule of an earlier policy whose
    subject includes this one's, that matches every connection ``rule`` matches."""
    direction = rule.origin.direction
    for before in policy.rules(direction)[: rule.origin.rule]:
        if rule_within(rule, before):
            return before
    for other in earlier:
        if subject_within(policy.policy.subject, other.policy.subject):
            for candidate in other.rules(direction):
                if rule_within(rule, candidate):
                    return candidate
    return None


def shadowed(ctx: Context) -> Iterator[Finding]:
    for _tier, policies in _ordered(ctx):
        for position, policy in enumerate(policies):
            for direction in Direction:
                for rule in policy.rules(direction):
                    cover = _covering(rule, policy, _earlier(policies, position))
                    if cover is not None:
                        yield _finding(
                            TIER_SHADOWED, policy,
                            f"never applies: {_name(cover)} matches every connection it does",
                            rule.origin.path,
                        )  # fmt: skip


def _name(rule: CompiledTierRule) -> str:
    ref = rule.origin
    return f"{short_key(ref.policy)} {ref.path}"


def _subjects(ctx: Context, policy: CompiledClusterPolicy) -> list[Pod]:
    cluster = ctx.cluster
    return [p for p in cluster.pods if policy.selects(p, cluster.namespace_labels(p.namespace))]


def pass_to_nothing(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.compiled.tiers.admin:
        for direction in Direction:
            passes = [r for r in policy.rules(direction) if r.action is RuleAction.PASS]
            subjects = _subjects(ctx, policy) if passes else []
            if not subjects or any(ctx.compiled.selecting(p, direction) for p in subjects):
                continue
            for rule in passes:
                yield _finding(
                    PASS_TO_NOTHING, policy,
                    f"Pass, but no NetworkPolicy selects any of its {len(subjects)} subject "
                    f"pod(s) for {direction.value}: what it passes goes to the Baseline tier",
                    rule.origin.path,
                )  # fmt: skip


def equal_priority(ctx: Context) -> Iterator[Finding]:
    for _tier, policies in _ordered(ctx):
        for i, first in enumerate(policies):
            for second in policies[i + 1 :]:
                if first.policy.priority != second.policy.priority:
                    continue
                shared = _shared_subjects(ctx, first, second)
                if shared is None:
                    continue
                yield _finding(
                    EQUAL_PRIORITY, second,
                    f"priority {second.policy.priority} is also {short_key(first.policy.key)}'s; "
                    f"they share {shared}",
                    "spec.priority",
                )  # fmt: skip


def _shared_subjects(
    ctx: Context, first: CompiledClusterPolicy, second: CompiledClusterPolicy
) -> str | None:
    """What the two subjects share in the input, or None when they share nothing;
    without pods in the input, they may share any pod."""
    if not ctx.cluster.pods:
        return "subjects (no pods in the input to tell)"
    mine = {p.key for p in _subjects(ctx, first)}
    both = [p.key for p in _subjects(ctx, second) if p.key in mine]
    if not both:
        return None
    return f"{len(both)} subject pod(s), e.g. {both[0]}"


def baseline_decided_by_admin(ctx: Context) -> Iterator[Finding]:
    admin = ctx.compiled.tiers.admin
    for policy in ctx.compiled.tiers.baseline:
        for direction in Direction:
            for rule in policy.rules(direction):
                cover = _final_admin_cover(rule, policy, admin, direction)
                if cover is not None:
                    yield _finding(
                        BASELINE_DECIDED_BY_ADMIN, policy,
                        f"{_name(cover)} ({cover.action.value}) decides every connection "
                        "this rule matches, before any NetworkPolicy",
                        rule.origin.path,
                    )  # fmt: skip


def _final_admin_cover(
    rule: CompiledTierRule,
    policy: CompiledClusterPolicy,
    admin: tuple[CompiledClusterPolicy, ...],
    direction: Direction,
) -> CompiledTierRule | None:
    """An Admin Accept or Deny covering ``rule`` for all its subjects, with no Pass
    anywhere before it in the Admin tier for that direction (sound, not complete)."""
    for other in admin:
        for candidate in other.rules(direction):
            if candidate.action is RuleAction.PASS:
                return None
            if subject_within(policy.policy.subject, other.policy.subject) and rule_within(
                rule, candidate
            ):
                return candidate
    return None


def _dns_verdicts(ctx: Context, pods: list[Pod]) -> dict[str, DirectionVerdict | None]:
    """Per pod key: None when DNS over UDP to kube-dns works, else the egress
    verdict of its question to the first backend (what denied it)."""
    backends, _assumed = kube_dns_backends(ctx.cluster)
    udp = [b for b in backends if b.protocol is Protocol.UDP]
    found: dict[str, DirectionVerdict | None] = {}
    for pod in pods:
        decisions = [evaluate(ctx.compiled, ctx.cluster, dns_connection(pod, b)) for b in udp]
        works = not decisions or any(d.allowed for d in decisions)
        found[pod.key] = None if works else decisions[0].egress
    return found


def _denying_hit(egress: DirectionVerdict) -> TierRuleHit | None:
    """The tier rule that denied, when a tier did."""
    if egress.outcome not in (Outcome.ADMIN_DENY, Outcome.BASELINE_DENY):
        return None
    return next((t.hit for t in egress.tiers if t.final and t.hit is not None), None)


def tier_denies_dns(ctx: Context) -> Iterator[Finding]:
    policies = (*ctx.compiled.tiers.admin, *ctx.compiled.tiers.baseline)
    subjects = {p.key: p for c in policies for p in _subjects(ctx, c)}
    denied: dict[tuple[str, str], list[str]] = {}
    for key, egress in sorted(_dns_verdicts(ctx, list(subjects.values())).items()):
        hit = None if egress is None else _denying_hit(egress)
        if hit is not None:
            denied.setdefault((hit.rule.policy, hit.rule.path), []).append(key)
    by_key = {c.policy.key: c for c in policies}
    for (policy_key, path), keys in denied.items():
        yield _finding(
            TIER_DENIES_DNS, by_key[policy_key],
            f"denies DNS (53/UDP to kube-dns) for {len(keys)} pod(s), e.g. {keys[0]}",
            path,
        )  # fmt: skip


def names_without_dns(ctx: Context) -> Iterator[Finding]:
    for policy in (*ctx.compiled.tiers.admin, *ctx.compiled.tiers.baseline):
        named = [
            r for r in policy.egress
            if r.action is RuleAction.ACCEPT and any(m.peer.domain_names for m in r.peers)
        ]  # fmt: skip
        if not named:
            continue
        verdicts = _dns_verdicts(ctx, _subjects(ctx, policy))
        blind = sorted(key for key, denied in verdicts.items() if denied is not None)
        for rule in named if blind else []:
            yield _finding(
                NAMES_WITHOUT_DNS, policy,
                f"accepts domainNames, but {len(blind)} of its subject pod(s) cannot reach "
                f"kube-dns, e.g. {blind[0]}",
                rule.origin.path,
            )  # fmt: skip


RUNS = (
    (TIER_SHADOWED, shadowed),
    (PASS_TO_NOTHING, pass_to_nothing),
    (EQUAL_PRIORITY, equal_priority),
    (BASELINE_DECIDED_BY_ADMIN, baseline_decided_by_admin),
    (TIER_DENIES_DNS, tier_denies_dns),
    (NAMES_WITHOUT_DNS, names_without_dns),
)
