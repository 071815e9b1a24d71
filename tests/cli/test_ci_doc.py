"""docs/ci.md's commands, run as written against the bundled EKS scenario laid out
as a policy repository (cluster/, policies/, expectations.yaml). The lab's commands
run in tests/lab/test_lab_verify.py (root only)."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "ci.md"
SCENARIO = ROOT / "src" / "netfence" / "scenarios" / "eks-retail"
SUDO = 'sudo env "PATH=$PATH" '


def _blocks(text: str, language: str) -> list[str]:
    parts = text.split(f"```{language}\n")[1:]
    return [part.split("```", 1)[0] for part in parts]


def ci_commands() -> list[str]:
    """The commands of the plain list (the bash block after the ci-commands marker)."""
    text = DOC.read_text().split("<!-- ci-commands", 1)[1]
    block = _blocks(text, "bash")[0]
    return [line for line in block.splitlines() if line.startswith("netfence ")]


def workflow_commands() -> list[str]:
    """The netfence commands of the GitHub Actions workflow, sudo's prefix dropped."""
    (block,) = _blocks(DOC.read_text(), "yaml")
    workflow = yaml.safe_load(block)
    runs = [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]
    return [r.removeprefix(SUDO) for r in runs if "netfence " in r and "pip install" not in r]


def policy_repository(directory: Path) -> Path:
    """The workshop's state (default-deny in ui + allow-ui-egress) as a repository."""
    shutil.copytree(SCENARIO / "cluster", directory / "cluster")
    (directory / "policies").mkdir()
    for name in ("default-deny.yaml", "allow-ui-egress.yaml"):
        shutil.copy(SCENARIO / "policies" / name, directory / "policies" / name)
    shutil.copy(SCENARIO / "expectations.yaml", directory / "expectations.yaml")
    return directory


def run_line(
    line: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``netfence ARGS [> FILE]`` with this interpreter, in ``cwd``."""
    words = shlex.split(line)
    assert words[0] == "netfence", line
    target = None
    if ">" in words:
        at = words.index(">")
        words, target = words[:at], words[at + 1]
    done = subprocess.run(
        [sys.executable, "-m", "netfence", *words[1:]],
        cwd=cwd, capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    if target is not None:
        (cwd / target).write_text(done.stdout)
    return done


def test_the_workflow_runs_the_listed_commands() -> None:
    listed = ci_commands()
    assert [c.split()[1] for c in listed[:3]] == ["validate", "lint", "test"]
    assert workflow_commands() == listed


def test_the_commands_before_the_lab_pass_on_the_workshop_repository(tmp_path: Path) -> None:
    repo = policy_repository(tmp_path)
    for line in ci_commands():
        if line.startswith("netfence lab "):
            continue
        done = run_line(line, repo)
        assert done.returncode == 0, (line, done.stdout, done.stderr)
    sarif = json.loads((repo / "netfence.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "netfence"
