"""Real-world manifests load without errors and give the verdicts their policies imply."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_cli

from netfence.io.cluster import load_cluster
from netfence.model.diagnostics import Severity

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
KUBE_PROMETHEUS = FIXTURES / "kube-prometheus"


def test_kube_prometheus_manifests_load_without_errors() -> None:
    built = load_cluster([str(KUBE_PROMETHEUS / "manifests")])
    assert [d.format() for d in built.diagnostics if d.severity is not Severity.NOTICE] == []
    assert len(built.cluster.policies) == 8
    assert built.skipped["CustomResourceDefinition"] == 1
    assert {p.namespace for p in built.cluster.pods} == {"monitoring"}


def test_the_bare_equals_sign_of_the_crd_is_read_as_a_string() -> None:
    from netfence.parse.documents import parse_documents

    crd = KUBE_PROMETHEUS / "manifests/setup/0alertmanagerConfigCustomResourceDefinition.yaml"
    (doc,) = parse_documents(crd.read_text(), str(crd))
    enums = []
    stack: list[object] = [doc.obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("enum"), list):
                enums.append(item["enum"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    assert enums.count(["!=", "=", "=~", "!~"]) == 3


def test_kube_prometheus_verdicts() -> None:
    run = run_cli(
        "test", "expectations.yaml", "-f", "manifests", "-f", "operator-pods.yaml",
        cwd=KUBE_PROMETHEUS,
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert "12 passed, 0 failed" in run.out
    assert "error" not in run.err


def test_the_fixture_directory_as_a_whole_skips_what_is_not_a_manifest() -> None:
    """expectations.yaml (a list of tests) lies beside the manifests: skipped, said so."""
    run = run_cli("validate", "-f", ".", cwd=KUBE_PROMETHEUS)
    assert run.code == 0, run.err
    assert "notice: ./expectations.yaml: skipped: not a Kubernetes manifest" in run.err
    assert run.out.startswith("valid: 8 NetworkPolicies, 10 pods")


ARGOCD = FIXTURES / "argocd"


def test_argocd_install_loads_without_errors() -> None:
    built = load_cluster([str(ARGOCD / "install.yaml")], namespace="argocd")
    assert [d.format() for d in built.diagnostics if d.severity is not Severity.NOTICE] == []
    assert sorted(p.name for p in built.cluster.policies) == [
        "argocd-application-controller-network-policy",
        "argocd-applicationset-controller-network-policy",
        "argocd-dex-server-network-policy",
        "argocd-notifications-controller-network-policy",
        "argocd-redis-network-policy",
        "argocd-repo-server-network-policy",
        "argocd-server-network-policy",
    ]
    assert {p.namespace for p in built.cluster.policies} == {"argocd"}
    assert len(built.cluster.pods) == 7


def test_argocd_verdicts() -> None:
    run = run_cli(
        "test", "expectations.yaml", "-n", "argocd", "-f", "install.yaml", "-f", "client.yaml",
        cwd=ARGOCD,
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert "12 passed, 0 failed" in run.out
    assert "error" not in run.err
