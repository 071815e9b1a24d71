"""The whole-cluster analysis runs without cyclic GC, freezes what a large analysis
built (so that no collection walks it as soon as collection is back on), and
answers the same either way."""

from __future__ import annotations

import gc

import pytest

from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.compile import compile_policies
from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster
from netfence.parse.build import BuildResult


def _cluster() -> BuildResult:
    docs = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"p{i}", "namespace": "a", "labels": {"app": f"x{i % 2}"}},
            "status": {"podIP": f"10.0.0.{i + 1}"},
        }
        for i in range(4)
    ]
    docs.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "only-x0", "namespace": "a"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "x1"}},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "x0"}}}]}],
            },
        }
    )
    return build_cluster([RawDocument(Source("t.json", i), d) for i, d in enumerate(docs)])


@pytest.mark.parametrize("freeze_at", [4, 5])
@pytest.mark.parametrize("enabled", [True, False])
def test_a_large_analysis_freezes_what_it_built(
    monkeypatch: pytest.MonkeyPatch, freeze_at: int, enabled: bool
) -> None:
    cluster = _cluster().cluster
    compiled = compile_policies(cluster.policies)
    expected = ClusterAnalysis(cluster, compiled).summary()
    monkeypatch.setattr("netfence.analysis.scale.summary.FREEZE_AT", freeze_at)
    was = gc.isenabled()
    gc.unfreeze()
    try:
        (gc.enable if enabled else gc.disable)()
        summary = ClusterAnalysis(cluster, compiled).summary()
        assert gc.isenabled() is enabled
        assert (gc.get_freeze_count() > 0) is (freeze_at == 4)  # 4 pods
    finally:
        gc.unfreeze()
        (gc.enable if was else gc.disable)()
    assert summary == expected
    assert [pc.allowed_pairs for pc in summary.port_classes] == [
        pc.allowed_pairs for pc in expected.port_classes
    ]
    assert summary.ingress_isolated == 2  # the two x1 pods
