"""build_cluster with a ConversionCache gives exactly what it gives without one,
across a sequence of changed, added, removed, duplicated and invalid documents."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster
from netfence.parse.build import ConversionCache

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 80}]}]},
    "status": {"podIP": "10.1.0.1"},
}
POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny", "namespace": "shop"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}
BROKEN = {**POLICY, "metadata": {"name": "broken", "namespace": "shop"}, "spec": {"podSelector": 3}}


def documents(*objects: dict[str, Any]) -> list[RawDocument]:
    return [RawDocument(Source("in.yaml", i + 1), o) for i, o in enumerate(objects)]


def relabelled(pod: dict[str, Any], app: str) -> dict[str, Any]:
    changed = copy.deepcopy(pod)
    changed["metadata"].setdefault("labels", {})["app"] = app
    return changed


STEPS = [
    ("first", [POD, POLICY]),
    ("unchanged", [POD, POLICY]),
    ("pod relabelled", [relabelled(POD, "api"), POLICY]),
    ("invalid policy added", [POD, POLICY, BROKEN]),
    ("same name twice", [POD, POLICY, POLICY]),
    ("removed", [POD]),
    ("unknown kind", [POD, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]),
]


def test_a_cached_build_equals_a_fresh_one_at_every_step() -> None:
    cache = ConversionCache()
    kept: list[RawDocument] = []
    for name, objects in STEPS:
        # unchanged objects are handed back as the same document, as the sources do
        docs = [next((d for d in kept if d.obj is o), None) or RawDocument(Source("in.yaml", i + 1), o)
                for i, o in enumerate(objects)]  # fmt: skip
        kept = docs
        cached, fresh = build_cluster(docs, cache=cache), build_cluster(docs)
        assert cached == fresh, name
        messages = [d.message for d in cached.diagnostics]
        assert bool(cached.errors) == (name == "invalid policy added"), name
        assert any("replaces an earlier" in m for m in messages) == (name == "same name twice")
        assert bool(cached.skipped) == (name == "unknown kind"), name


def test_unchanged_documents_are_not_converted_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import netfence.parse.build as build

    calls: list[str] = []
    convert = build._convert

    def counting(doc: RawDocument, namespace: str) -> object:
        calls.append(doc.kind)
        return convert(doc, namespace)

    monkeypatch.setattr(build, "_convert", counting)
    cache = ConversionCache()
    docs = documents(POD, POLICY)
    build_cluster(docs, cache=cache)
    build_cluster(docs, cache=cache)
    assert calls == ["Pod", "NetworkPolicy"]
    build_cluster([docs[0], *documents(POD, relabelled(POLICY, "x"))[1:]], cache=cache)
    assert calls == ["Pod", "NetworkPolicy", "NetworkPolicy"]
    assert len(cache._entries) == 2  # the replaced policy's entry was dropped


def test_another_default_namespace_is_another_conversion() -> None:
    pod = copy.deepcopy(POD)
    del pod["metadata"]["namespace"]
    cache = ConversionCache()
    docs = documents(pod)
    a = build_cluster(docs, "a", cache=cache).cluster
    b = build_cluster(docs, "b", cache=cache).cluster
    assert [p.namespace for p in a.pods] == ["a"] and [p.namespace for p in b.pods] == ["b"]


def test_a_source_without_document_order_is_named_alone() -> None:
    assert Source("kubernetes NetworkPolicy", 0).format() == "kubernetes NetworkPolicy"
    assert Source("in.yaml", 2).format() == "in.yaml: doc 2"
