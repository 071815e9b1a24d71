"""Incremental updates give exactly what a fresh analysis of the new policy set gives."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from tests.analysis.test_scale_oracle import clusters, policy
from tests.analysis.tier_strategies import cluster_policy, with_tiers

from netfence.analysis.scale.incremental import IncrementalAnalysis, UpdateMode
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.compile import compile_policies
from netfence.compile.tiers import compile_tiers
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.model.policy import NetworkPolicy
from netfence.model.tiers import ClusterPolicy, RuleAction
from netfence.parse import RawDocument, build_cluster


def to_policy(obj: dict[str, Any]) -> NetworkPolicy:
    built = build_cluster([RawDocument(Source("gen", 1), obj)])
    assert not built.errors
    return built.cluster.policies[0]


def assert_same(
    incremental: ClusterAnalysis,
    cluster: Cluster,
    policies: list[NetworkPolicy],
    tiers: Sequence[ClusterPolicy] = (),
) -> None:
    final = dataclasses.replace(cluster, policies=tuple(policies), cluster_policies=tuple(tiers))
    fresh = ClusterAnalysis(final, compile_policies(final.policies, final.cluster_policies))
    for q, pc in enumerate(fresh.ports.classes):
        mine = incremental.ports.class_of(pc.protocol, pc.representative)
        assert incremental.allowed_pairs(mine) == fresh.allowed_pairs(q), pc.format()
        if incremental.table.keys == fresh.table.keys:
            assert np.array_equal(incremental.rows[:, mine], fresh.rows[:, q]), pc.format()
            assert np.array_equal(incremental.self_allowed[:, mine], fresh.self_allowed[:, q])
    assert incremental.summary().egress_isolated == fresh.summary().egress_isolated
    assert incremental.summary().ingress_isolated == fresh.summary().ingress_isolated


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Cluster, list[tuple[str, Any]]]:
    cluster = draw(clusters())
    operations: list[tuple[str, Any]] = []
    for step in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["add", "replace", "delete"]))
        operations.append((kind, draw(policy(100 + step)) if kind != "delete" else None))
    return cluster, operations


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.data())
def test_updates_equal_a_fresh_analysis(
    scenario: tuple[Cluster, list[tuple[str, Any]]], data: st.DataObject
) -> None:
    cluster, operations = scenario
    policies = list(cluster.policies)
    incremental = IncrementalAnalysis(ClusterAnalysis(cluster, compile_policies(policies)))
    for kind, obj in operations:
        note(f"{kind}: {obj}")
        if kind == "add":
            new = to_policy(obj)
            policies = [p for p in policies if p.key != new.key] + [new]
            event(f"add: {incremental.apply(new).mode.value}")
        elif kind == "replace" and policies:
            old = data.draw(st.sampled_from(policies))
            new = dataclasses.replace(
                to_policy(obj), namespace=old.namespace, name=old.name, origin=old.origin
            )
            policies = [new if p.key == old.key else p for p in policies]
            event(f"replace: {incremental.apply(new).mode.value}")
        elif kind == "delete" and policies:
            old = data.draw(st.sampled_from(policies))
            policies = [p for p in policies if p.key != old.key]
            event(f"delete: {incremental.delete(old.key).mode.value}")
        assert_same(incremental.analysis, cluster, policies)


@st.composite
def tiered_scenarios(draw: st.DrawFn) -> tuple[Cluster, list[tuple[str, Any]]]:
    """Changes of NetworkPolicies and of cluster-wide policies, in a cluster with tiers."""
    cluster = draw(clusters().flatmap(with_tiers))
    operations: list[tuple[str, Any]] = []
    for step in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["add", "replace", "delete", "tier", "untier", "edit", "edit"]))
        drawn: Any = None
        if kind in ("add", "replace"):
            drawn = draw(policy(100 + step))
        elif kind == "tier":
            drawn = draw(cluster_policy(draw(st.integers(0, 5))))  # new, or one replaced
        operations.append((kind, drawn))
    return cluster, operations


@st.composite
def edited_policy(draw: st.DrawFn, policy: ClusterPolicy) -> ClusterPolicy:
    """``policy`` edited without splitting classes: another subject, priority or
    tier, actions redrawn, a rule dropped or its ingress and egress rules swapped
    for another policy's."""
    other = draw(cluster_policy(0))
    ingress = [dataclasses.replace(r, action=draw(st.sampled_from(list(RuleAction))))
               for r in policy.ingress]  # fmt: skip
    if ingress and draw(st.booleans()):
        ingress.pop(draw(st.integers(0, len(ingress) - 1)))
    egress = policy.egress if draw(st.booleans()) else ()
    return dataclasses.replace(
        policy,
        subject=draw(st.sampled_from([policy.subject, other.subject])),
        tier=draw(st.sampled_from([policy.tier, other.tier])),
        priority=draw(st.integers(0, 3)),
        ingress=tuple(ingress),
        egress=egress,
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiered_scenarios(), st.data())
def test_updates_with_tiers_equal_a_fresh_analysis(
    scenario: tuple[Cluster, list[tuple[str, Any]]], data: st.DataObject
) -> None:
    cluster, operations = scenario
    policies = list(cluster.policies)
    compiled = compile_policies(policies, cluster.cluster_policies)
    incremental = IncrementalAnalysis(ClusterAnalysis(cluster, compiled))
    tier_list = [p.policy for p in (*compiled.tiers.admin, *compiled.tiers.baseline)]
    for kind, drawn in operations:
        note(f"{kind}: {drawn}")
        if kind == "add":
            new = to_policy(drawn)
            policies = [p for p in policies if p.key != new.key] + [new]
            event(f"add: {incremental.apply(new).mode.value}")
        elif kind == "replace" and policies:
            old = data.draw(st.sampled_from(policies))
            new = dataclasses.replace(
                to_policy(drawn), namespace=old.namespace, name=old.name, origin=old.origin
            )
            policies = [new if p.key == old.key else p for p in policies]
            event(f"replace: {incremental.apply(new).mode.value}")
        elif kind == "delete" and policies:
            old = data.draw(st.sampled_from(policies))
            policies = [p for p in policies if p.key != old.key]
            incremental.delete(old.key)
        elif kind == "tier":
            known = [p.key for p in tier_list]
            if drawn.key in known:
                tier_list[known.index(drawn.key)] = drawn
            else:
                tier_list.append(drawn)
            event(f"tier: {incremental.apply_cluster_policy(drawn).mode.value}")
        elif kind == "untier" and tier_list:
            gone = data.draw(st.sampled_from(tier_list))
            tier_list = [p for p in tier_list if p.key != gone.key]
            event(f"untier: {incremental.delete_cluster_policy(gone.key).mode.value}")
        elif kind == "edit" and tier_list:
            at = data.draw(st.integers(0, len(tier_list) - 1))
            edited = data.draw(edited_policy(tier_list[at]))
            tier_list[at] = edited
            event(f"edit: {incremental.apply_cluster_policy(edited).mode.value}")
        assert_same(incremental.analysis, cluster, policies, tier_list)
        # the tiers it keeps compiled one by one, in the order compiling them all gives
        assert incremental.analysis.tiers == compile_tiers(tier_list)


