"""Rows of the allowed relation, per group and port class, built once and shared.

The row of an egress group on port class q is the set of destination classes
its policies allow; the row of an ingress group, the set of source classes.
A row depends only on which rules apply on q (its *signature*), so groups and
port classes with the same signature share one row. Rows are sorted class
indexes, or ``None`` for "every class" (a group no policy isolates).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from netfence.analysis.scale.classes import BoolVector, IntVector
from netfence.analysis.scale.rules import NOT_ISOLATED, DirectionTables

Row = IntVector | None  # None: every class
Signature = tuple[Any, ...]
ALL: Signature = ("all",)


class RowBook:
    def __init__(self, tables: DirectionTables, size: int, named_on_peer: bool) -> None:
        """``named_on_peer``: named ports resolve on the other end (egress) rather
        than on the group's own pods (ingress)."""
        self.tables = tables
        self.size = size
        self.named_on_peer = named_on_peer
        self._rows: dict[Signature, Row] = {ALL: None}
        self._by_policy: dict[int, set[Signature]] = {}
        self._named: dict[tuple[int, int, int], frozenset[int]] = {}
        self._first = _first_members(tables.group_of, len(tables.groups))

    def forget(self, policy: int, groups: set[int]) -> None:
        """Drop what a change of ``policy`` (and of the members of ``groups``) made stale."""
        for signature in self._by_policy.pop(policy, set()):
            self._rows.pop(signature, None)
        self._named = {
            k: v for k, v in self._named.items() if k[1] != policy and k[0] not in groups
        }
        self._first.extend([-1] * (len(self.tables.groups) - len(self._first)))
        for g in groups:
            self._first[g] = -1

    def row(self, group: int, q: int) -> Row:
        return self.row_of(self.signature(group, q))

    def signature(self, group: int, q: int) -> Signature:
        """The rules of ``group`` that apply on port class ``q``."""
        if group == NOT_ISOLATED:
            return ALL
        tables = self.tables
        active: list[tuple[Any, ...]] = []
        for p in tables.groups[group]:
            for r, rule in enumerate(tables.rules[p]):
                if q in rule.port_classes:
                    active.append((p, r))
                elif not rule.named:
                    continue
                elif self.named_on_peer:
                    active.extend((p, r, spec, q) for spec in rule.named)
                elif q in self._resolved_here(group, p, r):
                    active.append((p, r))
        return tuple(active)

    def row_of(self, signature: Signature) -> Row:
        if signature in self._rows:
            return self._rows[signature]
        vector = np.zeros(self.size, dtype=np.bool_)
        for item in signature:
            peers = self.tables.rules[item[0]][item[1]].peers
            if len(item) == 2:
                vector |= peers
            else:  # a named port on the peer: only where it resolves into q
                vector |= peers & (self.tables.named_class[item[2]] == item[3])
        row = np.flatnonzero(vector).astype(np.int64)
        self._rows[signature] = row
        for item in signature:
            self._by_policy.setdefault(item[0], set()).add(signature)
        return row

    def dense(self, row: Row) -> BoolVector:
        vector = (
            np.ones(self.size, dtype=np.bool_)
            if row is None
            else np.zeros(self.size, dtype=np.bool_)
        )
        if row is not None:
            vector[row] = True
        return vector

    def _resolved_here(self, group: int, p: int, r: int) -> frozenset[int]:
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
            specs = self.tables.rules[p][r].named
            found = frozenset(int(self.tables.named_class[s][first]) for s in specs)
            self._named[key] = found
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


def row_contains(row: Row, c: int) -> bool:
    if row is None:
        return True
    i = int(np.searchsorted(row, c))
    return i < row.size and int(row[i]) == c
