"""--kustomize-engine: -k built by an installed kustomize instead of netfence's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.conftest import run_cli

FIXTURE = Path(__file__).parent.parent / "fixtures" / "online-boutique"
needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")


@needs_kubectl
def test_kubectl_engine_gives_the_builtin_matrix() -> None:
    builtin = run_cli("matrix", "-k", str(FIXTURE), "-o", "json")
    kubectl = run_cli("matrix", "-k", str(FIXTURE), "-o", "json", "--kustomize-engine", "kubectl")
    assert builtin.code == kubectl.code == 0, kubectl.err
    assert kubectl.out == builtin.out
    assert '"state": "no"' in kubectl.out  # the policies were read: denied cells exist


@needs_kubectl
def test_kubectl_engine_failure_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [nope.yaml]\n")
    run = run_cli("check", "-k", str(tmp_path), "--kustomize-engine", "kubectl", "a/b", "c/d")
    assert run.code == 2
    assert f"error: kubectl kustomize {tmp_path}: kubectl failed: " in run.err
    assert "nope.yaml" in run.err


def test_missing_engine_is_an_environment_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed
    run = run_cli("validate", "-k", str(FIXTURE), "--kustomize-engine", "kustomize")
    assert run.code == 3
    assert run.err.strip() == (
        "error: --kustomize-engine kustomize: kustomize is not on PATH (the builtin engine "
        "needs nothing installed)"
    )