def test_a_change_inside_known_ports_and_blocks_is_incremental() -> None:
    objects = [
        {"kind": "Namespace", "metadata": {"name": "a"}},
        {
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "a", "labels": {"app": "web"}},
            "status": {"podIP": "10.9.0.1"},
        },
        {
            "kind": "Pod",
            "metadata": {"name": "db", "namespace": "a", "labels": {"app": "db"}},
            "status": {"podIP": "10.9.0.2"},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "db", "namespace": "a"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "db"}},
                "ingress": [{"ports": [{"port": 5432}]}],
            },
        },
    ]
    cluster = build_cluster([RawDocument(Source("t", i), o) for i, o in enumerate(objects)]).cluster
    incremental = IncrementalAnalysis(ClusterAnalysis(cluster, compile_policies(cluster.policies)))
    deny = to_policy(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": "a"},
            "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Egress"]},
        }
    )
    report = incremental.apply(deny)
    assert report.mode is UpdateMode.INCREMENTAL and report.classes_touched == 1
    assert_same(incremental.analysis, cluster, [*cluster.policies, deny])
    wider = dataclasses.replace(deny, egress=())  # same ports: still incremental
    assert incremental.apply(wider).mode is UpdateMode.INCREMENTAL
    report = incremental.delete("a/db")
    assert report.mode is UpdateMode.INCREMENTAL
    assert_same(incremental.analysis, cluster, [wider])
