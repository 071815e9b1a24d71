"""The cluster-wide tiers (Admin, Baseline) over classes, for one direction.

Each Admin or Baseline policy with rules in the direction becomes its subject
(sorted classes: "host-networked pods are not included in subject selection")
and its rules, each an action with the classes on the other end its peers match
and the port classes it applies on (as NetworkPolicy rules are: ``RuleVectors``).
Peers, as the engine reads them (compile/tiers.py): ``namespaces`` and ``pods``
select pods, never hostNetwork ones; ``networks`` match any address, pods'
included (classes split by them as by ipBlocks); ``nodes`` match the classes
whose address a selected node owns (classes split by the owner's labels);
``domainNames`` match no class: the analysis judges connections made to
addresses, and a connection made to an address never matches a name. Named
ports resolve on the destination pod, for every protocol.

A class's *tier group* is the list of tier policies whose subject it is, in
precedence order (Admin by priority, input order among equals, then Baseline):
classes of one tier group meet the same rules in the same order.

A row with tiers, for one group on one port class (``compose``): the Admin
rules in order, the first whose peers hold a class answering for it (Accept,
Deny, or Pass: on to the next tier); then, for a group some NetworkPolicy
isolates, the NetworkPolicy row; otherwise the Baseline rules the same way;
then the default, allowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from netfence.analysis.scale.backend import (
    ClassBackend,
    PortSpec,
    address_sets,
    all_port_specs,
    port_classes,
)
from netfence.analysis.scale.backend import reads_nodes as selections_read_nodes
from netfence.analysis.scale.classes import ClassTable, IntVector
from netfence.analysis.scale.ports import PortPartition
from netfence.analysis.scale.rules import RuleVectors
from netfence.analysis.scale.runs import NO_RUNS, Runs, complement, difference, full, union_runs
from netfence.analysis.scale.selectors import EMPTY
from netfence.compile.addresses import AddressRanges
from netfence.compile.compiled import CompiledTiers
from netfence.compile.ir import PodsSelected, Selection
from netfence.compile.tiers import CompiledClusterPolicy, CompiledTierRule
from netfence.model.policy import Direction
from netfence.model.tiers import RuleAction

NO_TIER = 0  # tier group 0: classes no cluster-wide policy takes as subject
ACCEPT, DENY = RuleAction.ACCEPT.value, RuleAction.DENY.value  # as signatures hold them


@dataclass
class TierRuleVectors:
    action: RuleAction
    vectors: RuleVectors  # peers never None: a tier rule always names its peers


@dataclass
class TierTables:
    """The tier policies with rules in one direction, and the tier group of each class.

    A policy keeps its index for good: an update replaces it in place, a deletion
    leaves it without subject and rules, an addition comes last (``order`` keeps
    precedence: tier, priority, then input order)."""

    policies: list[CompiledClusterPolicy | None]
    baseline: list[bool]  # per policy: is it of the Baseline tier?
    rules: list[list[TierRuleVectors]]  # per policy, in written order
    of_class: IntVector  # tier group of each class
    groups: list[tuple[int, ...]]  # per tier group: its policies in precedence order
    subjects: list[IntVector] = field(default_factory=list)  # per policy
    order: list[tuple[bool, int, int]] = field(default_factory=list)  # per policy
    policy_index: dict[str, int] = field(default_factory=dict)
    group_index: dict[tuple[int, ...], int] = field(default_factory=dict)

    def intern(self, policies: tuple[int, ...]) -> int:
        """The tier group of these policies (in precedence order), made if new."""
        found = self.group_index.get(policies)
        if found is None:
            found = self.group_index[policies] = len(self.groups)
            self.groups.append(policies)
        return found


def tier_selections(tiers: CompiledTiers) -> list[Selection]:
    """The IR selection of every peer of every tier rule."""
    return [
        m.selection
        for policy in (*tiers.admin, *tiers.baseline)
        for rule in (*policy.ingress, *policy.egress)
        for m in rule.peers
    ]


def tier_blocks(tiers: CompiledTiers) -> list[AddressRanges]:
    """The address sets of every tier rule's ``networks`` (classes split by them)."""
    return address_sets(tier_selections(tiers))


def reads_nodes(tiers: CompiledTiers) -> bool:
    """Does some tier rule have a ``nodes`` peer (classes must split by node labels)?"""
    return selections_read_nodes(tier_selections(tiers))


def tier_port_specs(tiers: CompiledTiers) -> list[PortSpec]:
    return all_port_specs(
        m.selection
        for policy in (*tiers.admin, *tiers.baseline)
        for rule in (*policy.ingress, *policy.egress)
        for m in rule.ports or ()
    )


def subject_classes(subject: PodsSelected, backend: ClassBackend) -> IntVector:
    """ "namespaces": every pod of the selected namespaces; "pods": the pods both
    selectors match; hostNetwork classes never (the backend never selects them)."""
    return backend.classes(subject)


def tier_rule_vectors(
    rule: CompiledTierRule, backend: ClassBackend, ports: PortPartition
) -> TierRuleVectors:
    """A tier rule's IR peers and ports over classes (peers never None: a tier rule
    always names its peers; ``domainNames`` match no class)."""
    peers = backend.classes_of_all([m.selection for m in rule.peers])
    numbers, named = port_classes(
        None if rule.ports is None else [m.selection for m in rule.ports], ports
    )
    return TierRuleVectors(rule.action, RuleVectors(peers, numbers, named))


