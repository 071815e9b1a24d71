"""Labels.of_sorted (no generated __init__) makes the very label set Labels makes."""

from __future__ import annotations

import copy
import dataclasses
import pickle

from hypothesis import given
from hypothesis import strategies as st

from netfence.model.labels import Labels

_MAPS = st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=5)


@given(_MAPS)
def test_of_sorted_is_labels(mapping: dict[str, str]) -> None:
    items = tuple(sorted(mapping.items()))
    made, expected = Labels.of_sorted(items), Labels(items)
    assert made == expected and hash(made) == hash(expected)
    assert made.items_ == expected.items_ and dict(made.items()) == mapping
    assert list(made) == list(expected) and len(made) == len(expected)
    assert repr(made) == repr(expected) and made.format() == expected.format()
    assert all(made.get(k) == v and k in made for k, v in mapping.items())
    assert Labels.of(mapping) == expected
    assert pickle.loads(pickle.dumps(made)) == made
    assert copy.deepcopy(made) == made
    assert dataclasses.replace(made) == made
