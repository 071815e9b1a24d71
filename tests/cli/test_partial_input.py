"""The rule: an answer computed from a partial input says so where it is printed
(text, JSON, SARIF, HTML), and --strict-input makes the exit code fail (4).

Each command runs twice through the real command line: on a complete input (no
block, no ``input`` object, exit code unchanged by --strict-input) and with
``other-kinds.yaml`` added (a CiliumNetworkPolicy, a Calico GlobalNetworkPolicy
and a kind netfence does not know).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import run_cli

HERE = Path(__file__).resolve().parent / "partial"
COMPLETE = ["-f", "cluster.yaml"]
PARTIAL = [*COMPLETE, "-f", "other-kinds.yaml"]
# what the PARTIAL INPUT block, the JSON "input" object and the SARIF notifications name
NAMED = (
    "CiliumNetworkPolicy ui/web-egress",
    "GlobalNetworkPolicy default-deny",
    "Widget (example.com/v1)",
)


def _run(*args: str) -> Any:
    return run_cli(*args, cwd=HERE)


def _text_block(out: str) -> str:
    assert "PARTIAL INPUT: this answer was computed without the following" in out, out
    return out.split("PARTIAL INPUT:")[1]


def _json_input(out: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(out)["input"]
    assert data["complete"] is False
    assert {(p["kind"], p["cluster_wide"]) for p in data["not_evaluated"]} == {
        ("CiliumNetworkPolicy", False),
        ("GlobalNetworkPolicy", True),
    }
    assert [(s["kind"], s["count"]) for s in data["skipped"]] == [("Widget", 1)]
    assert [s["kind"] for s in data["ignored"]] == ["ConfigMap"]  # cannot change a verdict
    return data


def _sarif_notes(out: str) -> str:
    run = json.loads(out)["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert {n["level"] for n in notes} == {"warning"}
    return "\n".join(n["message"]["text"] for n in notes)


# (command and its arguments, output format, exit code on a complete input)
CASES: list[tuple[list[str], str, int]] = [
    (["check", "ui/web", "db/pg", "-p", "5432"], "text", 0),
    (["check", "ui/web", "db/pg", "-p", "5432", "-o", "json"], "json", 0),
    (["check", "db/pg", "ui/web", "-p", "8080", "-o", "json"], "json", 0),
    (["test", "expectations.yaml"], "text", 0),
    (["test", "expectations.yaml", "-o", "json"], "json", 0),
    (["matrix"], "text", 0),
    (["matrix", "-o", "json"], "json", 0),
    (["matrix", "-o", "dot"], "text", 0),
    (["matrix", "--summary"], "text", 0),
    (["matrix", "--summary", "-o", "json"], "json", 0),
    (["diff", "--apply", "deny-ui-egress.yaml"], "text", 0),
    (["diff", "--apply", "deny-ui-egress.yaml", "-o", "json"], "json", 0),
    (["lint"], "text", 0),
    (["lint", "-o", "json"], "json", 0),
    (["lint", "-o", "sarif"], "sarif", 0),
    (["validate"], "text", 0),
    (["validate", "-o", "json"], "json", 0),
]


@pytest.mark.parametrize(("args", "fmt", "code"), CASES, ids=lambda v: str(v))
def test_partial_input_is_said_beside_the_answer(args: list[str], fmt: str, code: int) -> None:
    result = _run(*args, *PARTIAL)
    assert result.code == code, result.err
    if fmt == "text":
        block = _text_block(result.out)
        for name in NAMED:
            assert name in block
        assert "ConfigMap" not in block  # inert kinds do not make an input partial
    elif fmt == "json":
        text = "\n".join(_json_input(result.out)["messages"])
        assert all(name in text for name in NAMED)
    else:
        text = _sarif_notes(result.out)
        assert all(name in text for name in NAMED)
    strict = _run(*args, *PARTIAL, "--strict-input")
    assert strict.code == 4, strict.err
    assert strict.out == result.out


@pytest.mark.parametrize(("args", "fmt", "code"), CASES, ids=lambda v: str(v))
def test_a_complete_input_prints_no_partial_block(args: list[str], fmt: str, code: int) -> None:
    result = _run(*args, *COMPLETE, "--strict-input")
    assert result.code == code, result.err
    assert "PARTIAL INPUT" not in result.out
    assert "may also be decided" not in result.out
    if fmt == "json":
        assert "input" not in json.loads(result.out)
    if fmt == "sarif":
        invocations = json.loads(result.out)["runs"][0].get("invocations", [])
        notes = [n for i in invocations for n in i["toolExecutionNotifications"]]
        assert all(n["descriptor"]["id"] != "partial-input" for n in notes)


def test_check_names_the_policies_that_may_also_decide_it() -> None:
    """A namespaced kind is named by verdicts involving a pod of its namespace; a
    cluster-wide kind by every verdict."""
    both = _run("check", "ui/web", "db/pg", "-p", "5432", *PARTIAL)
    assert both.out.splitlines()[:3] == [
        "pod ui/web -> db/pg port 5432/TCP: ALLOWED (uncertain: 2 policies not evaluated)",
        "  may also be decided by CiliumNetworkPolicy ui/web-egress (not evaluated)",
        "  may also be decided by GlobalNetworkPolicy default-deny (not evaluated)",
    ]
    only_global = _run("check", "db/pg", "10.0.0.1", "-p", "80", "-o", "json", *PARTIAL)
    data = json.loads(only_global.out)
    assert data["may_also_be_decided_by"] == ["GlobalNetworkPolicy default-deny"]
    matrix = json.loads(_run("matrix", "-o", "json", *PARTIAL).out)
    decided = {(c["from"], c["to"]): c["may_also_be_decided_by"] for c in matrix["cells"]}
    assert decided[("db/pg", "db/pg")] == ["GlobalNetworkPolicy default-deny"]
    assert decided[("db/pg", "ui/web")] == [
        "CiliumNetworkPolicy ui/web-egress",
        "GlobalNetworkPolicy default-deny",
    ]


def test_test_names_other_policies_under_a_passing_expectation() -> None:
    result = _run("test", "expectations.yaml", *PARTIAL)
    lines = result.out.splitlines()
    assert lines[0].startswith("PASS [0] ui/web -> db/pg 5432/TCP")
    assert (
        lines[1] == "    may also be decided by CiliumNetworkPolicy ui/web-egress (not evaluated)"
    )


def test_report_shows_a_banner(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = _run("report", "-o", str(page), *PARTIAL)
    assert result.code == 0, result.err
    assert "PARTIAL INPUT" in result.out
    html = page.read_text()
    banner = html.split('<div class="partial" id="partial-input" role="alert">')[1]
    banner = banner.split("</div>")[0]
    for name in NAMED:
        assert name in banner
    assert _run("report", "-o", str(page), *PARTIAL, "--strict-input").code == 4
    complete = _run("report", "-o", str(page), *COMPLETE, "--strict-input")
    assert complete.code == 0, complete.err
    assert 'id="partial-input"' not in page.read_text()


def test_csv_keeps_its_data_and_says_partial_on_stderr() -> None:
    result = _run("matrix", "-o", "csv", *PARTIAL)
    assert "PARTIAL INPUT" not in result.out
    assert "PARTIAL INPUT" in result.err
    assert _run("matrix", "-o", "csv", *PARTIAL, "--strict-input").code == 4


def test_strict_input_takes_precedence_over_a_failed_answer() -> None:
    denied = ["check", "ui/web", "db/pg", "-p", "9999"]
    assert _run(*denied, *PARTIAL).code == 1
    assert _run(*denied, *PARTIAL, "--strict-input").code == 4
    assert _run(*denied, *COMPLETE, "--strict-input").code == 1


def test_a_kustomize_field_not_applied_makes_the_input_partial(tmp_path: Path) -> None:
    """kustomize's fields are applied (docs/kustomize.md) except a patch's options
    allowNameChange/allowKindChange, which are read and said to be not applied."""
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [cluster.yaml]\n"
        "patches:\n"
        "- target: {kind: Namespace}\n"
        "  options: {allowKindChange: true}\n"
        '  patch: "[{op: add, path: /metadata/annotations, value: {x: y}}]"\n'
    )
    (tmp_path / "cluster.yaml").write_text((HERE / "cluster.yaml").read_text())
    result = run_cli("validate", "-k", ".", "--strict-input", cwd=tmp_path)
    assert result.code == 4, result.err
    block = _text_block(result.out)
    assert "not applied: kustomization.yaml: doc 1: patches[0].options.allowKindChange" in block


def test_diff_and_report_cells_name_the_policies_that_may_also_decide_them(
    tmp_path: Path,
) -> None:
    diff = _run("diff", "--apply", "deny-ui-egress.yaml", "-o", "json", *PARTIAL)
    (change,) = json.loads(diff.out)["changes"]
    assert change["may_also_be_decided_by"] == [
        "CiliumNetworkPolicy ui/web-egress",
        "GlobalNetworkPolicy default-deny",
    ]
    page = tmp_path / "report.html"
    _run("report", "-o", str(page), *PARTIAL)
    assert "may also be decided by CiliumNetworkPolicy ui/web-egress" in page.read_text()


def test_the_verdict_line_says_uncertain_when_only_a_kind_was_skipped(tmp_path: Path) -> None:
    (tmp_path / "widget.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: db}\n"
    )
    result = _run("check", "ui/web", "db/pg", "-p", "5432", *COMPLETE, "-f", str(tmp_path))
    assert result.out.splitlines()[0] == (
        "pod ui/web -> db/pg port 5432/TCP: ALLOWED (uncertain: partial input, see below)"
    )
    assert "Widget (example.com/v1)" in _text_block(result.out)


def test_validate_counts_the_policies_it_does_not_evaluate() -> None:
    first = _run("validate", *PARTIAL).out.splitlines()[0]
    assert first.endswith(
        "; skipped 1 ConfigMap, 1 Widget; 2 policies of other kinds, not evaluated"
    )