def tier_tables(
    direction: Direction,
    tiers: CompiledTiers,
    table: ClassTable,
    backend: ClassBackend,
    ports: PortPartition,
) -> TierTables | None:
    """None when no tier policy has rules in ``direction``."""
    chosen = [
        (policy, baseline)
        for policies, baseline in ((tiers.admin, False), (tiers.baseline, True))
        for policy in policies
        if policy.rules(direction)
    ]
    if not chosen:
        return None
    policies = [p for p, _ in chosen]
    subjects = [subject_classes(p.subject, backend) for p in policies]
    selecting: list[list[int]] = [[] for _ in range(table.size)]
    for t, subject in enumerate(subjects):
        for c in subject.tolist():
            selecting[c].append(t)
    found = empty_tier_tables(table.size)
    found.policies = list(policies)
    found.baseline = [b for _, b in chosen]
    found.rules = [
        [tier_rule_vectors(r, backend, ports) for r in p.rules(direction)] for p in policies
    ]
    found.subjects = subjects
    position = {id(p): i for i, p in enumerate((*tiers.admin, *tiers.baseline))}
    found.order = [(b, p.policy.priority or 0, position[id(p)]) for p, b in chosen]
    found.policy_index = {p.policy.key: i for i, p in enumerate(policies)}
    for c, mine in enumerate(selecting):
        if mine:
            found.of_class[c] = found.intern(tuple(mine))
    return found


def empty_tier_tables(size: int) -> TierTables:
    return TierTables([], [], [], np.zeros(size, dtype=np.int64), [()], group_index={(): NO_TIER})


def replace_tier_policy(
    tables: TierTables,
    key: str,
    compiled: CompiledClusterPolicy | None,
    direction: Direction,
    backend: ClassBackend,
    ports: PortPartition,
    position: int,
) -> tuple[int, IntVector, IntVector]:
    """Put ``compiled`` (None: nothing) in the place of the policy ``key``, at
    ``position`` in input order (which decides between equal priorities); its
    index (-1: none), its subject before and after. Its classes' tier groups are
    the caller's to update (``regroup``)."""
    has_rules = compiled is not None and bool(compiled.rules(direction))
    p = tables.policy_index.get(key, -1)
    if p < 0 and not has_rules:
        return p, EMPTY, EMPTY
    if p < 0:
        p = tables.policy_index[key] = len(tables.policies)
        tables.policies.append(None)
        tables.baseline.append(False)
        tables.rules.append([])
        tables.subjects.append(EMPTY)
        tables.order.append((False, 0, position))
    before = tables.subjects[p]
    tables.policies[p] = compiled if has_rules else None
    if compiled is not None and has_rules:
        baseline = compiled.policy.tier.value == "Baseline"
        tables.baseline[p] = baseline
        tables.order[p] = (baseline, compiled.policy.priority or 0, position)
        tables.rules[p] = [tier_rule_vectors(r, backend, ports) for r in compiled.rules(direction)]
        tables.subjects[p] = subject_classes(compiled.subject, backend)
    else:
        tables.rules[p], tables.subjects[p] = [], EMPTY
    return p, before, tables.subjects[p]


def regroup(tables: TierTables, p: int, classes: IntVector, now: IntVector) -> None:
    """Move ``classes`` to the tier groups they have once policy p selects ``now``."""
    selected = np.isin(classes, now).tolist()
    for c, chosen in zip(classes.tolist(), selected, strict=True):
        mine = set(tables.groups[int(tables.of_class[c])]) - {p}
        if chosen:
            mine.add(p)
        tables.of_class[c] = tables.intern(tuple(sorted(mine, key=tables.order.__getitem__)))


TierStep = tuple[str, Runs]  # one rule on one port class: its action's value, its peers there
Decided = tuple[Runs, Runs]  # what a tier's first matching rules accept, and deny


def compose(admin: Decided, isolated: Runs | None, baseline: Decided, size: int) -> Runs:
    """The classes the tiers allow at the other end, from what the Admin and the
    Baseline rules decide (``first_matches``). ``isolated``: the NetworkPolicy
    row (full when it allows every class) for a group some NetworkPolicy
    isolates ("v1.NetworkPolicy always makes a final decision for selected
    pods"), None for one none isolates (on to Baseline)."""
    accepted, denied = admin
    if isolated is not None:
        return union_runs([accepted, difference(isolated, denied)])
    return complement(union_runs([denied, difference(baseline[1], accepted)]), size)


def first_matches(steps: Sequence[TierStep]) -> Decided:
    """The classes whose first matching rule accepts, and those whose first
    matching rule denies (a Pass takes a class out of both)."""
    accepted: list[Runs] = []
    denied: list[Runs] = []
    decided = NO_RUNS
    for action, peers in steps:
        fresh = difference(peers, decided)
        if action == ACCEPT:
            accepted.append(fresh)
        elif action == DENY:
            denied.append(fresh)
        decided = union_runs([decided, peers])
    return union_runs(accepted), union_runs(denied)


def every(runs: Runs, size: int) -> bool:
    """Does ``runs`` hold every class below ``size``?"""
    whole = full(size)
    return runs.count == whole.count and bool(
        (runs.starts == whole.starts).all() and (runs.ends == whole.ends).all()
    )
