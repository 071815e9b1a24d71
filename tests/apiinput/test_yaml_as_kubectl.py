"""YAML read as kubectl reads it: go-yaml v2 (YAML 1.1) under sigs.k8s.io/yaml, then JSON."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from tests.conftest import run_cli

from netfence.errors import InvalidInputError
from netfence.parse.documents import parse_documents


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        # booleans: YAML 1.1's set, y/Y/n/N included (go-yaml v2 resolves them; PyYAML does not)
        ("y", True), ("Y", True), ("yes", True), ("On", True), ("TRUE", True),
        ("n", False), ("N", False), ("no", False), ("OFF", False), ("False", False),
        # integers: Go's ParseInt with base 0, underscores removed; no base 60
        ("0o17", 15), ("017", 15), ("0x1F", 31), ("0b101", 5), ("-0x10", -16), ("1_000", 1000),
        ("1:30", "1:30"), ("190:20:30", "190:20:30"),
        ("18446744073709551615", 18446744073709551615),
        # floats: no dot needed, the exponent's sign optional; "08" is no octal: a float
        ("1e3", 1000.0), ("1.0e3", 1000.0), ("08", 8.0), (".5", 0.5), ("1.", 1.0),
        ("18446744073709551616", 1.8446744073709552e19),
        # strings
        ("2024-01-01", "2024-01-01"), ("=", "="), ("0x", "0x"), ("1e", "1e"), ("yes please", "yes please"),
        # null
        ("~", None), ("null", None), ("", None),
    ],
)  # fmt: skip
def test_plain_scalars_resolve_as_go_yaml_v2_resolves_them(plain: str, expected: object) -> None:
    (doc,) = parse_documents(f"x: {plain}\n", "in.yaml")
    value = doc.obj["x"]
    assert value == expected and type(value) is type(expected), (plain, value)


def test_infinities_and_nan() -> None:
    (doc,) = parse_documents("a: .inf\nb: -.Inf\nc: .NaN\n", "in.yaml")
    assert doc.obj["a"] == math.inf and doc.obj["b"] == -math.inf and math.isnan(doc.obj["c"])


def test_explicit_tags_follow_the_same_rules() -> None:
    (doc,) = parse_documents("a: !!bool y\nb: !!int 0o17\nc: !!float 1e3\nd: !!str y\n", "in.yaml")
    assert doc.obj == {"a": True, "b": 15, "c": 1000.0, "d": "y"}


def test_keys_become_text_as_json_needs() -> None:
    (doc,) = parse_documents("x: {on: 1, 80: a, 1.5: b, n: c, 0x10: d}\n", "in.yaml")
    assert doc.obj["x"] == {"true": 1, "80": "a", "1.5": "b", "false": "c", "16": "d"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x: {~: 1}\n", "x: invalid YAML at line 1, column 5: a mapping key must not be null"),
        (
            "x: {y: 1, 'true': 2}\n",
            'x.true: invalid YAML at line 1, column 11: duplicate key "true"',
        ),
    ],
)
def test_keys_that_json_cannot_hold_are_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_documents(text, "in.yaml")
    assert f"in.yaml: doc 1: {message}" == str(info.value)


def test_merge_keys_merge_in_a_manifest() -> None:
    text = (
        "apiVersion: v1\nkind: List\nitems:\n"
        "- &pod {apiVersion: v1, kind: Pod, metadata: {name: a, labels: {app: web}}}\n"
        "- {<<: *pod, metadata: {name: b}}\n"
    )
    a, b = parse_documents(text, "in.yaml")
    assert b.obj == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}}
    assert a.obj["metadata"]["labels"] == {"app": "web"}


def test_a_label_value_y_is_a_boolean_and_refused_as_the_api_server_would(tmp_path: Path) -> None:
    """kubectl sends {"app": true}: the API server refuses a label that is not a
    string. Read as the string "y", the pod would be selected by app=y."""
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: web, labels: {app: y}}\n"
        "spec: {containers: [{name: c, image: i}]}\n"
    )
    run = run_cli("matrix", "-f", "pod.yaml", cwd=tmp_path)
    assert run.code == 2
    assert "pod.yaml: doc 1: Pod web/p: metadata.labels.app: expected a string, got boolean" in (
        run.err
    )


def test_yaml_netfence_writes_reads_back_as_written() -> None:
    """PyYAML's dumper leaves y, 1e3, 0o17 and 08 unquoted (strings by its rules,
    not by kubectl's); the lab's policy files are written with KubectlDumper."""
    import yaml

    from netfence.parse.documents import KubectlDumper

    value = {
        "kind": "NetworkPolicy",
        "strings": ["y", "N", "yes", "1e3", "0o17", "08", "1:30", "=", "<<", "", "2024-01-01"],
        "other": [80, 1.5, True, None],
        "y": "n",
    }
    assert [d.obj for d in parse_documents(yaml.safe_dump(value), "in.yaml")] != [value]
    text = yaml.dump(value, Dumper=KubectlDumper)
    assert [d.obj for d in parse_documents(text, "in.yaml")] == [value]
