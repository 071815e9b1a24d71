"""Incremental re-analysis: one policy added, changed or deleted.

Only what the policy touches is recomputed. For each direction, the classes it
selects before or after the change (A) move to new groups; the rows of groups
that contain it are rebuilt. Then, on every port class:

- ingress: each destination d in A changes the sources allowed to reach it from
  I_old(d) to I_new(d): T (ingress reach) moves by ±w_d on the difference;
- sources whose egress row holds every class (no policy isolates them, or
  their rules allow everywhere) have R = T again;
- sources isolated for egress whose egress row meets an ingress-changed
  destination, and the egress-changed sources themselves, are recomputed
  through their (short) egress rows;
- the self pairs of every touched class are recomputed.

A change that needs a new ipBlock (classes split) or new port boundaries (port
classes split) falls back to a full analysis, and says so. A change of a
cluster-wide policy (``apply_cluster_policy``, ``delete_cluster_policy``) goes
the same way: its subjects before and after (in each direction where it has
rules) move to new tier groups, hence new groups, and the counts follow; new
``networks``, a first ``nodes`` peer or new port boundaries fall back to a full
analysis. ``set_cluster_policies`` (all of them at once) is a full analysis.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from netfence.analysis.scale.backend import PortSpec
from netfence.analysis.scale.classes import IntVector
from netfence.analysis.scale.rowbook import Row, RowBook, row_members
from netfence.analysis.scale.rules import (
    NOT_ISOLATED,
    DirectionTables,
    RuleVectors,
    ensure_named,
    rule_vectors,
)
from netfence.analysis.scale.selectors import EMPTY
from netfence.analysis.scale.summary import (
    ClusterAnalysis,
    ingress_namespaces,
    policy_blocks,
    policy_port_specs,
    sorted_contains,
    without_cyclic_gc,
)
from netfence.analysis.scale.tiers import (
    empty_tier_tables,
    reads_nodes,
    regroup,
    replace_tier_policy,
    subject_classes,
    tier_blocks,
    tier_port_specs,
)
from netfence.compile.compiled import (
    CompiledPolicy,
    CompiledPolicySet,
    CompiledTiers,
    compile_policy,
)
from netfence.compile.tiers import CompiledClusterPolicy, compile_cluster_policy
from netfence.model.policy import NetworkPolicy
from netfence.model.tiers import ClusterPolicy, Tier

# past this share of the classes (of a table this large) as ingress subjects, a tier
# change is analysed anew (egress ones of any width cost less than that)
WIDE_CHANGE, WIDE_MIN = 0.25, 1000


class UpdateMode(enum.Enum):
    INCREMENTAL = "incremental"
    FULL = "full"  # the change split classes, or changed a cluster-wide policy


@dataclass(frozen=True)
class UpdateReport:
    mode: UpdateMode
    seconds: float
    classes_touched: int
    reason: str = ""


@dataclass
class _GroupMoves:
    """The affected ingress classes by (old group, new group): ``groups`` the
    distinct moves, ``of_class`` each class's move, ``pods`` each move's pods,
    ``new_ids`` the row id of each move's new group on each port class."""

    groups: list[tuple[int, int]]
    of_class: IntVector
    pods: list[int]
    new_ids: IntVector
    # (id of the old row, id of the new row) -> the sources gained, lost; the rows
    # are held by ``old_rows`` and the row book for the whole change
    diffs: dict[tuple[int, int], tuple[IntVector, IntVector]] = field(default_factory=dict)


@dataclass
class _Move:
    """Destinations whose ingress row changes from ``old`` to ``new``, and their pods."""

    old: Row
    new: Row
    weight: int = 0
    index: int = 0


@dataclass
class _DirectionChange:
    policy: int  # index in the direction's tables; -1 when it has none yet
    affected: IntVector  # classes selected before or after
    old_groups: IntVector  # their groups before
    isolates: bool  # does the new policy isolate this direction?


