"""The sparse pieces of the class analysis against the obvious computations:
selector sets against each selector evaluated on each class, runs against
Python sets, T shared across port classes against T on each port class alone
(on generated clusters, hypothesis and bench/synth.py at small sizes)."""

from __future__ import annotations

import numpy as np
from bench.synth import generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis.test_scale_oracle import clusters
from tests.analysis.tier_strategies import with_tiers

from netfence.analysis.scale.reach import reach_all, reach_on
from netfence.analysis.scale.rowbook import row_contains
from netfence.analysis.scale.runs import contains, members, runs_of, spread_runs, union_runs
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.compile import compile_policies
from netfence.compile.ir import PeerEnd
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster

class_sets = st.sets(st.integers(0, 40), max_size=25)


@given(st.lists(class_sets, max_size=5), st.lists(st.integers(-3, 3), min_size=5, max_size=5))
def test_runs_equal_python_sets(sets: list[set[int]], amounts: list[int]) -> None:
    parts = [runs_of(np.array(sorted(s), dtype=np.int64)) for s in sets]
    for s, runs in zip(sets, parts, strict=True):
        assert members(runs).tolist() == sorted(s)
        assert runs.size == len(s)
    expected = set().union(*sets)
    merged = union_runs(parts)
    assert members(merged).tolist() == sorted(expected)
    assert bool((merged.starts[1:] > merged.ends[:-1]).all())  # disjoint, not adjacent
    probe = np.arange(-1, 43, dtype=np.int64)
    assert contains(merged, probe).tolist() == [int(c) in expected for c in probe]
    spread = spread_runs(parts, [float(a) for a in amounts[: len(parts)]], 41)
    for c in range(41):
        assert spread[c] == sum(a for s, a in zip(sets, amounts, strict=False) if c in s)


def _check_selectors(cluster: Cluster, analysis: ClusterAnalysis) -> None:
    """Every target and peer set the analysis used, against the selectors
    evaluated directly on each class's labels and namespace labels."""
    table, index = analysis.table, analysis.index
    ns_labels = {ns.name: ns.labels for ns in cluster.namespaces}
    selectable = [c for c in range(table.size) if not table.host_network[c]]
    for (namespace, selector), found in index._targets.items():
        expected = [
            c
            for c in selectable
            if table.keys[c].namespace == namespace and selector.matches(table.keys[c].labels)
        ]
        assert found.tolist() == expected
    for selection, found in index._peers.items():
        expected = [
            c
            for c in selectable
            if selection.covers(
                PeerEnd(None, table.members[c][0], ns_labels.get(table.keys[c].namespace, {}))
            )
        ]
        assert found.tolist() == expected


def _check_self(analysis: ClusterAnalysis) -> None:
    """RowBook.hold_themselves (one membership test per distinct row) against
    row_contains asked for each class and port class; on every class, and on a
    strided subset in reverse order (the incremental update asks for some)."""
    size = analysis.table.size
    for book, group_of in (
        (analysis.egress_rows, analysis.egress.group_of),
        (analysis.ingress_rows, analysis.ingress.group_of),
    ):
        for classes in (np.arange(size, dtype=np.int64), np.arange(size, dtype=np.int64)[::-3]):
            held = book.hold_themselves(classes, group_of)
            for i, c in enumerate(classes.tolist()):
                for q in range(len(analysis.ports.classes)):
                    expected = row_contains(book.row(int(group_of[c]), q), c)
                    assert bool(held[i, q]) == expected


def _check_reach(analysis: ClusterAnalysis) -> None:
    shared = reach_all(analysis.ingress_rows, analysis.ingress.group_of, analysis.table.weights)
    for q in range(len(analysis.ports.classes)):
        alone = reach_on(
            analysis.ingress_rows, analysis.ingress.group_of, analysis.table.weights, q
        )
        assert np.array_equal(shared.reach[:, q], alone.reach[:, 0])
        assert np.array_equal(shared.in_own[:, q], alone.in_own[:, 0])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_sparse_sets_and_shared_reach_on_generated_clusters(cluster: Cluster) -> None:
    analysis = ClusterAnalysis(cluster, compile_policies(cluster.policies))
    _check_selectors(cluster, analysis)
    _check_reach(analysis)
    _check_self(analysis)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters().flatmap(with_tiers))
def test_self_pairs_by_distinct_row_with_tiers(cluster: Cluster) -> None:
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    _check_self(ClusterAnalysis(cluster, compiled))


def test_sparse_sets_and_shared_reach_on_synth() -> None:
    objects = generate(600, 80, seed=3)
    docs = [RawDocument(Source("synth", i + 1), o) for i, o in enumerate(objects)]
    cluster = build_cluster(docs).cluster
    analysis = ClusterAnalysis(cluster, compile_policies(cluster.policies))
    _check_selectors(cluster, analysis)
    _check_reach(analysis)
    _check_self(analysis)
    # classes are numbered namespace by namespace: each namespace is one run
    ids = analysis.table.namespace_ids
    assert bool((np.diff(ids) >= 0).all())
