"""The whole-cluster analysis runs without cyclic GC, freezes what a large analysis
built (so that no collection walks it as soon as collection is back on), and
answers the same either way."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from bench.synth import generate

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


class _Thing:
    pass


def test_what_a_large_summary_keeps_until_exit_is_never_collected() -> None:
    import weakref

    from netfence.cli.matrix import _kept_until_exit

    thing = _Thing()
    alive = weakref.ref(thing)
    gc.unfreeze()
    try:
        _kept_until_exit(thing)
        del thing
        gc.collect()
        assert alive() is not None  # a frozen cycle: no collection looks at it
    finally:
        gc.unfreeze()
    gc.collect()
    assert alive() is None  # nothing else held it


@pytest.mark.parametrize("freeze_at", [1, 10_000])
def test_a_summary_answers_alike_whether_kept_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freeze_at: int
) -> None:
    from click.testing import CliRunner

    from netfence.cli.main import cli

    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"kind": "List", "items": generate(40, 6, 1)}))
    monkeypatch.setattr("netfence.analysis.scale.summary.FREEZE_AT", freeze_at)
    gc.unfreeze()
    try:
        result = CliRunner().invoke(cli, ["matrix", "--summary", "-o", "json", "-f", str(path)])
        kept = gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert result.exit_code == 0, result.output
    assert kept is (freeze_at == 1)
    plain = CliRunner().invoke(cli, ["matrix", "--summary", "-o", "json", "-f", str(path)])
    assert json.loads(result.output) == json.loads(plain.output)
