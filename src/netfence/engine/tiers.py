"""One tier's answer for one direction of a connection: Accept, Deny, Pass or no
match, with the rule that gave it (data; render/ words it).

v1alpha2 (spec.ingress): "The relative precedence of ingress rules within a single
CNP object (all of which share the priority) will be determined by the order in
which the rule is written. Thus, a rule that appears at the top of the ingress
rules would take the highest precedence." (spec.priority): "If two (or more)
policies in the same tier with the same priority could match a connection, then
the implementation can apply any of the matching policies to the connection, and
there is no way for the user to reliably determine which one it will choose."
netfence applies the first in input order and reports the others that would have
answered differently, so such a verdict is never given silently.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from netfence.compile.compiled import CompiledTiers
from netfence.compile.ir import PeerEnd
from netfence.compile.tiers import CompiledClusterPolicy, CompiledTierRule, TierRuleRef
from netfence.model.cluster import Pod
from netfence.model.policy import Direction
from netfence.model.ports import Protocol
from netfence.model.tiers import RuleAction, Tier


class TierAnswer(enum.Enum):
    ACCEPT = "accept"
    DENY = "deny"
    PASS = "pass"
    NO_MATCH = "no-match"


_ANSWERS = {
    RuleAction.ACCEPT: TierAnswer.ACCEPT,
    RuleAction.DENY: TierAnswer.DENY,
    RuleAction.PASS: TierAnswer.PASS,
}


@dataclass(frozen=True, slots=True)
class TierRuleHit:
    """A rule that matched, with the peer and port items that matched (None: the
    rule has no ports, so every port matches)."""

    rule: TierRuleRef
    peer: int
    port: int | None


@dataclass(frozen=True, slots=True)
class TierVerdict:
    """``policies``: the tier's policies whose subject is the pod, in precedence
    order. ``hit``: the rule that answered (None for NO_MATCH). ``contenders``:
    rules of other policies of the same priority that match the connection with
    another action: the API leaves the choice to the implementation."""

    tier: Tier
    direction: Direction
    answer: TierAnswer
    policies: tuple[str, ...] = ()
    hit: TierRuleHit | None = None
    contenders: tuple[TierRuleHit, ...] = ()

    @property
    def final(self) -> bool:
        """Accept and Deny end the evaluation of the direction; Pass and no match
        go on to the next tier."""
        return self.answer in (TierAnswer.ACCEPT, TierAnswer.DENY)

    @property
    def ambiguous(self) -> bool:
        return bool(self.contenders)


@dataclass(frozen=True, slots=True)
class Traffic:
    """What a rule's ports look at: the destination's real port, its protocol and
    the destination pod (for named ports)."""

    port: int
    protocol: Protocol
    destination: Pod | None


def _rule_hit(rule: CompiledTierRule, end: PeerEnd, traffic: Traffic) -> TierRuleHit | None:
    """ "If any element matches the source of incoming traffic then the specified
    action is applied." (protocols) "If unspecified, protocol-specific attributes
    will not be used to match traffic.\""""
    peer = next((m.index for m in rule.peers if m.matches(end)), None)
    if peer is None:
        return None
    if rule.ports is None:
        return TierRuleHit(rule.origin, peer, None)
    port = next(
        (
            m.index
            for m in rule.ports
            if m.matches(traffic.port, traffic.protocol, traffic.destination)
        ),
        None,
    )
    return None if port is None else TierRuleHit(rule.origin, peer, port)


def _first_hit(
    policy: CompiledClusterPolicy, direction: Direction, end: PeerEnd, traffic: Traffic
) -> tuple[CompiledTierRule, TierRuleHit] | None:
    for rule in policy.rules(direction):
        hit = _rule_hit(rule, end, traffic)
        if hit is not None:
            return rule, hit
    return None


def evaluate_tier(
    tiers: CompiledTiers,
    tier: Tier,
    direction: Direction,
    subject: Pod,
    subject_ns_labels: Mapping[str, str],
    end: PeerEnd,
    traffic: Traffic,
) -> TierVerdict:
    """The answer of ``tier`` for the pod ``subject`` in ``direction``, the other
    end being ``end``: its policies in precedence order, each policy's rules in
    written order; the first rule that matches answers."""
    applying = [c for c in tiers.tier(tier) if c.selects(subject, subject_ns_labels)]
    names = tuple(c.policy.key for c in applying)
    for position, policy in enumerate(applying):
        found = _first_hit(policy, direction, end, traffic)
        if found is None:
            continue
        rule, hit = found
        contenders = _contenders(applying[position + 1 :], policy, rule, direction, end, traffic)
        return TierVerdict(tier, direction, _ANSWERS[rule.action], names, hit, contenders)
    return TierVerdict(tier, direction, TierAnswer.NO_MATCH, names)


def _contenders(
    later: list[CompiledClusterPolicy],
    chosen: CompiledClusterPolicy,
    rule: CompiledTierRule,
    direction: Direction,
    end: PeerEnd,
    traffic: Traffic,
) -> tuple[TierRuleHit, ...]:
    """Policies of the same priority as ``chosen`` whose first matching rule acts
    differently: the API leaves the choice among them to the implementation."""
    same = [p for p in later if p.policy.priority == chosen.policy.priority]
    found = []
    for other in same:
        theirs = _first_hit(other, direction, end, traffic)
        if theirs is not None and theirs[0].action is not rule.action:
            found.append(theirs[1])
    return tuple(found)
