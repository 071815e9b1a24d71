"""Policies and rules as sparse class sets, for one direction.

A rule becomes its peers (the sorted classes on the other end it matches, or
None for every class), the port classes its numeric ports cover, and its named
ports. A class's *group*
is the set of policies that isolate it for the direction; classes in one group
are judged by the same rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from netfence.analysis.scale.backend import ClassBackend, port_classes
from netfence.analysis.scale.classes import BoolVector, ClassTable, IntVector
from netfence.analysis.scale.ports import NamedSpec, PortPartition
from netfence.compile.compiled import CompiledPolicy, CompiledRule
from netfence.model.policy import Direction

if TYPE_CHECKING:
    from netfence.analysis.scale.tiers import TierTables

NOT_ISOLATED = 0  # group 0: classes no policy of any tier governs for the direction


@dataclass
class RuleVectors:
    peers: IntVector | None  # sorted classes at the other end; None: every class
    port_classes: frozenset[int]  # covered by numeric ports (all when the rule has no ports)
    named: tuple[NamedSpec, ...]


@dataclass
class DirectionTables:
    """Everything one direction needs: rules per policy, groups of classes.

    ``policies`` holds the policies that isolate this direction, by index; a
    policy that stops isolating it (or is deleted) keeps its index with no
    target and no rules, so that indexes held elsewhere stay valid.
    """

    direction: Direction
    policies: list[CompiledPolicy | None]
    rules: list[list[RuleVectors]]  # per policy
    targets: list[IntVector]  # per policy: the classes it selects (sorted)
    group_of: IntVector  # per class
    groups: list[tuple[int, ...]]  # per group: policy indexes (group 0 = not isolated)
    named_class: dict[NamedSpec, IntVector] = field(default_factory=dict)
    group_index: dict[tuple[object, ...], int] = field(default_factory=dict)
    policy_index: dict[str, int] = field(default_factory=dict)
    tiers: TierTables | None = None  # the cluster-wide policies with rules here
    group_tiers: list[int] = field(default_factory=lambda: [0])  # per group: its tier group
    # the local-node rule (ingress): per class, the node it runs on if that node owns
    # pod addresses (None: the rule never applies to it), and those nodes' classes
    runs_on: list[str | None] = field(default_factory=list)
    owned_by: dict[str, IntVector] = field(default_factory=dict)
    group_local: list[str | None] = field(default_factory=lambda: [None])

    def group_key(self, c: int, chosen: tuple[int, ...]) -> tuple[object, ...]:
        """The key of class c's group, given the policies that select it. Ingress
        named ports resolve on the selected pods: classes of one group must
        resolve them alike, so the resolution is part of the key (of the tier
        rules' named ports too)."""
        key = self._np_key(c, chosen)
        t = self.tier_of(c)
        if not t:
            return key
        assert self.tiers is not None
        if self.direction is Direction.EGRESS:
            return (key, "tiers", t)
        rules = (r.vectors for p in self.tiers.groups[t] for r in self.tiers.rules[p])
        specs = sorted({s for r in rules for s in r.named}, key=str)
        return (key, "tiers", t, *(int(self.named_class[s][c]) for s in specs))

    def _np_key(self, c: int, chosen: tuple[int, ...]) -> tuple[object, ...]:
        if not chosen or self.direction is Direction.EGRESS:
            return chosen
        specs = sorted({s for p in chosen for r in self.rules[p] for s in r.named}, key=str)
        local = self.local_of(c)
        named = (int(self.named_class[s][c]) for s in specs)
        return (*chosen, *named) if local is None else (*chosen, *named, "node", local)

    def local_of(self, c: int) -> str | None:
        """The node whose addresses the local-node rule lets into class c (ingress)."""
        if self.direction is Direction.EGRESS or not self.runs_on:
            return None
        return self.runs_on[c]

    def tier_of(self, c: int) -> int:
        """Class c's tier group (0: no cluster-wide policy takes it as subject)."""
        return 0 if self.tiers is None else int(self.tiers.of_class[c])

    def isolated(self) -> BoolVector:
        """Per class: does some NetworkPolicy isolate it for the direction?"""
        by_group = np.array([bool(g) for g in self.groups], dtype=np.bool_)
        isolated: BoolVector = by_group[self.group_of]
        return isolated

    def assign(self, c: int, chosen: tuple[int, ...]) -> int:
        """Put class c in the group of ``chosen`` (created if new); its group id."""
        key = self.group_key(c, chosen)
        g = self.group_index.get(key)
        if g is None:
            g = self.group_index[key] = len(self.groups)
            self.groups.append(chosen)
            self.group_tiers.append(self.tier_of(c))
            self.group_local.append(self.local_of(c) if chosen else None)
        self.group_of[c] = g
        return g


def rule_vectors(rule: CompiledRule, backend: ClassBackend, ports: PortPartition) -> RuleVectors:
    """A rule's IR peers and ports over classes. API reference: a rule with no
    peers matches all (None); peers are ORed; a rule whose peers are all
    ``domainNames`` (kept apart in ``rule.names``) has none left and matches no
    address; a rule with no ports matches every port."""
    peers = backend.peers(None if rule.peers is None else [m.selection for m in rule.peers])
    numbers, named = port_classes(
        None if rule.ports is None else [m.selection for m in rule.ports], ports
    )
    return RuleVectors(peers, numbers, named)


def named_port_classes(spec: NamedSpec, table: ClassTable, ports: PortPartition) -> IntVector:
    """Per class: the port class its container port ``spec`` resolves to, or -1.
    Resolved once per distinct list of declared ports."""
    protocol, name = spec
    resolved = np.full(len(table.port_sets), -1, dtype=np.int64)
    for i, declared in enumerate(table.port_sets):
        number = next((p.port for p in declared if p.name == name and p.protocol is protocol), None)
        if number is not None:
            resolved[i] = ports.class_of(protocol, number)
    return resolved[table.port_set_ids]


def ensure_named(
    tables: DirectionTables, rules: Sequence[RuleVectors], table: ClassTable, ports: PortPartition
) -> None:
    for rule in rules:
        for spec in rule.named:
            if spec not in tables.named_class:
                tables.named_class[spec] = named_port_classes(spec, table, ports)


def local_node_tables(table: ClassTable) -> tuple[list[str | None], dict[str, IntVector]]:
    """Per class, the node it runs on (when the local-node rule may apply), and per
    node, the classes whose address it owns ((), {} when no pod address is a node's)."""
    owned: dict[str, list[int]] = {}
    for c, key in enumerate(table.keys):
        if key.owner is not None:
            owned.setdefault(key.owner, []).append(c)
    if not owned:
        return [], {}
    runs_on = [key.runs_on for key in table.keys]
    return runs_on, {n: np.array(cs, dtype=np.int64) for n, cs in owned.items()}


def direction_tables(
    direction: Direction,
    policies: Sequence[CompiledPolicy],
    table: ClassTable,
    backend: ClassBackend,
    ports: PortPartition,
    tiers: TierTables | None = None,
) -> DirectionTables:
    isolating = [p for p in policies if p.policy.isolates(direction)]
    tables = DirectionTables(
        direction=direction,
        policies=list(isolating),
        rules=[[rule_vectors(r, backend, ports) for r in p.rules(direction)] for p in isolating],
        targets=[backend.index.target(p.policy.namespace, p.target) for p in isolating],
        group_of=np.zeros(table.size, dtype=np.int64),
        groups=[()],
        group_index={(): NOT_ISOLATED},
        policy_index={p.policy.key: i for i, p in enumerate(isolating)},
        tiers=tiers,
    )
    if direction is Direction.INGRESS:
        tables.runs_on, tables.owned_by = local_node_tables(table)
    for policy_rules in tables.rules:
        ensure_named(tables, policy_rules, table, ports)
    for tier_rules in tiers.rules if tiers is not None else ():
        ensure_named(tables, [r.vectors for r in tier_rules], table, ports)
    selecting: list[list[int]] = [[] for _ in range(table.size)]
    for p, target in enumerate(tables.targets):
        for c in target.tolist():
            selecting[c].append(p)
    for c, chosen in enumerate(selecting):
        if chosen or tables.tier_of(c):
            tables.assign(c, tuple(chosen))
    return tables
