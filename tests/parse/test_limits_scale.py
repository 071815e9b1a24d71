"""The bounds that keep memory per input byte bounded now that one input may be a
gigabyte (docs/limits.md): values of a JSON text, YAML bytes, objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netfence.errors import InvalidInputError
from netfence.io.manifests import load_manifests
from netfence.parse import limits
from netfence.parse.documents import parse_documents


def _pods(count: int) -> list[dict[str, object]]:
    return [{"kind": "Pod", "metadata": {"name": f"p{i}"}} for i in range(count)]


def _messages(exc: pytest.ExceptionInfo[InvalidInputError]) -> list[str]:
    return [d.format() for d in exc.value.diagnostics]


def test_a_json_text_with_too_many_values_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("netfence.parse.documents.MAX_JSON_VALUES", 10)
    text = json.dumps({"kind": "List", "items": [[]] * 12})  # 13 lists, 1 object, 11 commas
    assert len(text) > 2 * 10
    with pytest.raises(InvalidInputError) as exc:
        parse_documents(text, "big.json")
    assert _messages(exc) == [
        "big.json: doc 1: more than 10 values in one JSON text (counted from its commas "
        "and brackets; docs/limits.md)"
    ]


def test_a_short_json_text_is_not_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer than two characters per value are impossible: nothing to count."""
    monkeypatch.setattr("netfence.parse.documents.MAX_JSON_VALUES", 10)
    text = '{"kind":"Pod"}'
    assert len(text) <= 20
    assert [d.obj for d in parse_documents(text, "x.json")] == [{"kind": "Pod"}]


def test_the_value_count_is_an_upper_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A text of exactly the bound passes; commas in strings only count more."""
    text = json.dumps({"kind": "List", "items": _pods(3)}, separators=(",", ":"))
    values = text.count(",") + text.count("{") + text.count("[") + 1
    monkeypatch.setattr("netfence.parse.documents.MAX_JSON_VALUES", len(text) // 2 - 1)
    assert values <= len(text) // 2 - 1
    assert len(parse_documents(text, "x.json")) == 3


def test_yaml_past_its_own_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "kind: Pod\nmetadata: {name: p}\n"
    monkeypatch.setattr("netfence.parse.documents.MAX_YAML_BYTES", len(text) - 1)
    with pytest.raises(InvalidInputError) as exc:
        parse_documents(text, "big.yaml")
    assert _messages(exc)[0].startswith("big.yaml: YAML larger than 0 MiB: give a cluster")
    monkeypatch.setattr("netfence.parse.documents.MAX_YAML_BYTES", len(text))
    assert len(parse_documents(text, "ok.yaml")) == 1


def test_objects_of_one_file_are_bounded_before_they_are_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("netfence.parse.documents.MAX_OBJECTS", 3)
    ok = json.dumps({"kind": "List", "items": _pods(3)})
    assert len(parse_documents(ok, "ok.json")) == 3
    nested = json.dumps({"kind": "List", "items": [{"kind": "List", "items": _pods(3)}]})
    with pytest.raises(InvalidInputError) as exc:
        parse_documents(nested, "nested.json")
    assert _messages(exc) == [
        "nested.json: doc 1: items[0]: more than 3 objects in one command (docs/limits.md)"
    ]
    many = "---\n".join(f"kind: Pod\nmetadata: {{name: p{i}}}\n" for i in range(4))
    with pytest.raises(InvalidInputError) as exc:
        parse_documents(many, "many.yaml")
    assert _messages(exc) == [
        "many.yaml: doc 4: more than 3 objects in one command (docs/limits.md)"
    ]


def test_objects_of_all_files_together_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("netfence.io.manifests.MAX_OBJECTS", 5)
    for name in "abc":
        (tmp_path / f"{name}.json").write_text(json.dumps({"kind": "List", "items": _pods(2)}))
    with pytest.raises(InvalidInputError) as exc:
        load_manifests([str(tmp_path)])
    assert _messages(exc) == [
        f"{tmp_path / 'c.json'}: more than 5 objects in one command (docs/limits.md)"
    ]


def test_the_bounds_leave_room_for_500k_pods() -> None:
    """The benchmark's largest cluster (bench/load.py, 500k pods / 50k policies):
    about 510 MB of JSON, 27 million values, 700,000 objects."""
    assert limits.MAX_FILE_BYTES >= 600 * limits.MIB
    assert limits.MAX_JSON_VALUES >= 30_000_000
    assert limits.MAX_OBJECTS >= 1_000_000
