"""The inverted label index selects exactly what LabelSelector.matches selects."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.compile.label_index import LabelIndex
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement

KEYS = ["app", "tier", "env"]
VALUES = ["a", "b", "c"]
labels = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3).map(Labels.of)
requirement = st.builds(
    lambda key, op, values: Requirement(
        key, op, tuple(values) if op in (Operator.IN, Operator.NOT_IN) else ()
    ),
    st.sampled_from(KEYS),
    st.sampled_from(list(Operator)),
    st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True),
)
selectors = st.builds(
    lambda ml, me: LabelSelector(ml, tuple(me)),
    labels,
    st.lists(requirement, max_size=2),
)


@settings(max_examples=400)
@given(st.lists(labels, max_size=12), st.lists(selectors, min_size=1, max_size=4), st.data())
def test_index_equals_matches(
    label_sets: list[Labels], chosen: list[LabelSelector], data: st.DataObject
) -> None:
    universe = (
        data.draw(st.sets(st.integers(0, max(len(label_sets) - 1, 0)))) if label_sets else set()
    )
    index = LabelIndex(label_sets, sorted(universe))
    for selector in chosen:
        expected = {i for i in universe if selector.matches(label_sets[i])}
        assert index.select(selector) == expected
