"""A policy repository without cluster state, through the real CLI: the workshop's
policies alone (no pods, no kube-dns), as issue 10's "Done means" asks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import run_cli

HERE = Path(__file__).resolve().parent
DEFAULT_DENY = ["-f", "policies/default-deny.yaml", "-n", "ui"]
WITH_UI_EGRESS = [*DEFAULT_DENY, "-f", "policies/allow-ui-egress.yaml"]
CATALOG = ["-f", "policies/allow-catalog-ingress-db.yaml", "-f", "policies/allow-catalog-ingress-webservice.yaml"]  # fmt: skip
SKIPPED = "skipped, for lack of cluster state: NF102 selects-nothing"


def test_default_deny_alone_is_nf101_with_what_was_assumed() -> None:
    result = run_cli("lint", *DEFAULT_DENY)
    assert result.code == 1, result.err
    lines = result.out.splitlines()
    assert lines[0] == (
        "policies/default-deny.yaml: doc 1: NetworkPolicy ui/default-deny: spec.policyTypes: "
        "NF101 error: isolates a pod of ui without labels for egress and nothing allows DNS to "
        "kube-dns (no pods of ui in the input: judged for such a pod; kube-dns assumed, as none "
        "is in the input: the conventional pods k8s-app=kube-dns of kube-system serving 53/UDP "
        "and 53/TCP)"
    )
    assert lines[1].startswith(SKIPPED)
    assert lines[2] == "1 error(s), 0 warning(s), 0 notice(s)"


def test_default_deny_with_allow_ui_egress_has_nothing_dns_related() -> None:
    result = run_cli("lint", *WITH_UI_EGRESS, "--fail-on", "notice")
    assert result.code == 0, result.out
    assert result.out.splitlines()[-1] == "no findings"
    assert "NF101" not in result.out and "NF113" not in result.out
    # before: "matches no pod" on every policy, and "did you mean kubernetes.io/metadata.name=ui?"
    assert "matches no" not in result.out and "did you mean" not in result.out


def test_the_skipped_checks_are_named_in_json_and_sarif() -> None:
    data = json.loads(run_cli("lint", *WITH_UI_EGRESS, "-o", "json").out)
    assert data["findings"] == []
    assert [s["id"] for s in data["skipped"]] == [
        "NF102", "NF103", "NF105", "NF106", "NF107", "NF109", "NF111", "NF112",
    ]  # fmt: skip
    assert data["skipped"][0] == {
        "id": "NF102",
        "check": "selects-nothing",
        "reason": "no pods in the input",
    }
    sarif = json.loads(run_cli("lint", *WITH_UI_EGRESS, "-o", "sarif").out)
    (note,) = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "note" and note["message"]["text"].startswith(SKIPPED)


def test_with_the_cluster_nothing_is_skipped() -> None:
    result = run_cli("lint", "-k", "cluster", *WITH_UI_EGRESS, "-o", "json")
    assert json.loads(result.out)["skipped"] == []
    sarif = json.loads(run_cli("lint", "-k", "cluster", *WITH_UI_EGRESS, "-o", "sarif").out)
    assert sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"] == []


def test_dns_over_udp_only_is_nf113() -> None:
    udp_only = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns-udp, namespace: ui}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
          podSelector: {matchLabels: {k8s-app: kube-dns}}
      ports: [{port: 53, protocol: UDP}]
"""
    result = run_cli("lint", *DEFAULT_DENY, "-f", "-", "--fail-on", "warning", stdin=udp_only)
    assert result.code == 1
    assert "NF101" not in result.out
    assert (
        "NF113 warning: isolates a pod of ui without labels for egress and allows DNS to "
        "kube-dns over 53/UDP only: lookups retried over 53/TCP (truncated answers) fail"
    ) in result.out


