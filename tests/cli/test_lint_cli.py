"""netfence lint on the workshop: text golden, SARIF, exit codes."""

from __future__ import annotations

import json

from tests.conftest import WORKSHOP_FINAL, assert_golden, run_cli

FINAL = WORKSHOP_FINAL


def test_workshop_final_policies_only_get_posture_notices() -> None:
    result = run_cli("lint", *FINAL)
    assert result.code == 0, result.err
    assert_golden("lint-final.txt", result.out)
    assert "NF101" not in result.out and "warning:" not in result.out


def test_default_deny_alone_is_an_error_with_exit_1() -> None:
    result = run_cli("lint", "-k", "cluster", "-f", "policies/default-deny.yaml", "-n", "ui")
    assert result.code == 1
    assert (
        "policies/default-deny.yaml: doc 1: NetworkPolicy ui/default-deny: spec.policyTypes: NF101 error:"
        in result.out
    )
    assert (
        run_cli(
            "lint",
            "-k",
            "cluster",
            "-f",
            "policies/default-deny.yaml",
            "-n",
            "ui",
            "--fail-on",
            "never",
        ).code
        == 0
    )
    assert run_cli("lint", *FINAL, "--fail-on", "notice").code == 1


def test_sarif_is_2_1_0_with_rules_and_results() -> None:
    sarif = json.loads(
        run_cli(
            "lint", "-k", "cluster", "-f", "policies/default-deny.yaml", "-n", "ui", "-o", "sarif"
        ).out
    )
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [f"NF{n}" for n in (*range(101, 115), *range(201, 207))]
    error = next(r for r in run["results"] if r["ruleId"] == "NF101")
    assert error["level"] == "error" and rules[error["ruleIndex"]]["id"] == "NF101"
    assert (
        error["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "policies/default-deny.yaml"
    )
    assert (
        error["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        == "NetworkPolicy ui/default-deny: spec.policyTypes"
    )


def test_pre_commit_hooks_run_real_commands() -> None:
    from pathlib import Path

    import yaml

    hooks = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text()
    )
    assert {h["id"] for h in hooks} == {"netfence-lint", "netfence-test", "netfence-validate"}
    for hook in hooks:
        command = hook["entry"].split()[1]
        assert run_cli(command, "--help").code == 0, command
