"""The audit table: what a set of policies would deny, logged, never dropped.

The agent's audit mode (docs/agent.md, "Audit mode") compiles a second table,
``inet netfence_audit``, from the enforced policies plus the audited and staged
ones, with the node compiler itself (``NodeRulesetCompiler``): the same verdict
maps, peer sets and chains. Only the denies differ: each deciding deny (a
NetworkPolicy "no rule matched", a tier rule's Deny, the fail-closed chain of an
address in doubt) becomes ``goto`` a log chain of its own::

    chain nfa_<id> {
        limit name "audit_rate" log prefix "nfa:<id>" group N accept
        counter name "audit_over_limit" accept
    }

``<id>`` names the deny by content (a digest of its attribution: tier, outcome,
direction, policies, rule), so it is the same across syncs and a record is never
attributed to a deny renumbered meanwhile; ``AuditTable.entries`` maps it back.
The kernel's prefix holds at most 127 bytes; policy names do not fit, ids do.

Audit is additive only: every path through the table ends in ``accept``, and an
``accept`` ends only that table's base chain; the enforced table's chains still
see every packet and their ``drop`` is final. The audit base chains run before
the enforced ones (priority ``filter - 20`` and ``filter - 15``), so a
connection is judged by the audited set whatever the enforced table then does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netfence.compile.compiled import CompiledPolicy, CompiledPolicySet
from netfence.compile.tiers import CompiledClusterPolicy, CompiledTierRule
from netfence.model.cluster import Cluster
from netfence.model.policy import Direction, IPAddress
from netfence.model.tiers import Tier
from netfence.nft.compiler import ChainKey, NftOptions, NodeRulesetCompiler, digest, node_pods
from netfence.nft.model import Chain, Ruleset
from netfence.nft.tiers import TierInput, TierRuleLines

PREFIX = "nfa:"
RATE_LIMIT = "audit_rate"
OVER_LIMIT = "audit_over_limit"
LOGGED = "audit_logged"
FAIL_CLOSED = "fail-closed"

AUDIT_HOOKS = {
    "forward_egress": "type filter hook forward priority filter - 20; policy accept;",
    "forward_ingress": "type filter hook forward priority filter - 15; policy accept;",
    "input_egress": "type filter hook input priority filter - 20; policy accept;",
}


@dataclass(frozen=True)
class AuditOptions:
    table: str = "netfence_audit"
    group: int = 7  # the NFLOG group the reader listens on
    rate: int = 200  # log events a second (the whole table), then counted, not logged
    burst: int = 400


@dataclass(frozen=True, slots=True)
class DenyEntry:
    """What one logged deny stands for: the engine's explanation of the direction
    (analysis.flows_record.direction_record's fields). ``tier`` None and outcome
    ``fail-closed``: an address whose owner is in doubt, denied before any tier."""

    direction: Direction
    tier: str | None  # "Admin", "NetworkPolicy", "Baseline"
    outcome: str  # the engine's Outcome code, or "fail-closed"
    policies: tuple[str, ...]  # the tier rule's policy; or the isolating policies
    rule: str | None  # "<policy> spec.egress[1]" of a tier rule; None: no rule matched

    @property
    def id(self) -> str:
        return digest(self.direction.value, self.tier, self.outcome, self.policies, self.rule)


@dataclass(frozen=True)
class AuditTable:
    ruleset: Ruleset
    entries: dict[str, DenyEntry]  # id → what the deny stands for
    options: AuditOptions

    def render(self) -> str:
        """The table in one transaction, with its rate limit and counter objects."""
        text = self.ruleset.render()
        head = f"table {self.ruleset.family} {self.ruleset.table} {{\n"
        objects = (
            f"  limit {RATE_LIMIT} {{ rate {self.options.rate}/second "
            f"burst {self.options.burst} packets }}\n"
            f"  counter {OVER_LIMIT} {{ }}\n"
            f"  counter {LOGGED} {{ }}\n"
        )
        at = text.index(head) + len(head)
        return text[:at] + objects + text[at:]


def entry_of_prefix(prefix: str) -> str | None:
    """The id in a log prefix this table wrote (None: not one of ours)."""
    if not prefix.startswith(PREFIX):
        return None
    found = prefix[len(PREFIX) :].strip()
    return found or None


class _Denies:
    """The log chains of the denies met while compiling, by id."""

    def __init__(self, options: AuditOptions) -> None:
        self.options = options
        self.entries: dict[str, DenyEntry] = {}

    def goto(self, entry: DenyEntry) -> str:
        found = self.entries.setdefault(entry.id, entry)
        assert found == entry, f"two denies with one id {entry.id}"
        return _goto(entry)

    def chains(self) -> list[Chain]:
        return [
            Chain(
                f"nfa_{key}",
                (
                    f'limit name "{RATE_LIMIT}" counter name "{LOGGED}" '
                    f'log prefix "{PREFIX}{key}" group {self.options.group} accept',
                    f'counter name "{OVER_LIMIT}" accept',
                ),
            )
            for key in sorted(self.entries)
        ]


def _goto(entry: DenyEntry) -> str:
    return f"goto nfa_{entry.id}"


def tier_entry(policy: CompiledClusterPolicy, rule: CompiledTierRule) -> DenyEntry:
    origin = rule.origin
    tier = "Admin" if origin.tier is Tier.ADMIN else "Baseline"
    outcome = "admin-deny" if origin.tier is Tier.ADMIN else "baseline-deny"
    return DenyEntry(
        origin.direction, tier, outcome, (origin.policy,), f"{origin.policy} {origin.path}"
    )


class _AuditTierLines(TierRuleLines):
    """A tier policy's lines, each deny (a Deny rule's, or a rule's fail-closed
    deny of an address some claimants of which it does not match) going to that
    rule's own log chain."""

    def __init__(self, base: TierRuleLines, denies: _Denies) -> None:
        super().__init__(base.b, base.tiers, base.deny_rule, base.local)
        self.denies = denies

    def rule_lines(self, policy: CompiledClusterPolicy, rule: CompiledTierRule) -> list[str]:
        entry = tier_entry(policy, rule)
        kept, self.deny_rule = self.deny_rule, _goto(entry)
        try:
            lines = super().rule_lines(policy, rule)
        finally:
            self.deny_rule = kept
        if any(line.endswith(_goto(entry)) for line in lines):
            self.denies.goto(entry)
        return lines


