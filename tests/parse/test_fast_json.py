"""The fast JSON decoder (orjson) against the checking one, the oracle: whenever
the fast one answers, it gives the very value the checking one gives; it gives up
(UNSURE) on every input the checking one refuses or reads in its own way."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.errors import InvalidInputError
from netfence.parse.documents import UNSURE, _checked_json, fast_json, parse_documents
from netfence.parse.limits import MAX_DEPTH

# A JSON tree whose objects are lists of pairs, so that keys may repeat.
_KEYS = st.sampled_from(["a", "b", ":", "a:", '"', '":', "\\", "é", "x y", "\u003a"])
_STRINGS = st.text(alphabet=st.sampled_from('ab:" \\\t\n/é😀\u2028\x7f'), max_size=6)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _STRINGS,
)
_TREES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(_KEYS, inner), max_size=4).map(lambda pairs: ("obj", pairs)),
    ),
    max_leaves=25,
)


def _dump(tree: Any, space: str, ascii_only: bool) -> str:
    if isinstance(tree, tuple):
        inner = ("," + space).join(
            json.dumps(k, ensure_ascii=ascii_only)
            + space
            + ":"
            + space
            + _dump(v, space, ascii_only)
            for k, v in tree[1]
        )
        return "{" + space + inner + space + "}"
    if isinstance(tree, list):
        return "[" + ("," + space).join(_dump(v, space, ascii_only) for v in tree) + "]"
    return json.dumps(tree, ensure_ascii=ascii_only)


def _same(text: str) -> None:
    fast = fast_json(text)
    try:
        slow = _checked_json(text, "x.json")
    except InvalidInputError:
        assert fast is UNSURE, text
        return
    if fast is not UNSURE:
        assert repr(fast) == repr(slow), text  # repr: 1, 1.0 and True differ


@settings(max_examples=400, deadline=None)
@given(
    _TREES.map(lambda t: t if isinstance(t, list | tuple) else [t]),
    st.sampled_from(["", " ", "\n  ", "\t"]),
    st.booleans(),
)
def test_fast_json_gives_the_checking_decoders_value_or_gives_up(
    tree: Any, space: str, ascii_only: bool
) -> None:
    _same(_dump(tree, space, ascii_only))


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 1}',
        '{"a": {"b": 1, "b": 2}}',
        # the duplicate's lost colon made up by one more colon in a kept string
        '{"a": "x", "a": "y", "b": ":"}',
        '{"a": "\\u003a", "a": "y", "b": "::"}',
        '{"a": 123456789012345678901234567890}',
        '{"a": -9223372036854775809}',
        '{"a": 18446744073709551615}',
        '{"a": 1e400}',
        '{"a": "\\ud800"}',
        '{"a": "\\udc00x"}',
        '{"a": "\\ud83d\\ude00"}',
        '{"a": NaN}',
        '{"a": [1,]}',
        '{"a": "e+"}',
        "[" * MAX_DEPTH + "]" * MAX_DEPTH,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        "[" * (MAX_DEPTH - 1) + "[1]" + "]" * (MAX_DEPTH - 1),
        "[" * MAX_DEPTH + "[1]" + "]" * MAX_DEPTH,
        '{"a":' * (MAX_DEPTH + 1) + "{}" + "}" * (MAX_DEPTH + 1),
        "[" * 2000 + "]" * 2000,
        "[" * 300 + "]" * 300,  # read by orjson (up to 1024), not written (254)
        "[" * 1000 + "]" * 1000,
        '{"a":' * 254 + "1" + "}" * 254,
    ],
)
def test_edge_cases(text: str) -> None:
    _same(text)


def test_a_duplicate_hidden_by_an_escaped_colon_is_still_found() -> None:
    text = '{"kind": "Pod", "a": "x", "a": "y", "b": "\\u003a"}'
    assert fast_json(text) is UNSURE
    with pytest.raises(InvalidInputError, match='duplicate key "a"'):
        parse_documents(text, "x.json")


def test_the_fast_path_answers_for_ordinary_manifests() -> None:
    """Not a correctness property: that the fast path is not dead code."""
    text = json.dumps(
        {
            "kind": "List",
            "items": [
                {"kind": "Pod", "metadata": {"name": f"p{i}", "annotations": {"a": "b:c\u003c"}}}
                for i in range(3)
            ],
        },
        indent=4,
    )
    assert fast_json(text) == json.loads(text)


# --- a List's items proved a chunk at a time (documents._pieces) --------------------------


def _list_text(items: list[Any], space: str, before: str = "", after: str = "") -> str:
    inner = ("," + space).join(_dump(t, space, False) for t in items)
    return '{"kind":' + space + '"List",' + before + '"items":[' + inner + "]" + after + "}"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_TREES, max_size=7),
    st.sampled_from(["", " ", "\n  "]),
    st.sampled_from([1, 2, 3]),
    st.sampled_from(["", '"a":1,', '"items":[{"a":1}],', '"x":{"items":[]},']),
    st.sampled_from(["", ',"b":":"', ',"items":[]', ',"items":7']),
)
def test_a_list_proved_in_chunks_gives_the_checking_decoders_value_or_gives_up(
    items: list[Any], space: str, chunk: int, before: str, after: str
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("netfence.parse.documents.PROOF_CHUNK", chunk)
        _same(_list_text(items, space, before, after))


def _nested(depth: int) -> str:
    """A container nested ``depth`` levels below the item that holds it."""
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("chunk", [1, 2, 10_000])
@pytest.mark.parametrize(
    "text",
    [
        # the items sit at depth 3: depth MAX_DEPTH is reached MAX_DEPTH - 3 levels below
        _list_text([{"a": 1}, ("obj", [("a", 1), ("a", 2)])], ""),
        '{"kind":"List","items":[{"a":1},{"b":2}],"items":[{"c":3}]}',
        '{"kind":"List","items":[{"a":1},{"b":2}],"items":[]}',
        '{"items":[{"a":1},{"b":2}],"kind":"List","kind":"List"}',
        '{"kind":"List","items":[{"a":' + _nested(MAX_DEPTH - 3) + "},{}]}",
        '{"kind":"List","items":[{"a":' + _nested(MAX_DEPTH - 2) + "},{}]}",
        '{"kind":"List","items":[{},' + _nested(MAX_DEPTH - 2) + "]}",
        '{"kind":"List","items":[{},' + _nested(MAX_DEPTH - 1) + "]}",
        '{"kind":"List","items":[{"a":123456789012345678901234567890},{}]}',
    ],
)
def test_chunked_edge_cases(text: str, chunk: int) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("netfence.parse.documents.PROOF_CHUNK", chunk)
        _same(text)


def test_the_chunked_proof_answers_for_a_long_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a correctness property: that the chunked proof is not dead code."""
    monkeypatch.setattr("netfence.parse.documents.PROOF_CHUNK", 2)
    items = [
        {"kind": "Pod", "metadata": {"name": f"p{i}", "labels": {"a": "b:c"}}} for i in range(5)
    ]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1)
    assert fast_json(text) == json.loads(text)
