"""The EKS workshop "Egress control" results, through the real command line."""

from __future__ import annotations

import json

import pytest
from tests.conftest import WORKSHOP_FINAL, assert_golden, run_cli

CLUSTER = ["-k", "cluster"]
DENY = ["-f", "policies/default-deny.yaml", "-n", "ui"]
FINAL = WORKSHOP_FINAL


def test_demo_walks_through_the_four_results() -> None:
    result = run_cli("demo")
    assert result.code == 0, result.err
    assert_golden("demo.txt", result.out)
    step2 = result.out.split("Step 2")[1].split("Step 3")[0]
    assert (
        "curl http://catalog.catalog/health           DENIED  (the name catalog.catalog does not resolve"
        in step2
    )
    step3 = result.out.split("Step 3")[1]
    lines = {line.split()[1]: line for line in step3.splitlines() if line.startswith("  curl")}
    assert "ALLOWED" in lines["http://catalog.catalog/health"]
    assert "DENIED" in lines["telnet://catalog-mysql.catalog:3306"]
    assert "DENIED" in lines["www.example.com"]
    assert "a DNS query to kube-dns                      ALLOWED" in step3


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [
        (
            "check-default-deny-dns",
            ["ui/deployment/ui", "catalog.catalog", "--port", "80", *CLUSTER, *DENY],
            1,
        ),
        ("check-final-catalog", ["ui/deployment/ui", "catalog.catalog", "--port", "80", *FINAL], 0),
        (
            "check-final-mysql",
            ["ui/deployment/ui", "catalog-mysql.catalog", "-p", "3306", *FINAL],
            1,
        ),
        (
            "check-final-external",
            [
                "ui/deployment/ui",
                "www.example.com",
                "--resolve",
                "www.example.com=203.0.113.10",
                "-p",
                "80",
                *FINAL,
            ],
            1,
        ),
        (
            "check-final-kube-dns",
            [
                "ui/deployment/ui",
                "kube-system/svc/kube-dns",
                "-p",
                "53",
                "--protocol",
                "UDP",
                *FINAL,
            ],
            0,
        ),
    ],
)
def test_check_explains_each_workshop_result(name: str, args: list[str], code: int) -> None:
    result = run_cli("check", *args)
    assert result.code == code, result.err
    assert result.err == ""
    assert_golden(f"{name}.txt", result.out)


def test_default_deny_explains_that_dns_is_what_fails() -> None:
    result = run_cli("check", "ui/deployment/ui", "catalog.catalog", "-p", "80", *CLUSTER, *DENY)
    assert "the name 'catalog.catalog' does not resolve: the DNS lookup is denied" in result.out
    assert "ui/default-deny: has no egress rules, so it allows nothing" in result.out


def test_check_json_is_the_same_decision_as_data() -> None:
    result = run_cli(
        "check", "ui/deployment/ui", "catalog-mysql.catalog", "-p", "3306", *FINAL, "-o", "json"
    )
    data = json.loads(result.out)
    assert data["verdict"] == "denied" and data["allowed"] is False
    dns, connect = data["steps"]
    assert dns["kind"] == "dns" and dns["verdict"] == "allowed"
    decision = connect["decisions"][0]
    assert decision["to"]["pod"] == "catalog/catalog-mysql-0"
    assert decision["port"] == 3306
    assert decision["egress"]["policies"] == ["ui/default-deny", "ui/allow-ui-egress"]
    assert decision["ingress"]["outcome"] == "not-isolated"


def test_workshop_expectations_file_passes() -> None:
    result = run_cli("test", "expectations.yaml", *FINAL, "-o", "json")
    assert result.code == 0, result.out + result.err
    data = json.loads(result.out)
    assert data["failed"] == 0 and data["passed"] == len(data["results"]) == 6
    first = data["results"][0]
    assert {
        k: first[k] for k in ("from", "to", "port", "protocol", "expected", "allowed", "ok")
    } == {
        "from": "ui/deployment/ui",
        "to": "catalog.catalog",
        "port": 80,
        "protocol": "TCP",
        "expected": True,
        "allowed": True,
        "ok": True,
    }


def test_expectations_fail_without_allow_ui_egress() -> None:
    result = run_cli("test", "expectations.yaml", *CLUSTER, *DENY)
    assert result.code == 1
    assert_golden("test-default-deny-only.txt", result.out)
    assert (
        "FAIL [0] ui/deployment/ui -> catalog.catalog 80/TCP: expected allowed, got denied"
        in result.out
    )
    assert result.out.rstrip().endswith("4 passed, 2 failed")


def test_matrix_table_for_the_final_workshop_state() -> None:
    result = run_cli("matrix", *FINAL)
    assert result.code == 0, result.err
    assert_golden("matrix-final.txt", result.out)


def test_matrix_json_and_csv_agree_on_ui_cells() -> None:
    data = json.loads(run_cli("matrix", *FINAL, "-o", "json").out)
    cells = {(c["from"], c["to"]): c for c in data["cells"]}
    assert cells[("ui/deployment/ui", "catalog/deployment/catalog")]["state"] == "all"
    assert cells[("ui/deployment/ui", "catalog/statefulset/catalog-mysql")]["state"] == "no"
    assert (
        cells[("ui/deployment/ui", "kube-system/deployment/coredns")]["allowed"] == 6
    )  # 2 pods x 3 ports
    assert cells[("catalog/deployment/catalog", "ui/deployment/ui")]["state"] == "all"
    csv_rows = {
        row.split(",")[0]: row.split(",")[1:]
        for row in run_cli("matrix", *FINAL, "-o", "csv").out.splitlines()
    }
    header = csv_rows.pop("from")
    mysql = header.index("catalog/statefulset/catalog-mysql")
    assert csv_rows["ui/deployment/ui"][mysql] == "0/1"


def test_matrix_namespace_filter() -> None:
    data = json.loads(
        run_cli(
            "matrix",
            *FINAL,
            "--namespace-filter",
            "ui",
            "--namespace-filter",
            "catalog",
            "-o",
            "json",
        ).out
    )
    assert [g["name"] for g in data["groups"]] == [
        "catalog/deployment/catalog",
        "catalog/statefulset/catalog-mysql",
        "ui/deployment/ui",
    ]


def test_matrix_summary_counts_pairs_per_port_class() -> None:
    result = run_cli("matrix", "--summary", *FINAL)
    assert result.code == 0, result.err
    assert_golden("matrix-summary-final.txt", result.out)
    data = json.loads(run_cli("matrix", "--summary", *FINAL, "-o", "json").out)
    # 11 pods; ui (1 pod, egress-isolated) cannot reach the 4 database pods.
    assert data["pods"] == 11 and data["ordered_pairs"] == 110
    assert data["egress_isolated"] == 1 and data["ingress_isolated"] == 0
    assert {pc["protocol"]: pc["allowed_pairs"] for pc in data["port_classes"]} == {
        "TCP": 106,
        "UDP": 106,
        "SCTP": 106,
    }


def test_matrix_dot_for_graphviz() -> None:
    result = run_cli("matrix", *FINAL, "-o", "dot")
    assert result.code == 0, result.err
    assert_golden("matrix-final.dot", result.out)
    assert '"ui/deployment/ui" -> "catalog/deployment/catalog";' in result.out
    assert '"ui/deployment/ui" -> "catalog/statefulset/catalog-mysql"' not in result.out