@pytest.mark.parametrize(
    ("source", "destination", "port", "verdict", "code"),
    [
        ("ui:app.kubernetes.io/name=ui", "catalog:app.kubernetes.io/name=catalog,app.kubernetes.io/component=service", "8080", "ALLOWED", 0),
        ("orders:app.kubernetes.io/name=orders", "catalog:app.kubernetes.io/name=catalog,app.kubernetes.io/component=service", "8080", "DENIED", 1),
        ("ui:", "kube-system:k8s-app=kube-dns", "53", "DENIED", 1),
    ],
    ids=["ui-to-catalog", "orders-to-catalog", "unlabelled-ui-pod-dns"],
)  # fmt: skip
def test_check_between_described_endpoints(
    source: str, destination: str, port: str, verdict: str, code: int
) -> None:
    result = run_cli("check", source, destination, "--port", port, *WITH_UI_EGRESS, *CATALOG)
    assert result.code == code, result.err
    head = result.out.splitlines()[0]
    assert head.startswith(f"described endpoint {source} (a pod of ")
    assert head.endswith(f": {verdict}")


def test_check_json_keeps_the_described_text() -> None:
    result = run_cli(
        "check", "ui:app.kubernetes.io/name=ui", "kube-system:k8s-app=kube-dns",
        "-p", "53", "--protocol", "UDP", *WITH_UI_EGRESS, "-o", "json",
    )  # fmt: skip
    data = json.loads(result.out)
    assert (data["from"], data["verdict"]) == ("ui:app.kubernetes.io/name=ui", "allowed")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ui:app=a b", "x:a=b"], "label value 'a b'"),
        (["ui:app=ui", "x:a=b", "--port", "http"], "no pod declares a port named 'http'"),
    ],
)
def test_described_endpoint_errors_exit_2(args: list[str], message: str) -> None:
    result = run_cli("check", *args, *DEFAULT_DENY)
    assert result.code == 2 and message in result.err, result.err
    assert "Traceback" not in result.err


def test_service_with_port() -> None:
    result = run_cli("check", "ui/ui-0", "catalog.catalog:80", "-k", "cluster", *WITH_UI_EGRESS)
    assert result.code == 0, result.err
    assert result.out.startswith("pod ui/ui-0 -> catalog.catalog:80 port 80/TCP: ALLOWED")
    conflict = run_cli(
        "check", "ui/ui-0", "catalog.catalog:80", "-p", "81", "-k", "cluster", *WITH_UI_EGRESS
    )
    assert conflict.code == 2
    assert "'catalog.catalog:80' names port 80, and port 81 is given too" in conflict.err


def test_policy_only_expectations_pass() -> None:
    result = run_cli(
        "test", str(HERE / "policy_only" / "expectations.yaml"), *WITH_UI_EGRESS, *CATALOG
    )
    assert result.code == 0, result.out + result.err
    assert result.out.splitlines()[-1] == "7 passed, 0 failed"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- {from: ui/x, fromLabels: {namespace: ui}, to: 'ui:', allowed: true}",
         "e.yaml: doc 1: [0].fromLabels: Forbidden: from and fromLabels are exclusive"),
        ("- {to: 'ui:', allowed: true}", "e.yaml: doc 1: [0].from: Required value: from or fromLabels"),
        ("- {fromLabels: {labels: {a: b}}, to: 'ui:', allowed: true}", "e.yaml: doc 1: [0].fromLabels.namespace: Required value"),
        ("- {fromLabels: {namespace: ui, labels: {a: b c}}, to: 'ui:', allowed: true}", "e.yaml: doc 1: [0].fromLabels.labels: Invalid value: \"b c\""),
        ("- {fromLabels: {namespace: ui, pods: 1}, to: 'ui:', allowed: true}", 'e.yaml: doc 1: [0].fromLabels.pods: unknown field "pods"'),
        ("- {from: 'ui:', toLabels: {namespace: ui, ports: [{name: http}]}, port: http, allowed: true}",
         "e.yaml: doc 1: [0].toLabels.ports[0].containerPort: Required value"),
        ("- {from: 'ui:', toLabels: {namespace: ui}, port: http, allowed: true}",
         "e.yaml: doc 1: [0].port: 'ui:': no pod declares a port named 'http'"),
    ],
    ids=["both", "neither", "no-namespace", "bad-label", "unknown-field", "port-without-number", "named-port-undeclared"],
)  # fmt: skip
def test_described_expectation_errors(tmp_path: Path, entry: str, message: str) -> None:
    (tmp_path / "e.yaml").write_text(entry + "\n")
    result = run_cli("test", "e.yaml", "-f", str(HERE / "policy_only" / "deny.yaml"), cwd=tmp_path)
    assert result.code == 2, result.out + result.err
    assert message in result.err, result.err


