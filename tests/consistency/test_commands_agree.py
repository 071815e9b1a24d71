"""check, test, matrix (by classes and pod by pod), report and diff agree on every pod pair
of generated clusters, dual-stack ones included (pods with IPv4 first, IPv6 first
or one family), with and without cluster-wide tiers: one rule for a connection's
address family (engine/connections.py) and one engine decide them all."""

from __future__ import annotations

import dataclasses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis.test_diff_classes import states
from tests.analysis.tier_strategies import with_tiers

from netfence.analysis.diff import ChangeKind, State, connectivity_diff
from netfence.analysis.expectations import run_expectations
from netfence.analysis.matrix import connectivity_matrix, group_pods, pairwise_matrix
from netfence.analysis.report import report_data
from netfence.compile import compile_policies
from netfence.engine.check import Verdict, check
from netfence.engine.targets import resolve_target
from netfence.model.cluster import Cluster, Pod
from netfence.model.diagnostics import Source
from netfence.model.expectation import Expectation
from netfence.model.ports import Protocol

PORT = 80


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_check_test_matrix_and_diff_agree(data: st.DataObject) -> None:
    cluster: Cluster = data.draw(states())[1].cluster
    if data.draw(st.booleans()):
        cluster = data.draw(with_tiers(cluster))
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    pods = [p for p in cluster.pods if p.ips]
    pairs = [(s, d) for s in pods for d in pods if s is not d]

    verdicts = {}
    for s, d in pairs:
        report = check(
            compiled, cluster, resolve_target(s.key, cluster), resolve_target(d.key, cluster),
            PORT, Protocol.TCP,
        )  # fmt: skip
        assert report.verdict in (Verdict.ALLOWED, Verdict.DENIED)
        verdicts[s.key, d.key] = report.verdict is Verdict.ALLOWED

    expectations = [
        Expectation(Source("gen", 1), i, s.key, d.key, PORT, Protocol.TCP, verdicts[s.key, d.key])
        for i, (s, d) in enumerate(pairs)
    ]
    assert all(r.ok for r in run_expectations(compiled, cluster, expectations))

    groups = group_pods(cluster)
    for grid in (
        connectivity_matrix(compiled, cluster, PORT, Protocol.TCP),
        pairwise_matrix(compiled, cluster, PORT, Protocol.TCP),
    ):
        for i, src in enumerate(groups):
            for j, dst in enumerate(groups):
                allowed = sum(
                    verdicts[s.key, d.key]
                    for s in src.pods
                    for d in dst.pods
                    if (s.key, d.key) in verdicts
                )
                assert grid.cells[i][j].allowed == allowed, (src.key, dst.key)

    open_cluster = dataclasses.replace(cluster, policies=(), cluster_policies=())
    before = State(open_cluster, compile_policies(()))
    after = State(cluster, compiled)
    lost = {
        (c.source, c.destination): c.pairs
        for c in connectivity_diff(before, after).changes
        if c.port == PORT and c.protocol is Protocol.TCP and c.kind is ChangeKind.LOST
    }
    report = report_data(compiled, cluster)  # the workload table, by declared port
    for (i, j), cells in report.cells.items():
        src, dst = report.groups[i], report.groups[j]
        for cell in cells:
            if cell.port == f"{PORT}/TCP":
                allowed = sum(
                    verdicts[s.key, d.key]
                    for s in src.pods
                    for d in dst.pods
                    if (s.key, d.key) in verdicts and _serves(d)
                )
                assert cell.allowed == allowed, (src.key, dst.key)

    for src in groups:  # diff probes the ports each destination declares
        for dst in groups:
            denied = sum(
                not verdicts[s.key, d.key]
                for s in src.pods
                for d in dst.pods
                if (s.key, d.key) in verdicts and _serves(d)
            )
            assert lost.get((src.key, dst.key), 0) == denied, (src.key, dst.key)


def _serves(pod: Pod) -> bool:
    return any(p.port == PORT and p.protocol is Protocol.TCP for p in pod.ports)
