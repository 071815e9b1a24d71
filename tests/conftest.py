"""Shared fixtures: the bundled scenario, a CLI runner through the real entry point,
and golden files (set NETFENCE_UPDATE_GOLDEN=1 to rewrite them)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "src" / "netfence" / "scenarios" / "eks-retail"
GOLDEN = Path(__file__).resolve().parent / "golden"


def _tested_netfence_is_this_checkout() -> None:
    """The tests must exercise this checkout's src/, never a copy installed
    elsewhere that could shadow it (and hide a missing install step)."""
    import netfence

    where = Path(netfence.__file__).resolve()
    if not where.is_relative_to(ROOT / "src"):
        raise RuntimeError(f"the tests import netfence from {where}, not from {ROOT / 'src'}")


_tested_netfence_is_this_checkout()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# SIGTERM (a CI timeout, `timeout`, `kill`) ends the session as Ctrl-C does, so
# every fixture's teardown and every `finally` still runs: a lab, a namespace or
# a server a test made is taken down, never left behind.
signal.signal(signal.SIGTERM, _interrupt)
# The workshop's final state, as arguments relative to the bundled scenario's directory.
WORKSHOP_FINAL = [
    "-k", "cluster", "-f", "policies/default-deny.yaml", "-n", "ui", "-f", "policies/allow-ui-egress.yaml",
]  # fmt: skip


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run_cli(*args: str, stdin: str | None = None, cwd: Path | None = None) -> Run:
    """Run ``python -m netfence ARGS`` as a user would, without colour."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    env.pop("NETFENCE_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "netfence", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or SCENARIO,
        timeout=60,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def kustomization_chain(root: Path, depth: int) -> Path:
    """``depth`` kustomizations each including the next, as sibling directories
    (``root/k0`` includes ``../k1`` …): a chain that deep without a directory tree
    that deep, which no recursive clean-up (pytest's included) could remove."""
    for i in range(depth):
        (root / f"k{i}").mkdir(parents=True)
        (root / f"k{i}" / "kustomization.yaml").write_text(f"resources: [../k{i + 1}]\n")
    (root / f"k{depth}").mkdir()
    (root / f"k{depth}" / "kustomization.yaml").write_text("resources: []\n")
    return root / "k0"


def assert_golden(name: str, text: str, directory: Path = GOLDEN) -> None:
    path = directory / name
    if os.environ.get("NETFENCE_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"golden file {path} missing: run with NETFENCE_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"output differs from {path}"


@pytest.fixture
def scenario() -> Path:
    return SCENARIO
