"""An object with an error is reported, left out, and said where the answer is
printed; the analysis goes on without it and the command exits 2 (issue 9: "An
invalid object is reported and, in analysis, left out with a notice")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import run_cli

MANIFESTS = """
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: x, labels: {app: a}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: x, labels: {app: b}}
spec: {containers: [{name: c, ports: [{containerPort: 80, protocol: tcp}]}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: x, labels: {app: c}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {podIP: 10.0.0.3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-c, namespace: x}
spec:
  podSelector: {matchLabels: {app: c}}
  ingress: [{ports: [{port: 80, endPort: 70}]}]
"""
ERROR_POD = 'Pod x/b: spec.containers[0].ports[0].protocol: Unsupported value: "tcp"'
ERROR_POLICY = "NetworkPolicy x/deny-c: spec.ingress[0].ports[0].endPort"
LEFT_OUT = "left out: Pod x/b ("


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MANIFESTS)
    return path


@pytest.mark.parametrize(
    ("args", "answer"),
    [
        (("check", "x/a", "x/c", "--port", "80"), "ALLOWED (uncertain: partial input"),
        (("matrix", "--port", "80"), "x/a"),
        (("matrix", "--summary"), "pod pairs"),
        (("lint",), ""),
    ],
)
def test_the_answer_is_printed_without_the_invalid_objects_and_says_so(
    manifests: Path, args: tuple[str, ...], answer: str
) -> None:
    run = run_cli(*args, "-f", str(manifests))
    assert run.code == 2, run.err
    assert ERROR_POD in run.err and ERROR_POLICY in run.err
    assert answer in run.out
    assert "PARTIAL INPUT" in run.out and LEFT_OUT in run.out
    assert "left out: NetworkPolicy x/deny-c (" in run.out
    assert "Traceback" not in run.err


def test_json_lists_the_objects_left_out(manifests: Path) -> None:
    run = run_cli("check", "x/a", "x/c", "--port", "80", "-f", str(manifests), "-o", "json")
    assert run.code == 2
    data = json.loads(run.out)
    assert data["input"]["complete"] is False
    invalid = {(i["kind"], i["namespace"], i["name"]) for i in data["input"]["invalid"]}
    assert invalid == {("Pod", "x", "b"), ("NetworkPolicy", "x", "deny-c")}
    assert all(i["source"]["file"] == str(manifests) for i in data["input"]["invalid"])


def test_a_target_that_was_left_out_is_not_found_next_to_its_errors(manifests: Path) -> None:
    run = run_cli("check", "x/a", "x/b", "--port", "80", "-f", str(manifests))
    assert run.code == 2
    assert ERROR_POD in run.err and "x/b" in run.err.splitlines()[-1]


def test_expectations_run_without_the_invalid_objects(manifests: Path, tmp_path: Path) -> None:
    expectations = tmp_path / "e.yaml"
    expectations.write_text("- {from: x/a, to: x/c, port: 80, allowed: true}\n")
    run = run_cli("test", str(expectations), "-f", str(manifests))
    assert run.code == 2
    assert "1 passed" in run.out and LEFT_OUT in run.out


def test_diff_goes_on_and_exits_2(manifests: Path, tmp_path: Path) -> None:
    change = tmp_path / "deny.yaml"
    change.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: deny, namespace: x}\nspec: {podSelector: {matchLabels: {app: a}}}\n"
    )
    run = run_cli("diff", "-f", str(manifests), "--apply", str(change))
    assert run.code == 2, run.err
    assert "lost (1):" in run.out and LEFT_OUT in run.out


def test_a_valid_input_is_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(MANIFESTS.split("---")[0])
    run = run_cli("matrix", "--port", "80", "-f", str(path))
    assert run.code == 0 and "PARTIAL INPUT" not in run.out and "error" not in run.err


def test_the_lab_refuses_an_input_with_errors(manifests: Path) -> None:
    """A lab is built from exactly what was given: the loader stops there."""
    from netfence.cli.common import load
    from netfence.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as raised:
        load([str(manifests)], [], None, leave_out_invalid=False)
    assert any(ERROR_POD in d.format() for d in raised.value.diagnostics)