class IncrementalAnalysis:
    """A ClusterAnalysis kept up to date through policy changes."""

    def __init__(self, analysis: ClusterAnalysis) -> None:
        self.analysis = analysis
        self._moved: tuple[IntVector, list[tuple[IntVector, IntVector]]] = (EMPTY, [])
        self.policies = {c.policy.key: c for c in analysis.compiled.policies}
        tiers = analysis.tiers
        # in precedence order, which compile_tiers keeps (it sorts stably)
        self.cluster_policies = {c.policy.key: c.policy for c in (*tiers.admin, *tiers.baseline)}
        self._position = {key: i for i, key in enumerate(self.cluster_policies)}
        # each compiled once, when it comes: a change recompiles only its own
        self._compiled_tiers = {c.policy.key: c for c in (*tiers.admin, *tiers.baseline)}

    def apply(self, policy: NetworkPolicy) -> UpdateReport:
        """Add ``policy``, or replace the policy with its namespace and name."""
        return self._change(policy.key, policy)

    def delete(self, key: str) -> UpdateReport:
        """Remove the policy whose ``NetworkPolicy.key`` is ``key`` (an
        ApplicationNetworkPolicy's key names its kind: never rebuild keys here)."""
        return self._change(key, None)

    def apply_cluster_policy(self, policy: ClusterPolicy) -> UpdateReport:
        """Add a cluster-wide policy (after those of its priority in input order),
        or replace the one with its key (in its place)."""
        self.cluster_policies[policy.key] = policy
        if policy.key not in self._position:
            self._position[policy.key] = 1 + max(self._position.values(), default=-1)
        compiled = self._compiled_tiers[policy.key] = compile_cluster_policy(policy)
        with without_cyclic_gc():
            return self._tier_change(policy.key, compiled)

    def delete_cluster_policy(self, key: str) -> UpdateReport:
        """Remove the cluster-wide policy with ``ClusterPolicy.key`` ``key``."""
        self.cluster_policies.pop(key, None)
        self._compiled_tiers.pop(key, None)
        self._position.pop(key, None)
        with without_cyclic_gc():
            return self._tier_change(key, None)

    def _tier_change(self, key: str, compiled: CompiledClusterPolicy | None) -> UpdateReport:
        start = time.perf_counter()
        reason = self._tier_needs_full(compiled)
        if reason:
            self._rebuild()
            size = self.analysis.table.size
            return UpdateReport(UpdateMode.FULL, time.perf_counter() - start, size, reason)
        a = self.analysis
        planned = self._tier_plan(a.egress, key, compiled)
        change = self._tier_plan(a.ingress, key, compiled)
        widest = change.affected.size  # ingress only: egress of any width pays (docs/scale.md)
        if a.table.size >= WIDE_MIN and widest > a.table.size * WIDE_CHANGE:
            self._rebuild()  # regrouping most classes one by one costs more
            size = self.analysis.table.size
            reason = "the cluster-wide policy's subjects are most classes"
            return UpdateReport(UpdateMode.FULL, time.perf_counter() - start, size, reason)
        a.set_tiers(self._ordered_tiers())
        position = self._position.get(key, -1)
        egress = self._tier_commit(a.egress, a.egress_rows, key, compiled, position, planned)
        old_rows = self._rows_before(a.ingress_rows, change)
        ingress = self._tier_commit(a.ingress, a.ingress_rows, key, compiled, position, change)
        return self._counted(egress, ingress, old_rows, start)

    def _tier_plan(
        self, tables: DirectionTables, key: str, compiled: CompiledClusterPolicy | None
    ) -> _DirectionChange:
        """The classes a change of a tier policy moves in one direction: its subject
        before and after (where it has rules)."""
        tiers = tables.tiers
        p = -1 if tiers is None else tiers.policy_index.get(key, -1)
        before = EMPTY if tiers is None or p < 0 else tiers.subjects[p]
        after = EMPTY
        if compiled is not None and compiled.rules(tables.direction):
            after = subject_classes(compiled.subject, self.analysis.backend)
        affected = np.union1d(before, after)
        return _DirectionChange(p, affected, tables.group_of[affected].copy(), bool(after.size))

    def _tier_commit(
        self,
        tables: DirectionTables,
        book: RowBook,
        key: str,
        compiled: CompiledClusterPolicy | None,
        position: int,
        change: _DirectionChange | None = None,
    ) -> _DirectionChange:
        a = self.analysis
        change = change or self._tier_plan(tables, key, compiled)
        has_rules = compiled is not None and bool(compiled.rules(tables.direction))
        if change.policy < 0 and not has_rules:
            return change
        if tables.tiers is None:
            tables.tiers = empty_tier_tables(a.table.size)
        tiers = tables.tiers
        p, _, now = replace_tier_policy(
            tiers, key, compiled, tables.direction, a.backend, a.ports, position
        )
        ensure_named(tables, [r.vectors for r in tiers.rules[p]], a.table, a.ports)
        regroup(tiers, p, change.affected, now)
        for c, g in zip(change.affected.tolist(), change.old_groups.tolist(), strict=True):
            tables.assign(c, tables.groups[g])
        touched = {*change.old_groups.tolist(), *tables.group_of[change.affected].tolist()}
        book.forget_tier(p, touched)
        return change

    def _tier_needs_full(self, compiled: CompiledClusterPolicy | None) -> str:
        """Why a tier policy's change cannot be applied in place: its ``networks``,
        a first ``nodes`` peer or its ports would split classes."""
        if compiled is None:
            return ""
        a = self.analysis
        single = CompiledTiers((compiled,))
        if any(block not in a.table.blocks for block in tier_blocks(single)):
            return "new networks split pod classes"
        if reads_nodes(single) and not reads_nodes(a.tiers):
            return "a first nodes peer splits pod classes by node labels"
        return self._splits_ports(tier_port_specs(single))

    def set_cluster_policies(self, policies: Sequence[ClusterPolicy]) -> UpdateReport:
        """All the cluster-wide policies at once, in input order (which decides
        between equal priorities)."""
        self.cluster_policies = {p.key: p for p in policies}
        self._compiled_tiers = {p.key: compile_cluster_policy(p) for p in policies}
        return self._tiers_changed()

    def _tiers_changed(self) -> UpdateReport:
        start = time.perf_counter()
        with without_cyclic_gc():
            self._rebuild()
        seconds = time.perf_counter() - start
        size = self.analysis.table.size
        return UpdateReport(UpdateMode.FULL, seconds, size, "a cluster-wide policy changed")

    def _change(self, key: str, policy: NetworkPolicy | None) -> UpdateReport:
        with without_cyclic_gc():  # a full collection walks the whole cluster: 0.3 s at 100k
            return self._change_now(key, policy)

    def _change_now(self, key: str, policy: NetworkPolicy | None) -> UpdateReport:
        start = time.perf_counter()
        compiled = compile_policy(policy) if policy is not None else None
        if compiled is None:
            self.policies.pop(key, None)
        else:
            self.policies[key] = compiled
        reason = self._needs_full(compiled)
        if reason:
            self._rebuild()
            return UpdateReport(
                UpdateMode.FULL, time.perf_counter() - start, self.analysis.table.size, reason
            )
        a = self.analysis
        a.set_policies(tuple(self.policies.values()))  # compiled into a set when asked
        egress = self._commit(
            a.egress, a.egress_rows, key, compiled, self._plan(a.egress, key, compiled)
        )
        planned = self._plan(a.ingress, key, compiled)
        old_rows = self._rows_before(a.ingress_rows, planned[0])
        ingress = self._commit(a.ingress, a.ingress_rows, key, compiled, planned)
        return self._counted(egress, ingress, old_rows, start)

    def _counted(
        self,
        egress: _DirectionChange,
        ingress: _DirectionChange,
        old_rows: dict[tuple[int, int], Row],
        start: float,
    ) -> UpdateReport:
        """After both directions' commits (NetworkPolicy or tier change): members,
        then the counts and self pairs of every port class the moved classes touch."""
        self._refresh_members(egress)
        touched = np.union1d(egress.affected, ingress.affected)
        pairs = self._ingress_moves(ingress)
        for q in range(len(self.analysis.ports.classes)):
            self._update_counts(q, egress, ingress, old_rows, pairs)
        self._update_self(touched)
        return UpdateReport(UpdateMode.INCREMENTAL, time.perf_counter() - start, int(touched.size))

    # --- fallbacks ------------------------------------------------------------------------

    def _needs_full(self, compiled: CompiledPolicy | None) -> str:
        """Why the change cannot be applied in place, if it cannot: its ipBlocks or
        ports would split classes. (Removing things never does: a finer split
        than needed stays correct.)"""
        if compiled is None:
            return ""
        a = self.analysis
        single = CompiledPolicySet((compiled,))
        if any(block not in a.table.blocks for block in policy_blocks(single)):
            return "a new ipBlock splits pod classes"
        if a.ingress.owned_by and not ingress_namespaces((compiled,)) <= a.local_namespaces:
            return "a namespace newly isolated for ingress splits classes by node (local node)"
        return self._splits_ports(policy_port_specs(single))

    def _splits_ports(self, specs: Sequence[PortSpec]) -> str:
        """Why these port specs would split port classes, if they would."""
        a = self.analysis
        for spec in specs:
            if len(spec) == 3 and not a.ports.separates(spec):
                return "new port boundaries split port classes"
            if len(spec) == 2 and not all(
                a.ports.isolates(p.protocol, p.port)
                for declared in a.table.port_sets
                for p in declared
                if (p.protocol, p.name) == spec
            ):
                return "a named port resolves inside a wider port class"
        return ""

    def _ordered_tiers(self) -> CompiledTiers:
        """The tiers as compile_tiers orders the cluster-wide policies (by tier, then
        priority, in ``cluster_policies`` order among equals), of the policies
        compiled as they came."""
        compiled = [self._compiled_tiers[key] for key in self.cluster_policies]

        def ordered(tier: Tier) -> tuple[CompiledClusterPolicy, ...]:
            found = [c for c in compiled if c.policy.tier is tier]
            return tuple(sorted(found, key=lambda c: c.policy.priority or 0))  # stable

        return CompiledTiers(ordered(Tier.ADMIN), ordered(Tier.BASELINE))

    def _rebuild(self) -> None:
        tiers = tuple(self.cluster_policies.values())
        compiled = CompiledPolicySet(tuple(self.policies.values()), self._ordered_tiers())
        cluster = dataclasses.replace(
            self.analysis.cluster,
            policies=tuple(c.policy for c in compiled.policies),
            cluster_policies=tiers,
        )
        self.analysis = ClusterAnalysis(cluster, compiled)

    # --- tables ---------------------------------------------------------------------------

    def _rows_before(self, book: RowBook, change: _DirectionChange) -> dict[tuple[int, int], Row]:
        """The rows of the groups the affected classes are in, before they move:
        taken before the change, while every group still has its members."""
        groups = np.unique(change.old_groups).tolist()
        return {
            (g, q): book.row(g, q) for g in groups for q in range(len(self.analysis.ports.classes))
        }

    def _plan(
        self, tables: DirectionTables, key: str, compiled: CompiledPolicy | None
    ) -> tuple[_DirectionChange, IntVector, list[RuleVectors]]:
        """What the change does to one direction: the classes it affects, the
        policy's new target and rules (nothing is changed yet)."""
        a = self.analysis
        index = tables.policy_index.get(key, -1)
        isolates = compiled is not None and compiled.policy.isolates(tables.direction)
        new_target = EMPTY
        new_rules: list[RuleVectors] = []
        if compiled is not None and isolates:
            ns = compiled.policy.namespace
            new_target = a.index.target(ns, compiled.target)
            new_rules = [
                rule_vectors(r, a.backend, a.ports) for r in compiled.rules(tables.direction)
            ]
        old_target = tables.targets[index] if index >= 0 else EMPTY
        affected = np.union1d(old_target, new_target)
        change = _DirectionChange(index, affected, tables.group_of[affected].copy(), isolates)
        return change, new_target, new_rules

    def _commit(
        self,
        tables: DirectionTables,
        book: RowBook,
        key: str,
        compiled: CompiledPolicy | None,
        planned: tuple[_DirectionChange, IntVector, list[RuleVectors]],
    ) -> _DirectionChange:
        a = self.analysis
        change, new_target, new_rules = planned
        if change.policy < 0 and not change.isolates:
            return change
        index = change.policy
        if index < 0:
            index = change.policy = tables.policy_index[key] = len(tables.policies)
            tables.policies.append(None)
            tables.rules.append([])
            tables.targets.append(new_target)
        tables.policies[index] = compiled if change.isolates else None
        tables.rules[index] = new_rules
        tables.targets[index] = new_target
        ensure_named(tables, new_rules, a.table, a.ports)
        selected = np.isin(change.affected, new_target).tolist()
        moves = zip(change.affected.tolist(), change.old_groups.tolist(), selected, strict=True)
        for c, g, chosen_now in moves:
            chosen = set(tables.groups[g]) - {index}
            if chosen_now:
                chosen.add(index)
            tables.assign(c, tuple(sorted(chosen)))
        touched_groups = {*change.old_groups.tolist(), *tables.group_of[change.affected].tolist()}
        book.forget(index, touched_groups)
        return change

    def _refresh_members(self, change: _DirectionChange) -> None:
        a = self.analysis
        members = a.egress_members
        members.extend([np.zeros(0, dtype=np.int64)] * (len(a.egress.groups) - len(members)))
        if change.affected.size == 0:
            return
        for g in np.unique(change.old_groups).tolist():
            members[g] = np.setdiff1d(members[g], change.affected, assume_unique=True)
        new_groups = a.egress.group_of[change.affected]
        for g in np.unique(new_groups).tolist():
            members[g] = np.union1d(members[g], change.affected[new_groups == g])

    # --- counts ---------------------------------------------------------------------------

    def _update_counts(
        self,
        q: int,
        egress: _DirectionChange,
        ingress: _DirectionChange,
        old_rows: dict[tuple[int, int], Row],
        pairs: _GroupMoves,
    ) -> None:
        a = self.analysis
        changed = egress.affected  # classes whose R may follow T
        if ingress.affected.size:
            changed = np.concatenate([changed, self._move_reach(q, old_rows, pairs)])
        everywhere = a.egress_rows.every(a.egress_rows.ids_on(q))  # per group: R = T
        free = changed[everywhere[a.egress.group_of[changed]]]
        a.rows[free, q] = np.rint(a.reach[free, q]).astype(np.int64)
        redo: set[int] = set(np.unique(a.egress.group_of[egress.affected]).tolist())
        redo.update(np.unique(egress.old_groups).tolist())
        redo.discard(NOT_ISOLATED)  # its members whose T or group changed are set above
        for k in redo:
            a.set_sources(k, a.egress_members[k], q)
        if ingress.affected.size:
            meeting = _groups_meeting(a.sparse_egress[q], ingress.affected, a.table.size)
            for k in meeting:
                if k not in redo and not everywhere[k]:
                    self._shift_sources(q, k, ingress)

    def _shift_sources(self, q: int, k: int, ingress: _DirectionChange) -> None:
        """R of egress group k's members (its row unchanged) moves by
        Σ_{d ∈ A ∩ E(k)} w_d ([s ∈ I_new(d)] − [s ∈ I_old(d)]): through the
        sources each move of ingress rows gained or lost (``_move_reach``), for
        the changed destinations k reaches, not its whole row again."""
        a = self.analysis
        members = a.egress_members[k]
        reached = sorted_contains(a.sparse_egress[q][k], ingress.affected)
        moved, changes = self._moved
        weights = np.bincount(
            moved[reached],
            weights=a.table.weights[ingress.affected[reached]],
            minlength=len(changes),
        )
        for m in np.flatnonzero(weights).tolist():
            gained, lost = changes[m]
            delta = sorted_contains(gained, members).astype(np.int64)
            delta -= sorted_contains(lost, members)
            a.rows[members, q] += int(weights[m]) * delta

    def _ingress_moves(self, ingress: _DirectionChange) -> _GroupMoves:
        """The distinct (old group, new group) moves of the ingress classes a change
        affects, which class made which, and the pods each carries."""
        a = self.analysis
        new_groups = a.ingress.group_of[ingress.affected]
        stacked = np.stack([ingress.old_groups, new_groups])
        distinct, inverse = np.unique(stacked, axis=1, return_inverse=True)
        inverse = inverse.reshape(-1)
        pods = np.bincount(inverse, weights=a.table.weights[ingress.affected])
        moves = list(zip(*distinct.tolist(), strict=True)) if distinct.size else []
        count = len(a.ports.classes)
        new_ids = np.array([a.ingress_rows.ids(g) for _, g in moves], dtype=np.int64)
        new_ids = new_ids.reshape(len(moves), count)
        return _GroupMoves(moves, inverse, np.rint(pods).astype(np.int64).tolist(), new_ids)

    def _move_reach(
        self, q: int, old_rows: dict[tuple[int, int], Row], pairs: _GroupMoves
    ) -> IntVector:
        """T[s] += Σ_{d ∈ A} w_d ([s ∈ I_new(d)] − [s ∈ I_old(d)]); the classes whose
        T changed (or may have). Each distinct move (old row, new row) and the
        sources it gains and loses are kept in ``_moved`` for ``_shift_sources``.
        Destinations that move between the same two groups move between the same
        two rows: rows are looked up once per group move, not per destination."""
        a = self.analysis
        size = a.table.size
        moves: dict[tuple[int, int], _Move] = {}
        move_of_pair: list[int] = []
        book = a.ingress_rows
        new_ids = pairs.new_ids[:, q].tolist() if pairs.groups else []
        for (old_g, _), new_id, pods in zip(pairs.groups, new_ids, pairs.pods, strict=True):
            old_row = old_rows[(old_g, q)]
            new_row = book.row_by_id(new_id)
            key = (id(old_row), id(new_row))
            move = moves.get(key)
            if move is None:
                move = moves[key] = _Move(old_row, new_row, index=len(moves))
            move.weight += pods
            move_of_pair.append(move.index)
        touched: list[IntVector] = [np.zeros(0, dtype=np.int64)]
        changes: list[tuple[IntVector, IntVector]] = []
        for key, move in moves.items():
            found = pairs.diffs.get(key)
            if found is None:  # rows recur across port classes: one difference each
                old, new = row_members(move.old, size), row_members(move.new, size)
                found = pairs.diffs[key] = (
                    np.setdiff1d(new, old, assume_unique=True),
                    np.setdiff1d(old, new, assume_unique=True),
                )
            gained, lost = found
            a.reach[gained, q] += move.weight
            a.reach[lost, q] -= move.weight
            touched += [gained, lost]
            changes.append((gained, lost))
        self._moved = (np.array(move_of_pair, dtype=np.int64)[pairs.of_class], changes)
        return np.concatenate(touched)

    def _update_self(self, classes: IntVector) -> None:
        """Self pairs of ``classes`` on every port class: is each class in its own
        groups' egress and ingress rows?"""
        a = self.analysis
        a.self_allowed[classes] = a.egress_rows.hold_themselves(
            classes, a.egress.group_of
        ) & a.ingress_rows.hold_themselves(classes, a.ingress.group_of)


def _groups_meeting(rows: dict[int, IntVector], classes: IntVector, size: int) -> list[int]:
    """The groups (keys) whose row contains one of ``classes``."""
    if not rows:
        return []
    hit = np.zeros(size, dtype=np.bool_)
    hit[classes] = True
    groups = list(rows)
    lengths = np.array([rows[k].size for k in groups], dtype=np.int64)
    owner = np.repeat(np.arange(len(groups), dtype=np.int64), lengths)
    met = np.bincount(
        owner, weights=hit[np.concatenate(list(rows.values()))], minlength=len(groups)
    )
    return [groups[i] for i in np.flatnonzero(met).tolist()]
