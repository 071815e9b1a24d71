"""T, what each source class could reach (egress aside), on every port class.

    T[s, q] = Σ_d w_d [s ∈ I_q(d)]

with I_q(d) the ingress row of destination d's group on port class q. On one
port class this is one pass over the members of the distinct rows in use
(``reach_on``, the obvious way, kept as the oracle). Most destinations have
the same row on most port classes (rules without ports apply on all of them),
so ``reach_all`` makes that pass once over each group's most common row, and
on each port class only over the rows of the destinations whose row differs
there, adding their weight to the new row and taking it from the common one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from netfence.analysis.scale.classes import BoolVector, IntVector
from netfence.analysis.scale.rowbook import RowBook
from netfence.analysis.scale.runs import Runs, spread_runs
from netfence.analysis.scale.runs import contains as runs_contain

FloatVector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Reach:
    reach: npt.NDArray[np.float64]  # (classes, port classes): T
    in_own: npt.NDArray[np.bool_]  # (classes, port classes): is s in its own ingress row?


def reach_on(book: RowBook, group_of: IntVector, weights: IntVector, q: int) -> Reach:
    """T and the ingress half of the self pairs on one port class, directly."""
    row_of_class = book.ids_on(q)[group_of]
    amounts = np.bincount(row_of_class, weights=weights)
    reach = spread(book, amounts, group_of.size)
    return Reach(reach[:, None], contains(book, row_of_class, np.arange(group_of.size))[:, None])


def reach_all(book: RowBook, group_of: IntVector, weights: IntVector) -> Reach:
    """T and the ingress half of the self pairs on every port class at once."""
    size, count = group_of.size, book.port_classes
    table = book.id_table()
    usual = most_common(table)[group_of] if size else np.zeros(0, dtype=np.int64)
    amounts = np.bincount(usual, weights=weights) if size else np.zeros(1)
    base = spread(book, amounts, size)
    base_own = contains(book, usual, np.arange(size, dtype=np.int64))
    reach = np.empty((size, count), dtype=np.float64)
    in_own = np.empty((size, count), dtype=np.bool_)
    length = int(table.max(initial=0)) + 1
    for q in range(count):
        row_of_class = table[:, q][group_of]
        moved = np.flatnonzero(row_of_class != usual)
        added = np.bincount(row_of_class[moved], weights=weights[moved], minlength=length)
        taken = np.bincount(usual[moved], weights=weights[moved], minlength=length)
        delta: npt.NDArray[Any] = added - taken
        reach[:, q] = base + spread(book, delta, size)
        in_own[:, q] = base_own
        in_own[moved, q] = contains(book, row_of_class[moved], moved)
    return Reach(reach, in_own)


def spread(book: RowBook, amounts: npt.NDArray[Any], size: int) -> FloatVector:
    """Σ_u amounts[u] · [s ∈ row u] for every class s (rows of every class included)."""
    parts: list[Runs] = []
    weights: list[float] = []
    everywhere = 0.0
    for u in np.flatnonzero(amounts).tolist():
        runs = book.runs_by_id(u)
        if runs is None:
            everywhere += float(amounts[u])
        elif runs.count:
            parts.append(runs)
            weights.append(float(amounts[u]))
    return spread_runs(parts, weights, size) + everywhere


def contains(book: RowBook, row_ids: IntVector, classes: IntVector) -> BoolVector:
    """For each i: is classes[i] in row row_ids[i]?"""
    out = np.zeros(classes.size, dtype=np.bool_)
    if classes.size == 0:
        return out
    order = np.argsort(row_ids, kind="stable")
    sorted_ids = row_ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    ends = np.r_[starts[1:], sorted_ids.size]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        at = order[start:end]
        runs = book.runs_by_id(int(sorted_ids[start]))
        out[at] = True if runs is None else runs_contain(runs, classes[at])
    return out


def most_common(table: IntVector) -> IntVector:
    """Per row of ``table``: its most frequent value (ties: the smallest)."""
    ordered = np.sort(table, axis=1)
    counts = (ordered[:, :, None] == ordered[:, None, :]).sum(axis=2)
    best: IntVector = ordered[np.arange(table.shape[0]), np.argmax(counts, axis=1)]
    return best
