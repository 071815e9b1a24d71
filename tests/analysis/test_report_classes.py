"""The by-workload report cells by engine classes equal the cells asked of the
engine pod pair by pod pair (pairwise_cells, the oracle): counts, loopback, the
first pod pair's decision and the first pair of the other verdict, on generated
clusters whose workloads hold several pods, in every family, and on synth."""

from __future__ import annotations

import pytest
from bench.synth import generate
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.analysis.test_diff_classes import State, _build, states

from netfence.analysis.matrix import group_pods
from netfence.analysis.report import Limits, PortCell, pairwise_cells, report_data
from netfence.compile import compile_policies
from netfence.model.cluster import Cluster

BY_WORKLOAD = Limits(workloads=10**6)


def _assert_same(cluster: Cluster, family: int | None) -> list[PortCell]:
    compiled = compile_policies(cluster.policies)
    found = report_data(compiled, cluster, family, limits=BY_WORKLOAD)
    assert found.aggregated is None
    assert found.cells == pairwise_cells(compiled, cluster, group_pods(cluster), family)
    return [p for ports in found.cells.values() for p in ports]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.sampled_from([None, 4, 6]))
def test_report_cells_by_classes_equal_the_pairwise_cells(
    pair: tuple[State, State], family: int | None
) -> None:
    cells = _assert_same(pair[0].cluster, family)
    event("a mixed cell" if any(c.other is not None for c in cells) else "no mixed cell")


@pytest.mark.parametrize("seed", [1, 2])
def test_report_cells_by_classes_equal_the_pairwise_cells_on_synth(seed: int) -> None:
    cluster = _build(generate(60, 12, seed))
    cells = _assert_same(cluster, None)
    assert any(c.loopback for c in cells) and any(c.allowed < c.total for c in cells)


def test_mixed_cells_show_the_first_pair_of_each_verdict_as_the_engine_does() -> None:
    """Pods of one workload told apart by an ipBlock: some pairs allowed, some not."""

    def pod(i: int) -> dict[str, object]:
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": f"w-{i}",
                "namespace": "a",
                "labels": {"app": "w"},
                "ownerReferences": [{"kind": "StatefulSet", "name": "w", "controller": True}],
            },
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
            "status": {"podIP": f"10.9.{i % 2}.{i + 2}"},
        }

    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "from-block", "namespace": "a"},
        "spec": {
            "podSelector": {},
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.9.1.0/24"}}]}],
        },
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    cells = _assert_same(_build([namespace, *(pod(i) for i in range(5)), deny]), None)
    assert any(c.other is not None for c in cells)
