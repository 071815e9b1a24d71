"""One convention for a pod reaching itself, everywhere: it is always allowed
(loopback, as upstream e2e's AllowLoopback) and is never counted with the
connections between distinct pods. ``matrix`` cells, the report's heatmap cells
(and the counts its explanations show) and ``check`` between two workloads must
tell the same story for every pair of workloads, the diagonal included."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from tests.conftest import SCENARIO, WORKSHOP_FINAL, run_cli

from netfence.analysis.matrix import Cell, connectivity_matrix
from netfence.analysis.report import report_data
from netfence.compile import compile_policies
from netfence.engine.check import Verdict, check, is_loopback
from netfence.engine.targets import resolve_target
from netfence.io.cluster import load_cluster

MULTI_REPLICA = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: c
        image: x
        ports: [{containerPort: 80}, {containerPort: 443}, {containerPort: 8080}, {containerPort: 9090}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - {name: c, image: x, ports: [{containerPort: 8080}]}
---
apiVersion: v1
kind: Pod
metadata: {name: lone, namespace: shop, labels: {app: lone}}
spec:
  containers: [{name: c, image: x}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-web, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-from-api-on-8080-only, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: api}}}]}]
"""

CASES = {
    "workshop default-deny only": (
        ["-k", "cluster", "-f", "policies/default-deny.yaml", "-n", "ui"],
        {("ui/deployment/ui", "ui/deployment/ui"): "loopback"},
    ),
    "workshop final": (
        WORKSHOP_FINAL,
        {
            ("ui/deployment/ui", "ui/deployment/ui"): "loopback",
            ("kube-system/deployment/coredns", "kube-system/deployment/coredns"): "all",
        },
    ),
    "multi-replica": (
        ["-f", "multi.yaml"],
        {
            ("shop/deployment/web", "shop/deployment/web"): "no",  # 3 pods × 2 others × 4 ports
            ("shop/deployment/api", "shop/deployment/api"): "all",
            ("shop/lone", "shop/lone"): "none",  # declares no port: nothing to probe
            ("shop/deployment/api", "shop/deployment/web"): "no",
        },
    ),
}

STATE_VERDICT = {
    "all": Verdict.ALLOWED,
    "no": Verdict.DENIED,
    "some": Verdict.PARTIAL,
    "loopback": Verdict.ALLOWED,
}


def _args(case: str, tmp_path: Path) -> tuple[list[str], Path]:
    args, _ = CASES[case]
    if case == "multi-replica":
        (tmp_path / "multi.yaml").write_text(MULTI_REPLICA)
        return args, tmp_path
    return args, SCENARIO


def _load(args: list[str], cwd: Path) -> object:
    files = [cwd / a for flag, a in pairwise(args) if flag == "-f"]
    kustomizations = [cwd / a for flag, a in pairwise(args) if flag == "-k"]
    namespace = next((a for flag, a in pairwise(args) if flag == "-n"), None)
    return load_cluster([str(f) for f in files], [str(k) for k in kustomizations], namespace)


@pytest.mark.parametrize("case", sorted(CASES))
def test_matrix_report_and_check_agree_on_every_pair(case: str, tmp_path: Path) -> None:
    args, cwd = _args(case, tmp_path)
    built = _load(args, cwd)
    cluster = built.cluster  # type: ignore[attr-defined]
    compiled = compile_policies(cluster.policies)
    matrix = connectivity_matrix(compiled, cluster)
    report = report_data(compiled, cluster)
    names = [g.key for g in matrix.groups]
    assert names == [g.key for g in report.groups]
    states: dict[tuple[str, str], str] = {}
    for i, src in enumerate(matrix.groups):
        for j, dst in enumerate(matrix.groups):
            cell = matrix.cells[i][j]
            ports = report.cells[(i, j)]
            summed = Cell(
                sum(p.allowed for p in ports),
                sum(p.total for p in ports),
                sum(p.loopback for p in ports),
            )
            assert summed == cell, f"{src.key} -> {dst.key}: report {summed}, matrix {cell}"
            states[(src.key, dst.key)] = cell.state
            if i != j:
                assert cell.loopback == 0
            if cell.state == "none":
                continue
            got = check(
                compiled,
                cluster,
                resolve_target(src.key, cluster),
                resolve_target(dst.key, cluster),
                None,
                None,
            )
            assert got.verdict is STATE_VERDICT[cell.state], (src.key, dst.key, cell)
            decisions = got.steps[-1].decisions
            assert sum(1 for d in decisions if is_loopback(d)) == cell.loopback
            assert sum(1 for d in decisions if not is_loopback(d)) == cell.total
    _, expected = CASES[case]
    for pair, state in expected.items():
        assert states[pair] == state, pair


def test_the_multi_replica_diagonal_counts_distinct_pods_only(tmp_path: Path) -> None:
    """Three web pods denied ingress on four ports: 3 × 2 × 4 = 24 connections between
    distinct pods, all denied, and 12 of a pod to itself beside them (before: ~12/36)."""
    args, cwd = _args("multi-replica", tmp_path)
    table = run_cli("matrix", *args, cwd=cwd)
    assert table.code == 0, table.err
    web = next(line for line in table.out.splitlines() if "shop/deployment/web" in line)
    assert web.split()[2:] == ["✗", "✗", "·"]  # api, web itself, lone
    assert "a pod reaching itself is always allowed (loopback) and not counted" in table.out
    verdict = run_cli("check", "shop/deployment/web", "shop/deployment/web", *args, cwd=cwd)
    assert verdict.code == 1, verdict.out
    assert "port 8080/TCP" not in verdict.out  # all declared ports
    assert ": DENIED" in verdict.out.splitlines()[0]
    assert "12 connection(s) of a pod to itself: always allowed (loopback)" in verdict.out


def test_a_lone_pod_reaching_itself_is_loopback_in_matrix_and_check() -> None:
    """The workshop's ui under default-deny egress: the matrix shows ↺ (not ✓), check
    says ALLOWED because a pod may always reach itself."""
    args = ["-k", "cluster", "-f", "policies/default-deny.yaml", "-n", "ui"]
    table = run_cli("matrix", *args)
    assert table.code == 0, table.err
    ui = next(line for line in table.out.splitlines() if "ui/deployment/ui" in line)
    assert ui.split()[2:] == ["✗"] * 9 + ["↺"]
    verdict = run_cli("check", "ui/deployment/ui", "ui/deployment/ui", *args)
    assert verdict.code == 0 and ": ALLOWED" in verdict.out.splitlines()[0]
    assert "a pod may always reach itself" in verdict.out
