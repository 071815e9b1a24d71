"""Items of Lists (nested too) against a plain recursive reading of kubectl's rule."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.errors import InvalidInputError
from netfence.parse.documents import parse_documents

_ITEMS = st.recursive(
    st.sampled_from([{"kind": "Pod"}, {"metadata": {"name": "a"}}, {"apiVersion": "v2"}, 5, "x"]),
    lambda inner: st.builds(
        lambda kind, items: {"kind": kind, "apiVersion": "v1", "items": items},
        st.sampled_from(["List", "PodList", "ServiceList"]),
        st.lists(inner, max_size=4),
    ),
    max_leaves=12,
)


def _expected(value: dict[str, Any], at: str, kind: str, version: object) -> list[Any]:
    """(where, object) of every item, depth first, or ("error", where) for a non-object."""
    out: list[Any] = []
    for i, item in enumerate(value["items"]):
        where = f"{at}items[{i}]"
        if not isinstance(item, dict):
            out.append(("error", where))
        elif "items" in item:
            out.extend(
                _expected(item, where + ".", item["kind"][: -len("List")], item["apiVersion"])
            )
        elif kind and "kind" not in item and "apiVersion" not in item:
            out.append((where, {"apiVersion": version, "kind": kind, **item}))
        else:
            out.append((where, item))
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(_ITEMS, max_size=5))
def test_nested_list_items_in_order_with_their_positions(items: list[Any]) -> None:
    expected = _expected({"items": items}, "", "", None)
    errors = [
        f"x.json: doc 1: {where}: expected an object, got "
        for tag, where in expected
        if tag == "error"
    ]
    try:
        documents = parse_documents(json.dumps({"kind": "List", "items": items}), "x.json")
    except InvalidInputError as exc:
        messages = [d.format() for d in exc.diagnostics]
        assert [m[: len(e)] for m, e in zip(messages, errors, strict=True)] == errors
        return
    assert not errors
    got = [(d.source.format().removeprefix("x.json: doc 1: "), d.obj) for d in documents]
    assert got == expected