class AuditCompiler(NodeRulesetCompiler):
    """The node compiler with every deny logged (and accepted) instead."""

    denies: _Denies

    def combo_rules(self, policies: Sequence[CompiledPolicy], direction: Direction) -> ChainKey:
        lines = dict.fromkeys(line for p in policies for line in self.policy_lines(p, direction))
        keys = tuple(p.policy.key for p in policies)
        entry = DenyEntry(direction, "NetworkPolicy", "no-rule-matched", keys, None)
        return self.used_by((direction, (*lines, self.denies.goto(entry))), policies)

    def deny_only(self, direction: Direction) -> ChainKey:
        entry = DenyEntry(direction, None, FAIL_CLOSED, (), None)
        key: ChainKey = (direction, (self.denies.goto(entry),))
        self._owners.setdefault(key, {})["netfence fail-closed"] = None
        return key

    def make_tier_lines(
        self, policy: CompiledClusterPolicy, direction: Direction
    ) -> tuple[str, ...]:
        assert self.tiers is not None
        base = TierRuleLines(self.b, self.tiers, self.options.deny_rule, self.node_pods)
        return _AuditTierLines(base, self.denies).policy_lines(policy, direction)


def audit_table(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    node: str | None,
    options: AuditOptions,
    quarantined: Sequence[tuple[IPAddress, str | None]] = (),
) -> AuditTable:
    """The audit table of one node for ``compiled`` (the enforced policies plus the
    audited and staged ones), as ``nft.compiler.node_ruleset`` builds the enforced
    one."""
    tiers = TierInput(compiled.tiers, cluster.nodes) if compiled.tiers else None
    ips = tuple(ip for ip, _ in quarantined)
    compiler = AuditCompiler(compiled, cluster, NftOptions(table=options.table), ips, tiers=tiers)
    compiler.denies = _Denies(options)
    here = [ip for ip, on in quarantined if node is None or on is None or on == node]
    ruleset = compiler.ruleset(node_pods(cluster, node), here)
    chains = tuple(
        Chain(c.name, c.rules, AUDIT_HOOKS[c.name], c.comment) if c.hook else c
        for c in ruleset.chains
    )
    logs = tuple(compiler.denies.chains())
    audited = Ruleset(ruleset.family, ruleset.table, ruleset.sets, ruleset.maps, chains + logs)
    return AuditTable(audited, dict(compiler.denies.entries), options)
