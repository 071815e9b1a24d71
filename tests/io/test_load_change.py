"""io.cluster.load_cluster_change: the states before and after a change, read and
converted once, equal the two loads it replaces (the oracle); the change is
applied over kustomizations too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench.synth import dumps_json, generate

from netfence.io.cluster import load_cluster, load_cluster_change
from netfence.model.policy import Direction
from netfence.parse.build import BuildResult


def _same(a: BuildResult, b: BuildResult) -> None:
    assert a.cluster == b.cluster
    assert set(a.diagnostics) == set(b.diagnostics)
    assert a.completeness == b.completeness


def _change(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One policy edited (its first rule dropped), one added, one Pod relabelled."""
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    edited = json.loads(json.dumps(policies[0]))
    edited["spec"].pop("ingress", None)
    added = json.loads(json.dumps(policies[1]))
    added["metadata"]["name"] = "added-by-the-change"
    pod = json.loads(json.dumps(next(o for o in objects if o["kind"] == "Pod")))
    pod["metadata"]["labels"]["relabelled"] = "yes"
    return [edited, added, pod]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_pair_equals_two_loads(tmp_path: Path, seed: int) -> None:
    objects = generate(300, 40, seed)
    (tmp_path / "cluster.json").write_text(dumps_json(objects))
    (tmp_path / "change.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": _change(objects)})
    )
    files, changes = [str(tmp_path / "cluster.json")], [str(tmp_path / "change.json")]
    before, after = load_cluster_change(files, changes)
    _same(before, load_cluster(files))
    _same(after, load_cluster([*files, *changes]))
    assert before.cluster != after.cluster


def test_the_change_is_applied_over_a_kustomization(tmp_path: Path) -> None:
    """`diff -k DIR --apply CHANGE`: the change replaces the kustomization's object of
    the same kind, namespace and name (applied over it, as kubectl apply would)."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources: [policy.yaml]\n")
    policy = (
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: p, namespace: a}\nspec: {podSelector: {}, policyTypes: [%s]}\n"
    )
    (base / "policy.yaml").write_text(policy % "Ingress")
    (tmp_path / "change.yaml").write_text(policy % "Egress")
    before, after = load_cluster_change([], [str(tmp_path / "change.yaml")], [str(base)])
    assert [p.policy_types for p in before.cluster.policies] == [{Direction.INGRESS}]
    assert [p.policy_types for p in after.cluster.policies] == [{Direction.EGRESS}]
