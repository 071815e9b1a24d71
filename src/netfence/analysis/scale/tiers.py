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

from netfence.analysis.scale.classes import ClassTable, IntVector
from netfence.analysis.scale.ports import NamedSpec, NumericSpec, PortPartition
from netfence.analysis.scale.rules import RuleVectors
from netfence.analysis.scale.runs import NO_RUNS, Runs, complement, difference, full, union_runs
from netfence.analysis.scale.selectors import EMPTY, SelectorIndex, union
from netfence.compile.compiled import CompiledTiers
from netfence.compile.tiers import CompiledClusterPolicy, CompiledTierRule
from netfence.model.policy import Direction, IPBlock
from netfence.model.ports import Protocol
from netfence.model.tiers import NamedPort, RuleAction, Subject, TierPeer, TierPort

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


def tier_blocks(tiers: CompiledTiers) -> list[IPBlock]:
    """The ``networks`` of every tier rule, as ipBlocks (classes split by them)."""
    seen: dict[IPBlock, None] = {}
    for policy in (*tiers.admin, *tiers.baseline):
        for rule in (*policy.ingress, *policy.egress):
            for m in rule.peers:
                for network in m.peer.networks or ():
                    seen.setdefault(IPBlock(network))
    return list(seen)


def reads_nodes(tiers: CompiledTiers) -> bool:
    """Does some tier rule have a ``nodes`` peer (classes must split by node labels)?"""
    return any(
        m.peer.nodes is not None
        for policy in (*tiers.admin, *tiers.baseline)
        for rule in (*policy.ingress, *policy.egress)
        for m in rule.peers
    )


def port_specs(port: TierPort) -> list[NumericSpec | NamedSpec]:
    """A range on its protocol (none when start > end: it matches no port), or a
    container port name on every protocol (the name alone decides: "selects a
    destination port on a pod based on the ContainerPort name")."""
    if isinstance(port, NamedPort):
        return [(protocol, port.name) for protocol in Protocol]
    if port.start > port.end:
        return []
    return [(port.protocol, port.start, port.end)]


def tier_port_specs(tiers: CompiledTiers) -> list[NumericSpec | NamedSpec]:
    return [
        spec
        for policy in (*tiers.admin, *tiers.baseline)
        for rule in (*policy.ingress, *policy.egress)
        for m in rule.ports or ()
        for spec in port_specs(m.port)
    ]


def subject_classes(subject: Subject, index: SelectorIndex) -> IntVector:
    """ "namespaces": every pod of the selected namespaces; "pods": the pods both
    selectors match; hostNetwork classes never (the index never selects them)."""
    if subject.namespaces is not None:
        return index.peer(subject.namespaces, None, "")
    if subject.pods is not None:
        return index.peer(subject.pods.namespace_selector, subject.pods.pod_selector, "")
    return EMPTY


def tier_peer_classes(peer: TierPeer, index: SelectorIndex) -> IntVector:
    if peer.namespaces is not None:
        return index.peer(peer.namespaces, None, "")
    if peer.pods is not None:
        return index.peer(peer.pods.namespace_selector, peer.pods.pod_selector, "")
    if peer.nodes is not None:
        return index.nodes(peer.nodes)
    if peer.networks is not None:
        return union([index.block(IPBlock(network)) for network in peer.networks])
    return EMPTY  # domainNames: never a connection made to an address


def tier_rule_vectors(
    rule: CompiledTierRule, index: SelectorIndex, ports: PortPartition
) -> TierRuleVectors:
    peers = union([tier_peer_classes(m.peer, index) for m in rule.peers])
    if rule.ports is None:
        covered = frozenset(range(len(ports.classes)))
        return TierRuleVectors(rule.action, RuleVectors(peers, covered, ()))
    numbers: set[int] = set()
    named: list[NamedSpec] = []
    for m in rule.ports:
        for spec in port_specs(m.port):
            if len(spec) == 2:
                named.append(spec)
            else:
                numbers.update(ports.covered(spec))
    return TierRuleVectors(rule.action, RuleVectors(peers, frozenset(numbers), tuple(named)))


def tier_tables(
    direction: Direction,
    tiers: CompiledTiers,
    table: ClassTable,
    index: SelectorIndex,
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
    subjects = [subject_classes(p.policy.subject, index) for p in policies]
    selecting: list[list[int]] = [[] for _ in range(table.size)]
    for t, subject in enumerate(subjects):
        for c in subject.tolist():
            selecting[c].append(t)
    found = empty_tier_tables(table.size)
    found.policies = list(policies)
    found.baseline = [b for _, b in chosen]
    found.rules = [
        [tier_rule_vectors(r, index, ports) for r in p.rules(direction)] for p in policies
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
    index: SelectorIndex,
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
        tables.rules[p] = [tier_rule_vectors(r, index, ports) for r in compiled.rules(direction)]
        tables.subjects[p] = subject_classes(compiled.policy.subject, index)
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
