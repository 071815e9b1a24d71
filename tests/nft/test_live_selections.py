"""nft/incremental.py's label-index backend of the IR selections (LiveModel.members
and LiveModel.covers) against the obvious ones: compile.ir.PodsSelected.covers,
pod by pod, and compile.ir.ClusterIndex, on generated clusters with every peer
and subject of their NetworkPolicies and cluster-wide policies, before and after
namespaces are relabelled and pods changed."""

from __future__ import annotations

import dataclasses

import pytest
from bench.synth import generate
from bench.tier_policies import tier_policies

from netfence.compile import compile_policies
from netfence.compile.ir import ClusterIndex, PeerEnd, PodsSelected
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.model.labels import Labels
from netfence.nft.compiler import NftOptions
from netfence.nft.incremental import LiveModel
from netfence.parse.build import build_cluster
from netfence.parse.documents import RawDocument


def _cluster(seed: int) -> Cluster:
    objects = generate(300, 30, seed=seed)
    objects += tier_policies(objects, 12, seed=seed)
    docs = [RawDocument(Source("c.yaml", i + 1), o) for i, o in enumerate(objects)]
    return build_cluster(docs).cluster


def _selections(cluster: Cluster) -> list[PodsSelected]:
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    found: dict[PodsSelected, None] = {}
    for policy in compiled.policies:
        for rule in (*policy.ingress, *policy.egress):
            found.update((m.selection, None) for m in rule.peers or () if _pods(m.selection))
    for tier in (*compiled.tiers.admin, *compiled.tiers.baseline):
        found[tier.subject] = None
        for rule in (*tier.ingress, *tier.egress):
            found.update((m.selection, None) for m in rule.peers if _pods(m.selection))
    return list(found)


def _pods(selection: object) -> bool:
    return isinstance(selection, PodsSelected)


def _model(cluster: Cluster) -> LiveModel:
    namespaces = {p.namespace for p in cluster.pods} | {n.name for n in cluster.namespaces}
    labels = {n: cluster.namespace_labels(n) for n in namespaces}
    return LiveModel(NftOptions(), cluster.pods, labels)


def _assert_same(model: LiveModel, cluster: Cluster, selections: list[PodsSelected]) -> None:
    index = ClusterIndex(cluster)
    for selection in selections:
        expected = {cluster.pods[i].key for i in index.pods(selection)}
        assert model.members(selection) == expected, selection
        for pod in cluster.pods:
            end = PeerEnd(None, pod, cluster.namespace_labels(pod.namespace))
            obvious = not pod.host_network and selection.covers(end)
            assert model.covers(selection, pod) == obvious, (selection, pod.key)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_members_and_covers_are_the_ir_selections(seed: int) -> None:
    cluster = _cluster(seed)
    selections = _selections(cluster)
    assert len(selections) > 10
    model = _model(cluster)
    _assert_same(model, cluster, selections)
    # a namespace takes another's labels, and a pod another pod's labels: the kept
    # members follow (relabel_namespace, change_pod) and equal a fresh index
    first, second = cluster.namespaces[0], cluster.namespaces[-1]
    taken = dict(second.labels.items_)
    taken["kubernetes.io/metadata.name"] = first.name
    model.relabel_namespace(first.name, Labels.of(taken))
    renamed = dataclasses.replace(first, labels=Labels.of(taken))
    namespaces = tuple(renamed if n.name == first.name else n for n in cluster.namespaces)
    pod, other = cluster.pods[5], cluster.pods[-5]
    moved = dataclasses.replace(pod, labels=other.labels)
    model.change_pod(pod, moved)
    pods = tuple(moved if p is pod else p for p in cluster.pods)
    changed = dataclasses.replace(cluster, namespaces=namespaces, pods=pods)
    _assert_same(model, changed, selections)
