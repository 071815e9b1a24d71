"""netfence explain-flows through the real entry point: golden text and JSON, the
order (disagreements first), exit codes, located errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, assert_golden, run_cli

CLUSTER = "src/netfence/scenarios/eks-retail"
FINAL = ["-k", f"{CLUSTER}/cluster", "-f", f"{CLUSTER}/policies/default-deny.yaml", "-n", "ui",
         "-f", f"{CLUSTER}/policies/allow-ui-egress.yaml"]  # fmt: skip
DRIFT = "tests/fixtures/flows/drift.netfence.jsonl"


def test_golden_text_disagreements_first() -> None:
    result = run_cli("explain-flows", DRIFT, *FINAL, cwd=ROOT)
    assert result.code == 1, result.err  # two flows disagree
    assert_golden("explain-flows-drift.txt", result.out)
    disagree = result.out.index("DISAGREE (2)")
    assert disagree < result.out.index("ui/deployment/ui -> catalog/deployment/catalog")


def test_json() -> None:
    result = run_cli("explain-flows", DRIFT, *FINAL, "-o", "json", cwd=ROOT)
    assert result.code == 1
    data = json.loads(result.out)
    assert data["counts"] == {
        "disagrees": 2,
        "agrees": 3,
        "not-logged": 0,
        "ambiguous": 2,
        "reply": 1,
    }
    first = data["flows"][0]
    engine = data["decisions"][first["engine"]]
    assert (first["where"], first["status"], engine["allowed"]) == (
        f"{DRIFT}:1",
        "disagrees",
        True,
    )
    reused = next(f for f in data["flows"] if f["where"] == f"{DRIFT}:5")
    assert reused["src"]["ambiguity"] == "reused" and reused["engine"] is None
    assert_golden("explain-flows-drift.json", result.out)


def test_agreeing_flows_exit_0_and_strict_input_counts_unattributed(tmp_path: Path) -> None:
    lines = (ROOT / DRIFT).read_text().splitlines()
    agreeing = tmp_path / "ok.jsonl"
    agreeing.write_text("\n".join(lines[1:2] + lines[3:4] + lines[5:6]) + "\n")
    assert run_cli("explain-flows", str(agreeing), *FINAL, cwd=ROOT).code == 0
    assert run_cli("explain-flows", str(agreeing), *FINAL, "--strict-input", cwd=ROOT).code == 4


def test_bad_lines_exit_2_located(tmp_path: Path) -> None:
    bad = tmp_path / "bad.log"
    bad.write_text(
        "2 123456789012 eni-1 10.244.0.11 10.244.0.3 40000 8080 6 5 620 1795600800 1795600860 ACCEPT OK\n"
        "2 123456789012 eni-1 10.244.0.11 10.244.0.300 40000 8080 6 5 620 1795600800 1795600860 ACCEPT OK\n"
    )
    result = run_cli("explain-flows", str(bad), *FINAL, cwd=ROOT)
    assert result.code == 2
    assert f"error: {bad}:2: dstaddr: not an IP address: '10.244.0.300'" in result.err
    assert "Traceback" not in result.err


def test_missing_file_and_forced_format(tmp_path: Path) -> None:
    assert run_cli("explain-flows", str(tmp_path / "none"), *FINAL, cwd=ROOT).code == 2
    forced = run_cli("explain-flows", DRIFT, "--format", "vpc", *FINAL, cwd=ROOT)
    assert forced.code == 2 and f"{DRIFT}:1: 35 fields, the format has 14" in forced.err