def test_matrix_without_pods_says_what_is_missing() -> None:
    result = run_cli("matrix", *WITH_UI_EGRESS)
    assert result.code == 2 and result.out == ""
    assert "error: no pods in the input, so no matrix" in result.err
    filtered = run_cli("matrix", "-k", "cluster", "--namespace-filter", "nope")
    assert filtered.code == 2
    assert "no pods in namespace(s) nope (--namespace-filter)" in filtered.err


UI, BARE = "ui:app.kubernetes.io/name=ui", "ui:"
SERVICE = "catalog:app.kubernetes.io/name=catalog,app.kubernetes.io/component=service"
MYSQL = "catalog:app.kubernetes.io/name=catalog,app.kubernetes.io/component=mysql"


def test_matrix_of_described_endpoints() -> None:
    endpoints = [a for e in (UI, BARE, SERVICE, MYSQL) for a in ("--endpoint", e)]
    result = run_cli("matrix", *WITH_UI_EGRESS, *CATALOG, *endpoints, "-p", "8080", "-o", "json")
    assert result.code == 0, result.err
    cells = {(c["from"], c["to"]): c["state"] for c in json.loads(result.out)["cells"]}
    ui, bare = "ui/{app.kubernetes.io/name=ui}", "ui/{}"
    service = "catalog/{app.kubernetes.io/component=service,app.kubernetes.io/name=catalog}"
    mysql = "catalog/{app.kubernetes.io/component=mysql,app.kubernetes.io/name=catalog}"
    assert cells[(ui, service)] == "all"
    assert cells[(ui, mysql)] == "no"  # ui's egress allows component=service only
    assert cells[(bare, service)] == "no"  # default-deny egress
    assert cells[(service, mysql)] == "all"
    assert cells[(mysql, service)] == "no"  # the service's ingress admits ui only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--endpoint", UI], "give a port number with --port"),
        (["--endpoint", UI, "-p", "http"], "give a port number with --port"),
        (
            ["--endpoint", "ui/ui-0", "-p", "80"],
            "--endpoint 'ui/ui-0': expected NAMESPACE:key=value",
        ),
        (["--endpoint", UI, "-p", "80", "--summary"], "not with --summary or --ip-family"),
    ],
    ids=["no-port", "named-port", "not-described", "summary"],
)
def test_matrix_endpoint_errors(args: list[str], message: str) -> None:
    result = run_cli("matrix", "-k", "cluster", *WITH_UI_EGRESS, *args)
    assert result.code == 2 and message in result.err, result.err


NAMED_PORT_POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-http, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - ports: [{port: http}]
"""


def test_named_ports_on_a_described_destination(tmp_path: Path) -> None:
    """Without declared ports a named policy port matches nothing, and check says
    why; toLabels.ports declares them."""
    (tmp_path / "p.yaml").write_text(NAMED_PORT_POLICY)
    result = run_cli("check", "shop:app=client", "shop:app=web", "-p", "8080", "-f", "p.yaml", cwd=tmp_path)  # fmt: skip
    assert result.code == 1
    assert (
        "note: shop:app=web is a described endpoint that declares no port named 'http'"
        in result.out
    )
    (tmp_path / "e.yaml").write_text(
        "- {from: 'shop:app=client', toLabels: {namespace: shop, labels: {app: web},"
        " ports: [{name: http, containerPort: 8080}]}, port: 8080, allowed: true}\n"
    )
    passed = run_cli("test", "e.yaml", "-f", "p.yaml", cwd=tmp_path)
    assert passed.code == 0, passed.out + passed.err
