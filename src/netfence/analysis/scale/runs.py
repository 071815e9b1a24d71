"""Class sets as runs of consecutive class indexes.

Classes are numbered namespace by namespace, and a peer that selects whole
namespaces (a namespaceSelector without podSelector, the most common wide
peer) selects consecutive classes: its set is a few runs where a sorted array
would list thousands of classes. Rows, unions of peers, are kept as runs; the
sums over rows (``spread``) and membership tests work on the runs directly.
A run is half-open: [start, end).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netfence.analysis.scale.classes import BoolVector, IntVector

FloatVector = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Runs:
    starts: IntVector  # sorted; runs are disjoint and not adjacent
    ends: IntVector

    @property
    def size(self) -> int:
        """How many classes (not runs)."""
        return int((self.ends - self.starts).sum())

    @property
    def count(self) -> int:
        return int(self.starts.size)


NO_RUNS = Runs(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


def runs_of(classes: IntVector) -> Runs:
    """The runs of a sorted array of distinct classes."""
    if classes.size == 0:
        return NO_RUNS
    breaks = np.flatnonzero(np.diff(classes) != 1)
    starts = np.concatenate([classes[:1], classes[breaks + 1]])
    ends = np.concatenate([classes[breaks] + 1, classes[-1:] + 1])
    return Runs(starts.astype(np.int64), ends.astype(np.int64))


def union_runs(parts: list[Runs]) -> Runs:
    """The union of run sets, as runs (overlapping and adjacent runs merged)."""
    parts = [p for p in parts if p.count]
    if not parts:
        return NO_RUNS
    if len(parts) == 1:
        return parts[0]
    starts = np.concatenate([p.starts for p in parts])
    ends = np.concatenate([p.ends for p in parts])
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    begins = np.empty(starts.size, dtype=np.bool_)
    begins[0] = True
    np.greater(starts[1:], ends[:-1], out=begins[1:])
    first = np.flatnonzero(begins)
    last = np.concatenate([first[1:] - 1, np.full(1, starts.size - 1, dtype=np.int64)])
    return Runs(starts[first], ends[last])


def members(runs: Runs) -> IntVector:
    """The classes of the runs, as a sorted array."""
    lengths = runs.ends - runs.starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(runs.starts - (np.cumsum(lengths) - lengths), lengths)
    out: IntVector = offsets + np.arange(total, dtype=np.int64)
    return out


def contains(runs: Runs, classes: IntVector) -> BoolVector:
    """For each class: is it in one of the runs?"""
    if not runs.count:
        return np.zeros(classes.size, dtype=np.bool_)
    at = np.searchsorted(runs.starts, classes, side="right") - 1
    inside: BoolVector = (at >= 0) & (classes < runs.ends[np.maximum(at, 0)])
    return inside


def spread_runs(parts: list[Runs], amounts: list[float], size: int) -> FloatVector:
    """Σ_i amounts[i] · [s ∈ parts[i]] for every class s < size (by differences:
    work in runs, not classes)."""
    if not parts:
        return np.zeros(size, dtype=np.float64)
    counts = np.array([p.count for p in parts], dtype=np.int64)
    weights = np.repeat(np.array(amounts, dtype=np.float64), counts)
    starts = np.concatenate([p.starts for p in parts])
    ends = np.concatenate([p.ends for p in parts])
    diff = np.bincount(starts, weights=weights, minlength=size + 1)
    diff -= np.bincount(ends, weights=weights, minlength=size + 1)
    out: FloatVector = np.cumsum(diff[:size])
    return out


_ZERO = np.zeros(1, dtype=np.int64)


def complement(runs: Runs, size: int) -> Runs:
    """The classes below ``size`` outside the runs."""
    starts = np.concatenate([_ZERO, runs.ends])
    ends = np.concatenate([runs.starts, np.full(1, size, dtype=np.int64)])
    keep = starts < ends
    return Runs(starts[keep], ends[keep])


def difference(a: Runs, b: Runs) -> Runs:
    """The classes of ``a`` outside ``b``."""
    if not a.count or not b.count or a.ends[-1] <= b.starts[0] or b.ends[-1] <= a.starts[0]:
        return a
    if b.count == 1 and b.starts[0] <= a.starts[0] and a.ends[-1] <= b.ends[0]:
        return NO_RUNS
    cuts = _sorted_distinct(np.concatenate([a.starts, a.ends, b.starts, b.ends]))
    pieces = cuts[:-1]
    keep = _covers(a, pieces) & ~_covers(b, pieces)
    return _merged(pieces[keep], cuts[1:][keep])


def intersects(a: Runs, b: Runs) -> bool:
    """Do the runs share a class?"""
    if not a.count or not b.count:
        return False
    at = np.searchsorted(b.ends, a.starts, side="right")  # first b-run ending after each start
    inside = at < b.count
    return bool((b.starts[at[inside]] < a.ends[inside]).any())


def _sorted_distinct(values: IntVector) -> IntVector:
    """Sorted distinct values (np.unique hashes first: slower on these short arrays)."""
    ordered = np.sort(values)
    keep = np.empty(ordered.size, dtype=np.bool_)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    out: IntVector = ordered[keep]
    return out


def full(size: int) -> Runs:
    """Every class below ``size``, as one run (none when size is 0)."""
    if size == 0:
        return NO_RUNS
    return Runs(np.zeros(1, dtype=np.int64), np.full(1, size, dtype=np.int64))


def _covers(runs: Runs, points: IntVector) -> BoolVector:
    return contains(runs, points)


def _merged(starts: IntVector, ends: IntVector) -> Runs:
    """Runs from sorted disjoint pieces, adjacent pieces joined."""
    if starts.size == 0:
        return NO_RUNS
    begins = np.empty(starts.size, dtype=np.bool_)
    begins[0] = True
    np.not_equal(starts[1:], ends[:-1], out=begins[1:])
    first = np.flatnonzero(begins)
    last = np.concatenate([first[1:] - 1, np.full(1, starts.size - 1, dtype=np.int64)])
    return Runs(starts[first].astype(np.int64), ends[last].astype(np.int64))
