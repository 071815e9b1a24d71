"""netfence diff (what-if) on the workshop: DNS loss first, explained, CI exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import SCENARIO, assert_golden, run_cli

BASE = ["-k", "cluster", "-n", "ui"]


def test_default_deny_loses_dns_first_and_says_why() -> None:
    result = run_cli("diff", *BASE, "--apply", "policies/default-deny.yaml", "--fail-on-loss")
    assert result.code == 1, result.err
    assert_golden("diff-default-deny.txt", result.out)
    first = result.out.splitlines()[0]
    assert first.startswith("DNS LOST")
    assert (
        "ui/deployment/ui -> kube-system/deployment/coredns 53/UDP (2 pod pairs): now denied: egress of ui/ui-0 isolated by ui/default-deny"
        in result.out
    )


def test_allow_ui_egress_only_gains() -> None:
    result = run_cli(
        "diff",
        *BASE,
        "-f",
        "policies/default-deny.yaml",
        "--apply",
        "policies/allow-ui-egress.yaml",
        "--fail-on-loss",
        "-o",
        "json",
    )
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["lost"] == 0 and data["gained"] == 7
    catalog = next(c for c in data["changes"] if c["to"] == "catalog/deployment/catalog")
    assert catalog["reason"] == "ui/allow-ui-egress spec.egress[0].to[0]"
    assert catalog["before"]["allowed"] is False and catalog["after"]["allowed"] is True


def test_before_and_after_directories(tmp_path: Path) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    for directory in (before, after):
        shutil.copytree(SCENARIO / "cluster" / "app" / "catalog", directory)
        (directory / "kustomization.yaml").unlink()
    (after / "policy.yaml").write_text((SCENARIO / "policies" / "default-deny.yaml").read_text())
    args = ["-n", "catalog", "-o", "json"]
    data = json.loads(run_cli("diff", "--before", str(before), "--after", str(after), *args).out)
    assert data["gained"] == 0
    assert {(c["from"], c["to"], c["port"]) for c in data["changes"]} == {
        ("catalog/deployment/catalog", "catalog/statefulset/catalog-mysql", 3306),
        ("catalog/statefulset/catalog-mysql", "catalog/deployment/catalog", 8080),
    }
    back = json.loads(run_cli("diff", "--before", str(after), "--after", str(before), *args).out)
    assert back["lost"] == 0 and back["gained"] == 2
    same = run_cli("diff", "--before", str(before), "--after", str(before), "-n", "catalog")
    assert same.out.strip() == "no connection changes"


def test_usage_errors() -> None:
    assert run_cli("diff", *BASE).code == 2
    assert (
        "give --before DIR and --after DIR together" in run_cli("diff", "--before", "cluster").err
    )


def test_at_scale_gives_the_class_level_answer_with_dns_first() -> None:
    result = run_cli(
        "diff", *BASE, "--apply", "policies/default-deny.yaml", "--at-scale", "-o", "json"
    )
    data = json.loads(result.out)
    assert result.code == 0, result.err
    first = data["changes"][0]
    assert (
        first["dns"] and first["kind"] == "lost" and first["to"] == "kube-system/deployment/coredns"
    )
    assert first["ports"] == "all ports" and first["pairs"] == 2
    assert all(c["from"] == "ui/deployment/ui" and c["kind"] == "lost" for c in data["changes"])


def test_large_clusters_take_the_class_analysis(tmp_path: Path) -> None:
    """2,000 pods (over 400 workloads): the class analysis answers. Deleting one
    namespace's allow-same-namespace loses only that namespace's own connections."""
    from bench.synth import generate, write

    objects = generate(2000, 200, seed=7)
    deleted = next(
        o
        for o in objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "allow-same-namespace"
    )
    namespace = deleted["metadata"]["namespace"]
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    write(objects, tmp_path / "before" / "c.json", "json")
    write([o for o in objects if o is not deleted], tmp_path / "after" / "c.json", "json")
    args = [
        "--before",
        str(tmp_path / "before"),
        "--after",
        str(tmp_path / "after"),
        "--fail-on-loss",
        "-o",
        "json",
    ]
    result = run_cli("diff", *args)
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert data["lost"] > 100 and data["gained"] == 0
    assert all(
        c["from"].startswith(f"{namespace}/") and c["to"].startswith(f"{namespace}/")
        for c in data["changes"]
    )
    assert all(
        c["after"]["allowed"] is False and c["before"]["allowed"] is True for c in data["changes"]
    )


def test_where_the_class_analysis_cannot_judge_small_inputs_go_pod_pair_by_pair() -> None:
    """IPv6 is judged pod pair by pair, and a notice says why."""
    args = [*BASE, "--apply", "policies/default-deny.yaml", "--ip-family", "6", "-o", "json"]
    result = run_cli("diff", *args)
    assert result.code == 0, result.err
    assert (
        "notice: compared pod pair by pair: the class analysis judges IPv4 connections"
        in result.err
    )
    json.loads(result.out)


def test_past_400_workloads_states_with_other_pods_are_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    from bench.synth import generate, write

    objects = generate(2000, 200, seed=7)
    gone = next(o for o in objects if o["kind"] == "Pod")
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    write(objects, tmp_path / "before" / "c.json", "json")
    write([o for o in objects if o is not gone], tmp_path / "after" / "c.json", "json")
    result = run_cli(
        "diff", "--before", str(tmp_path / "before"), "--after", str(tmp_path / "after")
    )
    assert result.code == 2, result.err
    assert (
        "the class analysis cannot compare these states (pods, namespaces or services differ "
        "between the states)" in result.err
    )
    assert "more than the 400 compared pod pair by pair" in result.err
