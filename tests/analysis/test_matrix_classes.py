"""The workload grid by engine classes (connectivity_matrix) equals the grid asked
of the engine pod pair by pair (pairwise_matrix, the oracle): every cell's counts,
in every family, on declared ports and on a chosen port or name; on generated
clusters whose workloads hold several pods (ipBlocks, hostNetwork, IPv6 first or
alone) and on small synth clusters."""

from __future__ import annotations

import pytest
from bench.synth import generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis.test_diff_classes import State, _build, states
from tests.analysis.tier_strategies import replicated_cluster, with_tiers

from netfence.analysis.matrix import EngineClasses, connectivity_matrix, group_pods, pairwise_matrix
from netfence.compile import compile_policies
from netfence.model.cluster import Cluster
from netfence.model.ports import Protocol

PORTS = st.sampled_from(
    [(None, None), (80, None), (81, Protocol.UDP), ("web", None), ("db", Protocol.SCTP)]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.sampled_from([None, 4, 6]), PORTS)
def test_grid_by_classes_equals_the_pairwise_grid(
    pair: tuple[State, State], family: int | None, probe: tuple[int | str | None, Protocol | None]
) -> None:
    state = pair[1]
    port, protocol = probe
    expected = pairwise_matrix(state.compiled, state.cluster, port, protocol, family=family)
    assert connectivity_matrix(state.compiled, state.cluster, port, protocol, family=family) == (
        expected
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_grid_by_classes_equals_the_pairwise_grid_on_synth(seed: int) -> None:
    cluster = _build(generate(60, 12, seed))
    compiled = compile_policies(cluster.policies)
    found = connectivity_matrix(compiled, cluster)
    assert found == pairwise_matrix(compiled, cluster)
    assert any(c.allowed for row in found.cells for c in row)
    assert any(c.allowed < c.total for row in found.cells for c in row)


def test_replicas_of_a_workload_are_one_class() -> None:
    """1,000 replicas of a Deployment: one class, so one verdict for the whole cell."""
    cluster = _build(
        [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d", "namespace": "a"},
                "spec": {
                    "replicas": 1000,
                    "selector": {"matchLabels": {"app": "d"}},
                    "template": {
                        "metadata": {"labels": {"app": "d"}},
                        "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
                    },
                },
            }
        ]
    )
    compiled = compile_policies(cluster.policies)
    (group,) = group_pods(cluster)
    assert EngineClasses(compiled, cluster, None).units(group) == {0: 1000}
    ((cell,),) = connectivity_matrix(compiled, cluster).cells
    assert (cell.allowed, cell.total, cell.loopback) == (1000 * 999, 1000 * 999, 1000)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from([None, 4, 6]), PORTS)
def test_grid_by_classes_equals_the_pairwise_grid_with_tiers(
    data: st.DataObject, family: int | None, probe: tuple[int | str | None, Protocol | None]
) -> None:
    """The same with AdminNetworkPolicy-like tiers: networks split classes by
    address, nodes peers by the node owning a hostNetwork pod's address."""
    cluster = data.draw(with_tiers(data.draw(states())[1].cluster))
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    port, protocol = probe
    expected = pairwise_matrix(compiled, cluster, port, protocol, family=family)
    assert connectivity_matrix(compiled, cluster, port, protocol, family=family) == expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replicated_cluster(), st.sampled_from([None, 4, 6]), PORTS)
def test_replicas_that_tiers_tell_apart_are_not_one_class(
    cluster: Cluster, family: int | None, probe: tuple[int | str | None, Protocol | None]
) -> None:
    """Replicas alike in all a NetworkPolicy reads but not in their addresses (a
    tier's networks) or their node (a tier's nodes peer)."""
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    port, protocol = probe
    expected = pairwise_matrix(compiled, cluster, port, protocol, family=family)
    assert connectivity_matrix(compiled, cluster, port, protocol, family=family) == expected
