"""nft/incremental.py's Intervals against the obvious computation: merging every
address and block again (nft.compiler.merge_ranges and range_text)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netfence.compile.addresses import merge_ranges
from netfence.nft.compiler import range_text
from netfence.nft.incremental import Intervals

addresses = st.integers(min_value=0, max_value=63)
blocks = st.lists(
    st.tuples(addresses, st.integers(min_value=0, max_value=8)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=3,
)


@given(
    blocks=blocks,
    start=st.sets(addresses, max_size=20),
    steps=st.lists(st.tuples(st.booleans(), addresses), max_size=30),
    family=st.sampled_from([4, 6]),
)
def test_intervals_changed_one_address_at_a_time_are_the_merged_ranges(
    blocks: list[tuple[int, int]],
    start: set[int],
    steps: list[tuple[bool, int]],
    family: int,
) -> None:
    merged_blocks = merge_ranges(list(blocks))
    intervals = Intervals(family, merge_ranges([*blocks, *((a, a) for a in start)]), merged_blocks)
    points = set(start)
    for add, address in steps:
        if add:
            points.add(address)
            intervals.add(address)
        else:
            points.discard(address)
            intervals.remove(address)
        expected = merge_ranges([*blocks, *((a, a) for a in points)])
        assert intervals.ranges == expected
        assert intervals.elements == tuple(range_text(family, lo, hi) for lo, hi in expected)
