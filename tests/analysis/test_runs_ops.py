"""Set operations on runs of classes (analysis/scale/runs.py), as the tier rows use
them, against Python sets."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from netfence.analysis.scale.runs import (
    Runs,
    complement,
    difference,
    full,
    intersects,
    members,
    runs_of,
    union_runs,
)
from netfence.analysis.scale.tiers import every, first_matches

SIZE = 40
class_sets = st.sets(st.integers(0, SIZE - 1), max_size=SIZE)


def _runs(classes: set[int]) -> Runs:
    return runs_of(np.array(sorted(classes), dtype=np.int64))


def _set(runs: Runs) -> set[int]:
    return set(members(runs).tolist())


@given(class_sets, class_sets)
def test_runs_operations_equal_set_operations(a: set[int], b: set[int]) -> None:
    ra, rb = _runs(a), _runs(b)
    assert _set(difference(ra, rb)) == a - b
    assert _set(complement(ra, SIZE)) == set(range(SIZE)) - a
    assert _set(union_runs([ra, rb])) == a | b
    assert intersects(ra, rb) == bool(a & b)
    assert every(union_runs([ra, rb]), SIZE) == (a | b == set(range(SIZE)))
    assert _set(full(SIZE)) == set(range(SIZE))
    result = difference(ra, rb)  # runs stay disjoint, sorted and not adjacent
    assert (result.starts < result.ends).all() and (result.starts[1:] > result.ends[:-1]).all()


@given(st.lists(st.tuples(st.sampled_from(["Accept", "Deny", "Pass"]), class_sets), max_size=5))
def test_first_matches_is_the_first_rule_holding_each_class(
    steps: list[tuple[str, set[int]]],
) -> None:
    accepted, denied = first_matches([(action, _runs(peers)) for action, peers in steps])
    for c in range(SIZE):
        first = next((action for action, peers in steps if c in peers), None)
        assert (c in _set(accepted)) == (first == "Accept")
        assert (c in _set(denied)) == (first == "Deny")
