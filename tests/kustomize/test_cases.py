"""The YAML case corpus (cases.yaml): kustomize's documented examples, built by
netfence's -k and compared object by object with kustomize's documented output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from netfence.errors import InvalidInputError
from netfence.io.manifests import load_manifests

CASES = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text())


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any], tmp_path: Path) -> None:
    for name, text in case["files"].items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    directory = str(tmp_path / case.get("build", "."))
    if "error" in case:
        with pytest.raises(InvalidInputError) as info:
            load_manifests([], [directory])
        messages = [d.format() for d in info.value.diagnostics]
        assert len(messages) == len(case["error"]), messages  # one fragment for each error
        for fragments, message in zip(case["error"], messages, strict=True):
            for fragment in [fragments] if isinstance(fragments, str) else fragments:
                assert fragment in message
        return
    built = load_manifests([], [directory])
    got = sorted((d.obj for d in built.documents), key=_key)
    want = sorted((o for o in yaml.safe_load_all(case["output"]) if o), key=_key)
    assert got == want
