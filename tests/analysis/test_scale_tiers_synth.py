"""The whole-cluster analysis with the cluster-wide guardrails of bench/synth.py
(Pass for kube-system, DNS Accept, a ``networks`` Deny, dev-not-to-prod, team
guardrails, Baseline default-deny per namespace) equals the engine pair by pair,
and the aggregated report's namespace counts equal the report's cells."""

from __future__ import annotations

import dataclasses
import sys

import pytest
from tests.analysis.test_scale_oracle import assert_equals_engine
from tests.conftest import ROOT

from netfence.analysis.report import Limits, report_data
from netfence.analysis.scale.incremental import IncrementalAnalysis, UpdateMode
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.compile import compile_policies
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.model.labels import LabelSelector
from netfence.model.tiers import Subject
from netfence.parse import RawDocument, build_cluster

sys.path.insert(0, str(ROOT))
from bench.synth import generate


def _tiered(pods: int, policies: int, cluster_policies: int, seed: int) -> Cluster:
    objects = generate(pods, policies, seed, cluster_policies)
    built = build_cluster([RawDocument(Source("synth", i), o) for i, o in enumerate(objects)])
    assert not built.errors, [d.format() for d in built.errors[:3]]
    assert len(built.cluster.cluster_policies) == cluster_policies
    return built.cluster


@pytest.mark.parametrize("seed", [1, 2])
def test_synth_guardrails_through_the_analysis_equal_the_engine(seed: int) -> None:
    assert_equals_engine(_tiered(70, 14, 12, seed))


def test_aggregated_report_with_guardrails_equals_the_report_by_workload() -> None:
    cluster = _tiered(120, 30, 16, 3)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    full = report_data(compiled, cluster, limits=Limits(workloads=10**6))
    unbounded = Limits(workloads=0, cells=10**9, pair=10**9, explained=10**9)
    agg = report_data(compiled, cluster, limits=unbounded).aggregated
    assert full.aggregated is None and agg is not None
    index = {n: i for i, n in enumerate(agg.namespaces)}
    sums: dict[tuple[int, int], list[int]] = {}
    for (i, j), ports in full.cells.items():
        key = (index[full.groups[i].namespace], index[full.groups[j].namespace])
        acc = sums.setdefault(key, [0, 0, 0])
        acc[0] += sum(p.allowed for p in ports)
        acc[1] += sum(p.total for p in ports)
        acc[2] += sum(p.loopback for p in ports)
    counts = {k: (c.allowed, c.total, c.loopback) for k, c in agg.counts.items()}
    assert counts == {k: tuple(v) for k, v in sums.items() if v[1] or v[2]}
    assert any(a < t for a, t, _ in counts.values()) and any(a for a, _, _ in counts.values())


def test_cluster_wide_changes_on_synth_equal_a_fresh_analysis() -> None:
    """On a cluster of over 1,000 classes: a guardrail on every namespace's egress
    (incremental at any width), a per-team ingress one (incremental), and that
    one widened to every namespace's ingress (most classes: analysed anew), each
    checked against a fresh analysis of the changed policies."""
    cluster = _tiered(3000, 300, 12, 4)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    incremental = IncrementalAnalysis(ClusterAnalysis(cluster, compiled))
    assert incremental.analysis.table.size >= 1000
    tiers = {p.key: p for p in incremental.cluster_policies.values()}
    modes = []
    for name in ("allow-dns", "team-", "team-"):
        key = next(k for k in tiers if k.split("/")[-1].startswith(name))
        policy = tiers[key]
        field = "ingress" if policy.ingress else "egress"
        if len(modes) < 2:
            tiers[key] = dataclasses.replace(policy, **{field: getattr(policy, field)[1:]})
        else:
            tiers[key] = dataclasses.replace(policy, subject=Subject(namespaces=LabelSelector()))
        modes.append(incremental.apply_cluster_policy(tiers[key]).mode)
        final = dataclasses.replace(cluster, cluster_policies=tuple(tiers.values()))
        fresh = ClusterAnalysis(final, compile_policies(final.policies, final.cluster_policies))
        mine = incremental.analysis
        for q, pc in enumerate(fresh.ports.classes):
            mq = mine.ports.class_of(pc.protocol, pc.representative)
            assert mine.allowed_pairs(mq) == fresh.allowed_pairs(q), (name, pc.format())
    assert modes == [UpdateMode.INCREMENTAL, UpdateMode.INCREMENTAL, UpdateMode.FULL]
