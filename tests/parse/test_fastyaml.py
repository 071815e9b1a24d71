"""The event-stream YAML builder gives exactly what PyYAML's loader gives (with the same
resolvers), keys made text as JSON needs them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.parse.documents import _Loader
from netfence.parse.fastyaml import load_all

ROOT = Path(__file__).resolve().parents[2]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "yes",
            "no",
            "on",
            "Off",
            "~",
            "null",
            "0x1F",
            "017",
            "0o17",
            "1_000",
            "1:30",
            ".inf",
            "2024-01-01",
            "8080",
            "<<",
            "",
            "a: b",
            "- x",
        ]
    ),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.integers(0, 99), st.booleans()), children, max_size=4
        ),
    ),
    max_leaves=25,
)


class _Collision(Exception):
    pass


def json_keys(value: object) -> object:
    """PyYAML's result with keys as kubectl's YAML library writes them (JSON keys
    are strings: ``True`` is "true", ``1`` is "1"); two keys that become one text
    raise _Collision (the builder refuses them as a duplicate key)."""
    if isinstance(value, list):
        return [json_keys(v) for v in value]
    if isinstance(value, dict):
        out: dict[object, object] = {}
        for key, item in value.items():
            text = _key_text(key)
            if text in out:
                raise _Collision
            out[text] = json_keys(item)
        return out
    return value


def _key_text(key: object) -> object:
    text = ("true" if key else "false") if isinstance(key, bool) else key
    text = str(text) if isinstance(text, int) else text
    if isinstance(text, float):  # as the builder writes them; the repository has 1.5
        text = str(int(text)) if text.is_integer() and abs(text) < 1e21 else repr(text)
    return text


def colliding_keys(text: str) -> bool:
    """Whether a mapping of the text has two keys that become one text. PyYAML
    keeps the last of two keys it reads as equal (``Y`` and ``true`` are both
    true) without a word, so json_keys cannot see those: the nodes are looked at."""
    loader = _Loader(text)
    try:
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
        while nodes:
            node = nodes.pop()
            if isinstance(node, yaml.MappingNode):
                keys = [_key_text(loader.construct_object(k, deep=True)) for k, _ in node.value]
                if len(set(map(repr, keys))) != len(keys):
                    return True
                nodes.extend(n for pair in node.value for n in pair)
            elif isinstance(node, yaml.SequenceNode):
                nodes.extend(node.value)
    finally:
        loader.dispose()
    return False


def same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(
    st.lists(documents, min_size=1, max_size=3),
    st.sampled_from([None, True, False]),
    st.sampled_from([None, "'", '"']),
)
def test_dumped_documents_load_identically(
    docs: list[object], flow: bool | None, style: str | None
) -> None:
    text = yaml.dump_all(
        docs,
        Dumper=yaml.SafeDumper,
        default_flow_style=flow,
        default_style=style,
        allow_unicode=True,
    )
    try:
        if colliding_keys(text):
            raise _Collision
        expected = json_keys(list(yaml.load_all(text, Loader=_Loader)))
    except _Collision:
        with pytest.raises(yaml.YAMLError, match="duplicate key"):
            list(load_all(text, _Loader, string_keys=True))
        return
    assert same(list(load_all(text, _Loader, string_keys=True)), expected)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1, 2]\nb: *x\n",
        "a: &x {b: 1}\nc:\n  <<: *x\n  d: 2\n",
        "a: !!int '3'\nb: !!str 4\n",
        "---\n---\na: 1\n...\n",
        "key: |\n  line\n  line\nother: >\n  folded\n",
        "- !custom x\n",
        "a: .nan\n",
        "? complex\n: value\n",
    ],
    ids=[
        "anchors",
        "merge",
        "tags",
        "empty-docs",
        "block-scalars",
        "unknown-tag",
        "nan",
        "explicit-key",
    ],
)
def test_yaml_features(text: str) -> None:
    try:
        expected = json_keys(list(yaml.load_all(text, Loader=_Loader)))
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            list(load_all(text, _Loader, string_keys=True))
        return
    assert same(list(load_all(text, _Loader, string_keys=True)), expected)


@pytest.mark.parametrize(
    "path",
    sorted(
        p for p in ROOT.glob("**/*.yaml") if not any(part.startswith(".venv") for part in p.parts)
    ),
    ids=str,
)
def test_every_yaml_file_in_the_repository(path: Path) -> None:
    text = path.read_text()
    try:
        if colliding_keys(text):
            raise _Collision
        expected = json_keys(list(yaml.load_all(text, Loader=_Loader)))
    except _Collision:
        with pytest.raises(yaml.YAMLError, match="duplicate key"):
            list(load_all(text, _Loader, string_keys=True))
        return
    assert same(list(load_all(text, _Loader, string_keys=True)), expected)


_PLAIN = st.one_of(
    st.text(alphabet="01789abefxoOnNyYtTlLsu_.:+-=<~e ", max_size=8),
    st.text(max_size=6),
    st.sampled_from(
        [
            "yes",
            "Yes",
            "n",
            "N",
            "on",
            "OFF",
            "~",
            "null",
            "Null",
            "0x1F",
            "0o17",
            "017",
            "0b101",
            "1_000",
            "1:30",
            ".inf",
            "-.Inf",
            ".NaN",
            "1e3",
            "1E+3",
            "<<",
            "=",
            "",
            "10.244.0.2",
            "2024-01-01",
            "9" * 30,
            "-0",
            "+1",
            "0_",
            "0x",
            ".5",
            "1.",
            "_1",
        ]
    ),
)


@settings(max_examples=500, deadline=None)
@given(_PLAIN)
def test_plain_scalars_resolve_as_the_loader_resolves_them(text: str) -> None:
    """The builder's own resolution against a loader's (resolve_by_loader)."""
    from netfence.parse.fastyaml import YAMLProblem, _Builder

    builder = _Builder(_Loader, string_keys=True)
    event = yaml.ScalarEvent(None, None, (True, False), text, yaml.Mark("x", 0, 0, 0, "", 0))
    outcomes = []
    for resolve in (builder._resolve, builder.resolve_by_loader):
        try:
            outcomes.append(("value", resolve(text, event)))
        except YAMLProblem as exc:
            outcomes.append(("error", str(exc)))
    (kind_a, a), (kind_b, b) = outcomes
    assert kind_a == kind_b and (same(a, b) or a is b), text
