"""The diff through the class analysis (class_diff) equals the pod-pair diff
(connectivity_diff, the oracle) change for change: the same workloads, ports,
pair counts, decisions and order; on generated clusters whose workloads hold
several pods, and on small synth clusters (kube-dns, ipBlocks, named ports,
port ranges). Where the class analysis cannot judge, it says so (None)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from bench.synth import generate
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.analysis.test_incremental import to_policy
from tests.analysis.test_scale_oracle import pod, policy
from tests.analysis.test_whatif import tier_changes
from tests.analysis.tier_strategies import with_tiers

from netfence.analysis.diff import (
    State,
    class_diff,
    class_diff_obstacle,
    connectivity_diff,
)
from netfence.compile import compile_policies
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.model.policy import NetworkPolicy
from netfence.parse import RawDocument, build_cluster

NAMESPACES = ["a", "b", "c"]


def _build(objects: list[dict[str, Any]]) -> Cluster:
    docs = [RawDocument(Source("gen", i + 1), obj) for i, obj in enumerate(objects)]
    built = build_cluster(docs)
    assert not built.errors, [d.format() for d in built.errors]
    return built.cluster


@st.composite
def owned_pod(draw: st.DrawFn, index: int, ipv6: bool) -> dict[str, Any]:
    """A pod of the oracle's generator, often owned by one of two StatefulSets; with
    ``ipv6``, sometimes with an IPv6 address (first or second)."""
    obj = draw(pod(index))
    owner = draw(st.sampled_from([None, "w1", "w2", "w2"]))
    if owner is not None:
        obj["metadata"]["ownerReferences"] = [
            {"kind": "StatefulSet", "name": owner, "controller": True}
        ]
    v4 = obj["status"]["podIP"]
    v6 = f"fd00::{index + 2:x}"
    ips = draw(st.sampled_from([[v4]] * 6 + [[v4, v6], [v6, v4], [v6]])) if ipv6 else [v4]
    obj["status"] = {"podIP": ips[0], "podIPs": [{"ip": ip} for ip in ips]}
    return obj


@st.composite
def states(draw: st.DrawFn) -> tuple[State, State]:
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in NAMESPACES
    ]
    ipv6 = draw(st.sampled_from([False, False, False, True]))
    pods = [draw(owned_pod(i, ipv6)) for i in range(draw(st.integers(2, 9)))]
    policies = [draw(policy(i)) for i in range(draw(st.integers(0, 4)))]
    cluster = _build([*namespaces, *pods, *policies])
    final = {p.key: p for p in cluster.policies}
    if cluster.policies and draw(st.booleans()):
        del final[cluster.policies[0].key]
    for obj in draw(st.lists(policy(100), min_size=0, max_size=2)):
        changed = to_policy(obj)
        final[changed.key] = changed
    after = dataclasses.replace(cluster, policies=tuple(final.values()))
    return _state(cluster), _state(after)


def _state(cluster: Cluster) -> State:
    return State(cluster, compile_policies(cluster.policies, cluster.cluster_policies))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states(), st.sampled_from([None, None, 4, 6]))
def test_class_diff_equals_the_pairwise_diff(pair: tuple[State, State], family: int | None) -> None:
    before, after = pair
    found = class_diff(before, after, family)
    obstacle = class_diff_obstacle(before, after, family)
    event(obstacle or ("split classes" if found is None else "class analysis"))
    if found is None:
        return
    assert not obstacle
    event("changes found" if found.changes else "nothing changed")
    assert found == connectivity_diff(before, after, family)


@st.composite
def tiered_states(draw: st.DrawFn) -> tuple[State, State]:
    """States with cluster-wide policies, the second with a NetworkPolicy change,
    a cluster-wide change (tier_changes), or both."""
    before, after = draw(states())
    tiered = draw(with_tiers(before.cluster))
    tiers = draw(tier_changes(tiered))
    if draw(st.booleans()):
        after = before
    final = dataclasses.replace(
        tiered, policies=after.cluster.policies, cluster_policies=tuple(tiers)
    )
    return _state(tiered), _state(final)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiered_states(), st.sampled_from([None, None, 4]))
def test_class_diff_with_tiers_equals_the_pairwise_diff(
    pair: tuple[State, State], family: int | None
) -> None:
    before, after = pair
    found = class_diff(before, after, family)
    event(class_diff_obstacle(before, after, family) or ("split" if found is None else "classes"))
    if found is None:
        return
    event("changes found" if found.changes else "nothing changed")
    assert found == connectivity_diff(before, after, family)


def _changed(cluster: Cluster) -> tuple[NetworkPolicy, ...]:
    """Every third policy loses its first ingress rule and its last egress rule;
    one namespace gets a default deny."""
    changed = [
        dataclasses.replace(p, ingress=p.ingress[1:], egress=p.egress[:-1]) if i % 3 == 0 else p
        for i, p in enumerate(cluster.policies)
    ]
    namespace = cluster.pods[-1].namespace
    changed.append(
        to_policy(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "deny-all-of-the-test", "namespace": namespace},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            }
        )
    )
    return tuple(changed)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_class_diff_equals_the_pairwise_diff_on_synth_clusters(seed: int) -> None:
    cluster = _build(generate(70, 14, seed))
    before = _state(cluster)
    after = _state(dataclasses.replace(cluster, policies=_changed(cluster)))
    found = class_diff(before, after)
    assert found is not None
    expected = connectivity_diff(before, after)
    assert expected.changes, "the change changes nothing: the test would prove little"
    assert found == expected
    back = class_diff(after, before)  # None when the old rules' ports split after's classes
    assert back is None or back == connectivity_diff(after, before)
