"""render.json_text: the same text as json.dumps(data, indent=2), on any data."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.render.json_text import json_text

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)  # past 64 bits too
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()  # controls, non-ASCII, lone surrogates
    | st.text(alphabet=st.characters(max_codepoint=127))
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None)
@given(values)
def test_json_text_is_the_standard_encoders_text(data: object) -> None:
    assert json_text(data) == json.dumps(data, indent=2)


def test_ascii_data_without_floats_goes_through_orjson_unchanged() -> None:
    data = {"changes": [{"from": "a/b", "port": 80, "allowed": True, "why": None}] * 3}
    assert json_text(data) == json.dumps(data, indent=2)
    assert json_text({"k": "\u202e"}) == '{\n  "k": "\\u202e"\n}'  # escaped, as before
