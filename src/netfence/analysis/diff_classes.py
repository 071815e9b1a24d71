"""Class pairs whose verdict changed → the changes ``connectivity_diff`` lists.

A change of the class analysis says: every pod of class s to every pod of class d
(two distinct pods), on every port of port class q, now has the other verdict.
The pairwise diff lists, per (source workload, destination workload, declared
port of the destination, protocol, lost or gained), how many pod pairs changed
and the decisions of the first such pair in its probe order (source pod, then
destination pod, then the destination's declared ports, each in input order).
Both come from the classes without visiting pod pairs: per class, its pods in
each workload (how many, the first two and their positions), and per port class
the destination's declared ports in it. Only the change's first pair is shown
to the engine, in each state, to explain it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netfence.analysis.diff import (
    DNS_PORT,
    ChangeKind,
    ConnectionChange,
    State,
    decide,
    dns_backends,
)
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.analysis.scale.whatif import ClassChange
from netfence.model.cluster import Cluster, Pod
from netfence.model.ports import Protocol

ChangeKey = tuple[ChangeKind, str, str, int, Protocol]  # kind, workloads, port, protocol
ProbeOrder = tuple[int, int, int]  # source pod, destination pod, declared port: positions


@dataclass
class _Place:
    """The pods of one class inside one workload: how many, and the first two."""

    first: Pod
    first_at: int  # position in the workload
    count: int = 1
    second: Pod | None = None
    second_at: int = -1


@dataclass
class _Found:
    """One change being counted: its pod pairs and its first pair."""

    pairs: int
    order: ProbeOrder
    source: Pod
    destination: Pod


@dataclass
class _Classes:
    """Where each class's pods are, and its declared ports by port class."""

    places: list[dict[str, _Place]]  # per class: workload key → its pods of the class
    ports: list[dict[int, list[tuple[int, int, Protocol]]]]  # per class: q → (at, port, protocol)


def expand(
    analysis: ClusterAnalysis,
    changes: Sequence[ClassChange],
    before: State,
    after: State,
    family: int | None,
) -> list[ConnectionChange]:
    """The changes of ``connectivity_diff(before, after, family)``, in its order,
    from the class pairs ``changes`` (of ``analysis``, the class analysis of
    ``before`` whose pods are ``after``'s)."""
    involved = {c for change in changes for c in (change.source, change.destination)}
    classes = _classes(analysis, after.cluster, involved)
    found: dict[ChangeKey, _Found] = {}
    for change in changes:
        _count(change, classes, found)
    dns_pods = dns_backends(after.cluster)
    dns_workloads = {workload_of(p) for p in after.cluster.pods if p.key in dns_pods}
    ordered = sorted(
        found.items(),
        key=lambda item: (
            not (item[0][3] == DNS_PORT and item[0][2] in dns_workloads),
            item[0][0] is not ChangeKind.LOST,
            item[0][1],
            item[0][2],
            item[0][3],
            item[1].order,
        ),
    )
    return [_explained(key, f, before, after, family, dns_workloads) for key, f in ordered]


def _classes(analysis: ClusterAnalysis, cluster: Cluster, involved: set[int]) -> _Classes:
    """Where the pods of the ``involved`` classes are; their ports by port class.
    Only the namespaces of those classes are visited (a workload is in one)."""
    table = analysis.table
    namespaces = {table.keys[c].namespace for c in involved}
    position: dict[str, tuple[str, int]] = {}
    seen: dict[str, int] = {}
    for pod in cluster.pods:
        if pod.namespace in namespaces:
            workload = workload_of(pod)
            at = seen.get(workload, 0)
            seen[workload] = at + 1
            position[pod.key] = (workload, at)
    out = _Classes([{} for _ in range(table.size)], [{} for _ in range(table.size)])
    for c in involved:
        out.places[c] = _places(table.members[c], position)
        for at, p in enumerate(table.keys[c].ports):
            q = analysis.ports.class_of(p.protocol, p.port)
            out.ports[c].setdefault(q, []).append((at, p.port, p.protocol))
    return out


def _places(members: list[Pod], position: dict[str, tuple[str, int]]) -> dict[str, _Place]:
    mine: dict[str, _Place] = {}
    for pod in members:
        workload, at = position[pod.key]
        place = mine.get(workload)
        if place is None:
            mine[workload] = _Place(pod, at)
            continue
        place.count += 1
        if place.second is None:
            place.second, place.second_at = pod, at
    return mine


def workload_of(pod: Pod) -> str:
    """The key of the pod's group (``group_pods``): its workload, or the pod itself."""
    return f"{pod.namespace}/{pod.workload.format()}" if pod.workload else pod.key


def _count(change: ClassChange, classes: _Classes, found: dict[ChangeKey, _Found]) -> None:
    """Add the pod pairs of one class pair to the changes they belong to."""
    ports = classes.ports[change.destination].get(change.port_class)
    if not ports:
        return
    kind = ChangeKind.GAINED if change.allowed_after else ChangeKind.LOST
    same_class = change.source == change.destination
    for src, s in classes.places[change.source].items():
        for dst, d in classes.places[change.destination].items():
            if same_class and src == dst:  # the same pods: pairs of two distinct ones
                if d.second is None:
                    continue
                pairs, first = s.count * (s.count - 1), (s.first, d.second, s.first_at, d.second_at)
            else:
                pairs, first = s.count * d.count, (s.first, d.first, s.first_at, d.first_at)
            for at, port, protocol in ports:
                _add(found, (kind, src, dst, port, protocol), pairs, first, at)


def _add(
    found: dict[ChangeKey, _Found],
    key: ChangeKey,
    pairs: int,
    first: tuple[Pod, Pod, int, int],
    port_at: int,
) -> None:
    source, destination, s_at, d_at = first
    order = (s_at, d_at, port_at)
    known = found.get(key)
    if known is None:
        found[key] = _Found(pairs, order, source, destination)
        return
    known.pairs += pairs
    if order < known.order:
        known.order, known.source, known.destination = order, source, destination


def _explained(
    key: ChangeKey,
    found: _Found,
    before: State,
    after: State,
    family: int | None,
    dns_workloads: set[str],
) -> ConnectionChange:
    kind, src, dst, port, protocol = key
    old = decide(before, found.source, found.destination, port, protocol, family)
    new = decide(after, found.source, found.destination, port, protocol, family)
    dns = port == DNS_PORT and dst in dns_workloads
    return ConnectionChange(kind, src, dst, port, protocol, found.pairs, old, new, dns)
