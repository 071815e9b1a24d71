"""A manifest file read from its bytes (parse_ascii_json) against the same file
decoded and parsed the usual way (parse_manifest_file), the oracle: whenever the
bytes route answers, its documents and notices are the very same; it gives up
(None) on whatever the usual way reads differently or refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench.synth import generate
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.parse.test_fast_json import _TREES, _dump

from netfence.errors import InvalidInputError
from netfence.io.manifests import load_manifests
from netfence.parse.documents import parse_ascii_json, parse_manifest_file

_SPACES = st.sampled_from(["", " ", "\n", "\t\r\n ", "\x1c", "\x1f ", "\x0b", "\ufeff", "\xa0"])
_TEMPLATES = st.sampled_from(["", "{{ .Values.x }}", "{{- x -}}", "{{\x1cx}}", "{{\x85x}}", "{{"])


def _same(text: str) -> bool:
    """Whether the bytes route answered; asserts that its answer is the usual one."""
    try:
        data = text.encode("utf-8", "surrogatepass")
    except UnicodeEncodeError:
        return False
    try:
        fast = parse_ascii_json(data, "x.json")
    except InvalidInputError as exc:
        with pytest.raises(InvalidInputError) as usual:
            parse_manifest_file(text, "x.json")
        assert usual.value.diagnostics == exc.diagnostics
        return True
    if fast is None:
        return False
    assert repr(fast) == repr(parse_manifest_file(text, "x.json")), text  # 1, 1.0, True differ
    return True


@settings(max_examples=400, deadline=None)
@given(
    st.lists(_TREES, max_size=4),
    _SPACES,
    st.sampled_from(["", " ", "\n  "]),
    _TEMPLATES,
    st.sampled_from(["List", "PodList", "Pod", ""]),
)
def test_the_bytes_route_gives_the_usual_answer_or_gives_up(
    items: list[Any], before: str, space: str, template: str, kind: str
) -> None:
    inner = ("," + space).join(_dump(t, space, False) for t in items)
    text = f'{before}{{"kind":{space}"{kind}","x":"{template}","items":[{inner}]}}'
    _same(text)


@pytest.mark.parametrize(
    "text",
    [
        "[1, 2]",
        "null",
        '"a"',
        "{}",
        '[{"kind": "Pod"}, 5]',
        '{"a": 1}',
        '{"kind": "Pod", "kind": "Pod"}',
        '{"kind": "List", "items": [1, {"kind": "Pod"}]}',
        '{"kind": "Pod", "metadata": {"name": "caf\\u00e9"}}',
        '{"kind": "Pod", "metadata": {"name": "café"}}',
        '{"kind": "Pod", "a": "\\u003a"}',
        '{"kind": "Pod", "a": "\\ud800"}',
        '\x1c{"kind": "Pod"}',
        '\ufeff{"kind": "Pod"}',
        'kind: Pod\nmetadata: {name: "{{ x }}"}',
        '{"kind": "Pod", "metadata": {"name": "{{ .Values.name }}"}}',
    ],
)
def test_edge_cases(text: str) -> None:
    _same(text)


def test_a_synthetic_cluster_is_read_from_its_bytes_alike(tmp_path: Path) -> None:
    objects = generate(200, 20, 3)
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=1)
    assert _same(text)  # not dead code: the bytes route answers for kubectl's output
    path = tmp_path / "cluster.json"
    path.write_text(text)
    read = load_manifests([str(path)])
    assert repr(read.documents) == repr(parse_manifest_file(text, str(path))[0])


@pytest.mark.parametrize("space", [" ", "\x1c", "-"])
def test_a_json_template_in_a_chart_is_still_refused(tmp_path: Path, space: str) -> None:
    """The usual way refuses a file with a ``{{ … }}`` action in a chart's templates/
    (io.manifests): the bytes route leaves such a file to it."""
    templates = tmp_path / "templates"
    templates.mkdir()
    path = templates / "pod.json"
    path.write_text('{"kind": "Pod", "metadata": {"name": "{{' + space + '.Values.n }}"}}')
    with pytest.raises(InvalidInputError, match="Helm template"):
        load_manifests([str(path)])
