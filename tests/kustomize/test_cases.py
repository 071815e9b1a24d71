"""The YAML case corpus (cases.yaml): kustomize's documented examples, built by
netfence's -k and compared object by object with kustomize's documented output."""

from __future__ import annotations

import shutil
import subprocess
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


# --- the same corpus through the real kustomize, when kubectl is installed ---

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl (with kustomize) not on PATH")


def kubectl_kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    assert KUBECTL is not None
    return subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )


@needs_kubectl
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_agrees_with_kubectl_kustomize(case: dict[str, Any], tmp_path: Path) -> None:
    """The corpus is kustomize's behaviour: kubectl's embedded kustomize prints the
    same objects (generated ConfigMaps and Secrets aside), or fails too."""
    for name, text in case["files"].items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    run = kubectl_kustomize(tmp_path / case.get("build", "."))
    if "error" in case:
        assert run.returncode != 0, run.stdout
        return
    assert run.returncode == 0, run.stderr
    got = [o for o in yaml.safe_load_all(run.stdout) if o]
    got = sorted((o for o in got if o["kind"] not in ("ConfigMap", "Secret")), key=_key)
    want = sorted((o for o in yaml.safe_load_all(case["output"]) if o), key=_key)
    assert got == want


@needs_kubectl
def test_online_boutique_builds_as_kubectl_kustomize_builds_it() -> None:
    fixture = Path(__file__).parent.parent / "fixtures" / "online-boutique"
    run = kubectl_kustomize(fixture)
    assert run.returncode == 0, run.stderr
    want = sorted((o for o in yaml.safe_load_all(run.stdout) if o), key=_key)
    got = sorted((d.obj for d in load_manifests([], [str(fixture)]).documents), key=_key)
    assert len(got) == 48
    assert got == want
