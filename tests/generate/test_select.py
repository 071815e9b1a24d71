"""Subjects: the fewest stable labels that leave out every other pod of the
namespace; DoesNotExist when labels alone cannot; said when nothing can."""

from __future__ import annotations

import json

import pytest

import netfence
from netfence.analysis.generate_select import subject_for


def _cluster(pods: list[tuple[str, dict[str, str]]]) -> netfence.api.Loaded:
    items = [
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": f"{name}-{i}", "namespace": "ns", "labels": labels,
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet",
                                           "name": name, "uid": "u", "controller": True}]},
         "spec": {"containers": [{"name": "c", "image": "x"}]},
         "status": {"podIPs": [{"ip": f"10.0.0.{i + 1}"}]}}
        for i, (name, labels) in enumerate(pods)
    ]  # fmt: skip
    return netfence.loads(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))


CASES = [
    # (pods as (workload, labels)), the subject workload, labels, absent, shared
    ([("web", {"app": "web", "statefulset.kubernetes.io/pod-name": "web-0"}),
      ("web", {"app": "web", "statefulset.kubernetes.io/pod-name": "web-1"})],
     "web", [("app", "web")], [], []),
    # the retail case: catalog and catalog-mysql share app.kubernetes.io/name
    ([("catalog", {"app.kubernetes.io/name": "catalog", "app.kubernetes.io/component": "service"}),
      ("catalog-mysql", {"app.kubernetes.io/name": "catalog", "app.kubernetes.io/component": "mysql"})],
     "catalog", [("app.kubernetes.io/name", "catalog"), ("app.kubernetes.io/component", "service")], [], []),
    # only a label the other has tells them apart
    ([("api", {"app": "shop"}), ("db", {"app": "shop", "team": "database"})],
     "api", [("app", "shop")], ["team"], []),
    # nothing tells them apart but a per-replica label: said, never used
    ([("a", {"app": "x", "controller-revision-hash": "1"}), ("b", {"app": "x", "controller-revision-hash": "2"})],
     "a", [("app", "x")], [], ["ns/b-1"]),
]  # fmt: skip


@pytest.mark.parametrize(("pods", "workload", "labels", "absent", "shared"), CASES)
def test_subjects(
    pods: list[tuple[str, dict[str, str]]],
    workload: str,
    labels: list[tuple[str, str]],
    absent: list[str],
    shared: list[str],
) -> None:
    cluster = _cluster(pods).cluster
    mine = [p for p in cluster.pods if p.workload and p.workload.name == workload]
    subject = subject_for(f"ns/statefulset/{workload}", mine, cluster)
    assert (list(subject.labels), list(subject.absent), list(subject.shared_with)) == (
        labels,
        absent,
        shared,
    )
    selected = {p.key for p in cluster.pods if subject.matches(p)}
    assert selected == {p.key for p in mine} | set(shared)  # exact, but for what it says
