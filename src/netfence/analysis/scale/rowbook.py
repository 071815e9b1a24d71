"""Rows of the allowed relation, per group and port class, built once and shared.

The row of an egress group on port class q is the set of destination classes
its policies allow; the row of an ingress group, the set of source classes.
A row depends only on which rules apply on q (its *signature*), so groups and
port classes with the same signature share one row, under one row id. Rows are
sorted class indexes, or ``None`` for "every class" (a group no policy
isolates, or one a rule with no peers allows from or to everywhere).

Each group's signatures on every port class are found in one pass over its
rules, and kept as a table of row ids (groups × port classes) until a change
makes them stale.

With cluster-wide policies, a group's signature on q also lists, in order, the
Admin and Baseline rules of its tier group that apply on q, each with its
action (``TIERED``); its row is composed from them (analysis/scale/tiers.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netfence.analysis.scale.classes import BoolVector, IntVector
from netfence.analysis.scale.ports import NamedSpec
from netfence.analysis.scale.rules import NOT_ISOLATED, DirectionTables, RuleVectors
from netfence.analysis.scale.runs import (
    NO_RUNS,
    Runs,
    complement,
    full,
    intersects,
    members,
    runs_of,
    union_runs,
)
from netfence.analysis.scale.tiers import Decided, compose, first_matches
from netfence.analysis.scale.tiers import every as every_class

Row = IntVector | None  # None: every class
Signature = tuple[Any, ...]
ALL: Signature = ("all",)
ALL_ID = 0  # the row id of ALL
TIERED = "tiered"  # first item of a signature with tier rules
NO_STEPS = 0  # the interned empty list of tier rules
LOCAL = "local-node:"  # the one-item signature entry (LOCAL + node name,)
_STALE = -1
Policy = int | tuple[str, int]  # a NetworkPolicy's index, or ("t", a tier policy's index)


class RowBook:
    def __init__(
        self, tables: DirectionTables, size: int, named_on_peer: bool, port_classes: int
    ) -> None:
        """``named_on_peer``: named ports resolve on the other end (egress) rather
        than on the group's own pods (ingress)."""
        self.tables = tables
        self.size = size
        self.named_on_peer = named_on_peer
        self.port_classes = port_classes
        self._ids: dict[Signature, int] = {ALL: ALL_ID}
        self._signatures: list[Signature] = [ALL]
        self._runs: dict[int, Runs | None] = {ALL_ID: None}
        self._rows: dict[int, Row] = {ALL_ID: None}  # as arrays, when asked for
        self._peer_runs: dict[Policy, dict[int, Runs]] = {}  # policy -> rule -> runs
        self._named_split: dict[Policy, dict[tuple[int, NamedSpec], dict[int, Runs]]] = {}
        self._by_policy: dict[Policy, set[Signature]] = {}
        self._named: dict[tuple[int, Policy, int], frozenset[int]] = {}
        self._named_of_policy: dict[int, set[tuple[int, Policy, int]]] = {}
        self._steps: list[tuple[Any, ...]] = [()]  # interned tier rule lists (NO_STEPS: none)
        self._tiers_in: list[set[int]] = [set()]  # per interned list: its tier policies
        self._steps_of_tier: dict[int, set[int]] = {}  # tier policy -> interned lists
        self._step_ids: dict[tuple[Any, ...], int] = {}
        self._tier_steps: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
        self._tier_decided: dict[int, Decided] = {}
        self._local: dict[str, Runs] = {}
        self._meets_cache: dict[Policy, dict[tuple[Any, int], bool]] = {}
        self._undecided: list[Runs] = []  # interned by content
        self._undecided_ids: dict[tuple[bytes, bytes], int] = {}
        self._undecided_of: dict[int, int] = {}  # interned Admin rules -> undecided
        self._every = np.ones(1, dtype=np.bool_)  # per row id: is it the row of every class?
        self._groups_with: dict[int, set[int]] = {}  # policy -> groups it is in
        self._indexed = 0  # groups indexed in _groups_with
        self._first = _first_members(tables.group_of, len(tables.groups))
        self._table = np.full((len(tables.groups), port_classes), _STALE, dtype=np.int64)

    def forget(self, policy: int, groups: set[int]) -> None:
        """Drop what a change of ``policy`` (and of the members of ``groups``) made stale."""
        self._drop(policy)
        self._meets_cache.pop(policy, None)
        for key in self._named_of_policy.pop(policy, set()):
            self._named.pop(key, None)
        self._stale(groups, self._groups_of(policy) | groups)

    def forget_tier(self, policy: int, groups: set[int]) -> None:
        """Drop what a change of tier policy ``policy`` made stale; ``groups``: those
        of the classes it selected before or after (no other group's tier group
        holds it)."""
        self._drop(("t", policy))
        for key in [k for k in self._named if k[1] == ("t", policy)]:
            del self._named[key]
        for steps in self._steps_of_tier.pop(policy, set()):
            self._tier_decided.pop(steps, None)
            self._undecided_of.pop(steps, None)
        tiers = self.tables.tiers
        assert tiers is not None
        for steps_key in [k for k in self._tier_steps if policy in tiers.groups[k[0]]]:
            del self._tier_steps[steps_key]
        self._stale(groups, groups)

    def _drop(self, policy: Policy) -> None:
        for signature in self._by_policy.pop(policy, set()):
            stale_id = self._ids.pop(signature, None)
            if stale_id is not None:
                self._runs.pop(stale_id, None)
                self._rows.pop(stale_id, None)
        self._peer_runs.pop(policy, None)
        self._named_split.pop(policy, None)

    def _stale(self, moved: set[int], stale: set[int]) -> None:
        """Groups whose members moved (their first member is looked up again), and
        groups whose row ids must be found again."""
        for key in [k for k in self._named if k[0] in moved]:
            del self._named[key]
        count = len(self.tables.groups)
        self._first.extend([-1] * (count - len(self._first)))
        for g in moved:
            self._first[g] = -1
        self._grow()
        self._table[sorted(stale)] = _STALE

    # --- row ids ----------------------------------------------------------------------------

    def ids_on(self, q: int) -> IntVector:
        """The row id of every group on port class q."""
        self._refresh()
        column: IntVector = self._table[:, q]
        return column

    def id_table(self) -> IntVector:
        """The row id of every group (rows) on every port class (columns)."""
        self._refresh()
        return self._table

    def every(self, row_ids: IntVector) -> BoolVector:
        """Which of the given row ids are rows of every class (None)."""
        every: BoolVector = self._every[row_ids]
        return every

    def ids(self, group: int) -> IntVector:
        """The row id of ``group`` on every port class."""
        self._grow()
        if self._table[group, 0] == _STALE:
            self._table[group] = [self._id(s) for s in self._signatures_of(group)]
        ids: IntVector = self._table[group]
        return ids

    def row_by_id(self, row_id: int) -> Row:
        """A row as a sorted array of classes (None: every class)."""
        if row_id in self._rows:
            return self._rows[row_id]
        runs = self.runs_by_id(row_id)
        row = self._rows[row_id] = None if runs is None else members(runs)
        return row

    def runs_by_id(self, row_id: int) -> Runs | None:
        """A row as runs of classes (None: every class)."""
        if row_id in self._runs:
            return self._runs[row_id]
        runs = self._runs[row_id] = self._build(self._signatures[row_id])
        return runs

    def _refresh(self) -> None:
        self._grow()
        if self._table.shape[0]:
            for g in np.flatnonzero(self._table[:, 0] == _STALE).tolist():
                self.ids(g)

    def _groups_of(self, policy: int) -> set[int]:
        """The groups whose policies include ``policy`` (groups are only ever added)."""
        groups = self.tables.groups
        for g in range(self._indexed, len(groups)):
            for p in groups[g]:
                self._groups_with.setdefault(p, set()).add(g)
        self._indexed = len(groups)
        return self._groups_with.get(policy, set())

    def _grow(self) -> None:
        missing = len(self.tables.groups) - self._table.shape[0]
        if missing > 0:
            extra = np.full((missing, self.port_classes), _STALE, dtype=np.int64)
            self._table = np.concatenate([self._table, extra])

    def _id(self, signature: Signature) -> int:
        found = self._ids.get(signature)
        if found is None:
            found = self._ids[signature] = len(self._signatures)
            self._signatures.append(signature)
            tiered = bool(signature) and signature[0] == TIERED
            for item in (signature[2] or ()) if tiered else signature:
                self._by_policy.setdefault(item[0], set()).add(signature)
            if tiered:
                for tp in self._tiers_in[signature[1]] | self._tiers_in[signature[3]]:
                    self._by_policy.setdefault(("t", tp), set()).add(signature)
            if found >= self._every.size:
                self._every = np.concatenate([self._every, np.zeros_like(self._every)])
            rules = self.tables.rules
            self._every[found] = (
                self.runs_by_id(found) is None
                if tiered
                else any(len(i) == 2 and rules[i[0]][i[1]].peers is None for i in signature)
            )
        return found

    # --- rows -------------------------------------------------------------------------------

    def row(self, group: int, q: int) -> Row:
        return self.row_by_id(int(self.ids(group)[q]))

    def hold_themselves(self, classes: IntVector, group_of: IntVector) -> BoolVector:
        """(classes × port classes): does the row of each class's own group hold
        it? What ``row_contains(row(group_of[c], q), c)`` answers for each pair,
        with one membership test per distinct row instead of one per pair."""
        count = self.port_classes
        out = np.ones((classes.size, count), dtype=np.bool_)
        if not classes.size:
            return out
        groups, inverse = np.unique(group_of[classes], return_inverse=True)
        ids = np.stack([self.ids(g) for g in groups.tolist()])[inverse.reshape(-1)].reshape(-1)
        asked = np.repeat(classes, count)  # flat position i asks for classes[i // count]
        order = np.argsort(ids, kind="stable")
        distinct, starts = np.unique(ids[order], return_index=True)
        bounds = [*starts.tolist(), ids.size]
        held = out.reshape(-1)
        for k, row_id in enumerate(distinct.tolist()):
            row = self.row_by_id(row_id)
            if row is not None:
                at = order[bounds[k] : bounds[k + 1]]
                held[at] = rows_contain(row, asked[at])
        return out

    def signature(self, group: int, q: int) -> Signature:
        """The rules of ``group`` that apply on port class ``q``."""
        return self._signatures[int(self.ids(group)[q])]

    def row_of(self, signature: Signature) -> Row:
        return self.row_by_id(self._id(signature))

    def _signatures_of(self, group: int) -> list[Signature]:
        """The signature of ``group`` on every port class, in one pass over its rules."""
        count = self.port_classes
        if group == NOT_ISOLATED:
            return [ALL] * count
        np_signatures = self._np_signatures_of(group)
        t = self.tables.group_tiers[group]
        if not t:
            return np_signatures
        isolated = bool(self.tables.groups[group])
        admin, baseline = self._tier_steps_of(group, t)
        out: list[Signature] = []
        for q in range(count):
            if not admin[q] and (isolated or not baseline[q]):
                out.append(np_signatures[q] if isolated else ALL)
            elif isolated:
                np_part = self._undecided_items(np_signatures[q], admin[q])
                out.append((TIERED, admin[q], np_part, NO_STEPS))
            else:
                out.append((TIERED, admin[q], None, baseline[q]))
        return out

    def _undecided_items(self, items: Signature, admin: int) -> Signature:
        """The NetworkPolicy items whose peers hold a class the Admin rules leave
        undecided: the others cannot change the row (acc ∪ (np minus deny) equals
        acc ∪ (np ∩ undecided)), and dropping them lets groups share rows."""
        if not items or not admin:
            return items
        undecided = self._undecided_id(admin)
        return tuple(item for item in items if self._meets(item, undecided))

    def _undecided_id(self, admin: int) -> int:
        """The classes Admin rules (interned) leave undecided, interned by content:
        port classes whose Admin rules differ often decide the same classes."""
        found = self._undecided_of.get(admin)
        if found is None:
            runs = complement(union_runs(list(self._decided(admin))), self.size)
            key = (runs.starts.tobytes(), runs.ends.tobytes())
            found = self._undecided_ids.setdefault(key, len(self._undecided))
            if found == len(self._undecided):
                self._undecided.append(runs)
            self._undecided_of[admin] = found
        return found

    def _meets(self, item: tuple[Any, ...], undecided: int) -> bool:
        of_policy = self._meets_cache.setdefault(item[0], {})
        found = of_policy.get((item, undecided))
        if found is None:
            runs = self._build((item,))
            peers = full(self.size) if runs is None else runs
            found = intersects(peers, self._undecided[undecided])
            of_policy[(item, undecided)] = found
        return found

    def _np_signatures_of(self, group: int) -> list[Signature]:
        """The NetworkPolicy rules of ``group`` that apply on each port class."""
        count = self.port_classes
        tables = self.tables
        active: list[list[tuple[Any, ...]]] = [[] for _ in range(count)]
        for p in tables.groups[group]:
            for r, rule in enumerate(tables.rules[p]):
                for q in rule.port_classes:
                    active[q].append((p, r))
                if not rule.named:
                    continue
                if self.named_on_peer:
                    for q in range(count):
                        if q not in rule.port_classes:
                            active[q].extend((p, r, spec, q) for spec in rule.named)
                    continue
                for q in self._resolved_here(group, p, r) - rule.port_classes:
                    if q >= 0:  # -1: the name resolves to no port of the group's pods
                        active[q].append((p, r))
        local = tables.group_local[group]
        if local is not None:  # "the traffic source is the pod's local node"
            for items in active:
                items.append((LOCAL + local,))
        return [tuple(items) for items in active]

    def _tier_steps_of(self, group: int, t: int) -> tuple[list[int], list[int]]:
        """Per port class: the Admin rules, then the Baseline rules, of tier group t
        that apply there, in order, each list interned as a number (``_steps``; 0:
        none). Alike for every group of tier group t, but where ingress named ports
        resolve on the group's own pods."""
        tiers = self.tables.tiers
        assert tiers is not None
        own_named = not self.named_on_peer and any(
            r.vectors.named for tp in tiers.groups[t] for r in tiers.rules[tp]
        )
        key = (t, group) if own_named else (t, -1)
        found = self._tier_steps.get(key)
        if found is None:
            admin, baseline = self._tier_items(group, t)
            found = self._tier_steps[key] = (
                [self._intern(a) for a in admin],
                [self._intern(b) for b in baseline],
            )
        return found

    def _intern(self, steps: tuple[Any, ...]) -> int:
        if not steps:
            return NO_STEPS
        found = self._step_ids.get(steps)
        if found is None:
            found = self._step_ids[steps] = len(self._steps)
            self._steps.append(steps)
            policies = {item[0][1] for _, items in steps for item in items}
            self._tiers_in.append(policies)
            for tp in policies:
                self._steps_of_tier.setdefault(tp, set()).add(found)
        return found

    def _tier_items(
        self, group: int, t: int
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Per port class, the Admin and the Baseline rules of tier group t that apply
        there, as (action, items) (an item as in ``_np_signatures_of``, its policy as
        ("t", index))."""
        tiers = self.tables.tiers
        assert tiers is not None
        count = self.port_classes
        admin: list[list[tuple[Any, ...]]] = [[] for _ in range(count)]
        baseline: list[list[tuple[Any, ...]]] = [[] for _ in range(count)]
        for tp in tiers.groups[t]:
            steps = baseline if tiers.baseline[tp] else admin
            for r, rule in enumerate(tiers.rules[tp]):
                on: list[list[tuple[Any, ...]]] = [[] for _ in range(count)]
                vectors = rule.vectors
                for q in vectors.port_classes:
                    on[q].append((("t", tp), r))
                if vectors.named and self.named_on_peer:
                    for q in range(count):
                        if q not in vectors.port_classes:
                            on[q].extend((("t", tp), r, spec, q) for spec in vectors.named)
                elif vectors.named:
                    for q in self._resolved_here(group, ("t", tp), r) - vectors.port_classes:
                        if q >= 0:
                            on[q].append((("t", tp), r))
                for q in range(count):
                    if on[q]:
                        steps[q].append((rule.action.value, tuple(on[q])))
        return [tuple(a) for a in admin], [tuple(b) for b in baseline]

    def _compose(self, signature: Signature) -> Runs | None:
        """The row of a signature with tier rules (None: every class)."""
        _, admin, np_part, baseline = signature

        isolated = None
        if np_part is not None:
            isolated = self.runs_by_id(self._id(np_part))
            isolated = full(self.size) if isolated is None else isolated
        row = compose(self._decided(admin), isolated, self._decided(baseline), self.size)
        return None if every_class(row, self.size) else row

    def _decided(self, steps: int) -> Decided:
        """What a tier's rules (interned) decide on one port class (shared by every
        row of a tier group there, whatever the NetworkPolicy row)."""
        found = self._tier_decided.get(steps)
        if found is None:
            runs = [(action, self._items_runs(parts)) for action, parts in self._steps[steps]]
            found = self._tier_decided[steps] = first_matches(runs)
        return found

    def _items_runs(self, items: tuple[Any, ...]) -> Runs:
        found = self._build(items)
        return full(self.size) if found is None else found

    def _build(self, signature: Signature) -> Runs | None:
        """The union of the peers of the signature's rules (None: every class)."""
        if signature and signature[0] == TIERED:
            return self._compose(signature)
        parts: list[Runs] = []
        for item in signature:
            if len(item) == 1:  # the local node's addresses
                parts.append(self._local_runs(item[0][len(LOCAL) :]))
                continue
            peers = self._rule(item[0], item[1]).peers
            if len(item) == 2:
                if peers is None:
                    return None
                of_policy = self._peer_runs.setdefault(item[0], {})
                found = of_policy.get(item[1])
                if found is None:
                    found = of_policy[item[1]] = runs_of(peers)
                parts.append(found)
            else:  # a named port on the peer: only where it resolves into q
                parts.append(self._resolving(item[0], item[1], item[2]).get(item[3], NO_RUNS))
        return union_runs(parts)

    def _resolving(self, p: Policy, r: int, spec: NamedSpec) -> dict[int, Runs]:
        """A rule's peers split by the port class its named port resolves to on
        them (once per rule and name, not once per port class)."""
        key = (r, spec)
        of_policy = self._named_split.setdefault(p, {})
        found = of_policy.get(key)
        if found is None:
            peers = self._rule(p, r).peers
            classes = np.arange(self.size, dtype=np.int64) if peers is None else peers
            if classes.size == 0:
                found = of_policy[key] = {}
                return found
            resolved = self.tables.named_class[spec][classes]
            order = np.argsort(resolved, kind="stable")
            values, starts = np.unique(resolved[order], return_index=True)
            ends = np.r_[starts[1:], order.size]
            found = of_policy[key] = {
                int(v): runs_of(classes[np.sort(order[a:b])])
                for v, a, b in zip(values.tolist(), starts.tolist(), ends.tolist(), strict=True)
                if v >= 0
            }
        return found

    def _local_runs(self, node: str) -> Runs:
        found = self._local.get(node)
        if found is None:
            owned = self.tables.owned_by.get(node)
            found = self._local[node] = NO_RUNS if owned is None else runs_of(owned)
        return found

    def _rule(self, p: Policy, r: int) -> RuleVectors:
        """Rule r of NetworkPolicy p, or of tier policy ("t", index)."""
        if isinstance(p, tuple):
            tiers = self.tables.tiers
            assert tiers is not None
            return tiers.rules[p[1]][r].vectors
        return self.tables.rules[p][r]

    def dense(self, row: Row) -> BoolVector:
        vector = (
            np.ones(self.size, dtype=np.bool_)
            if row is None
            else np.zeros(self.size, dtype=np.bool_)
        )
        if row is not None:
            vector[row] = True
        return vector

    def _resolved_here(self, group: int, p: Policy, r: int) -> frozenset[int]:
        """Port classes an ingress rule's named ports resolve to on the group's own
        pods (alike for every class of the group, by construction of the groups)."""
        key = (group, p, r)
        found = self._named.get(key)
        if found is None:
            first = self._first[group]
            if first < 0:
                members = np.flatnonzero(self.tables.group_of == group)
                if members.size == 0:
                    return frozenset()  # an emptied group: its rows are never used
                first = self._first[group] = int(members[0])
            specs = self._rule(p, r).named
            found = frozenset(int(self.tables.named_class[s][first]) for s in specs)
            self._named[key] = found
            if isinstance(p, int):
                self._named_of_policy.setdefault(p, set()).add(key)
        return found


def _first_members(group_of: IntVector, groups: int) -> list[int]:
    first = [-1] * groups
    present, index = np.unique(group_of, return_index=True)
    for g, c in zip(present.tolist(), index.tolist(), strict=True):
        first[g] = c
    return first


def row_members(row: Row, size: int) -> IntVector:
    """The classes of a row ("every class" expanded)."""
    return np.arange(size, dtype=np.int64) if row is None else row


def rows_contain(row: IntVector, classes: IntVector) -> BoolVector:
    """For each class: is it in the sorted array ``row``?"""
    if row.size == 0:
        return np.zeros(classes.size, dtype=np.bool_)
    at = np.minimum(np.searchsorted(row, classes), row.size - 1)
    found: BoolVector = row[at] == classes
    return found


def row_contains(row: Row, c: int) -> bool:
    if row is None:
        return True
    i = int(np.searchsorted(row, c))
    return i < row.size and int(row[i]) == c
