"""script_json (a few str.replace passes) equals the obvious per-character escaping
of the same JSON, on any text, including the characters it must escape."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from netfence.render.report import _SCRIPT_UNSAFE, script_json

RISKY = st.sampled_from(["<", ">", "&", "</script>", "<!--", "\u2028", "\u2029", "é", "\\"])
TEXT = st.lists(st.one_of(st.text(max_size=8), RISKY), max_size=8).map("".join)
VALUES = st.recursive(
    st.one_of(TEXT, st.integers(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=20,
)


def per_character(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return "".join(_SCRIPT_UNSAFE.get(c, c) for c in text)


@given(VALUES)
def test_script_json_equals_per_character_escaping(value: Any) -> None:
    text = script_json(value)
    assert text == per_character(value)
    assert json.loads(text) == json.loads(json.dumps(value))
