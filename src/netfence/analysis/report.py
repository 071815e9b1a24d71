"""Everything the HTML report shows, computed once: the workload matrix per port,
one explanation per cell and port, and the lint findings.

Up to ``Limits.workloads`` workloads the report shows every workload pair,
computed by the engine pod pair by pair. Past that it aggregates by namespace
(``Aggregated``): namespace × namespace counts from the whole-cluster class
analysis, and the workload cells of as many namespace pairs as ``Limits``
allows, so that the page stays bounded at any size (docs/report.md). The
namespaces shown can be chosen (``namespaces``): the policies of every namespace still apply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netfence.analysis.aggregate import Count, PortCell, namespace_counts, pair_cells
from netfence.analysis.lint import Finding, lint
from netfence.analysis.matrix import (
    EngineClasses,
    Group,
    destination_ports,
    group_pods,
    probes,
)
from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.connections import pod_connection
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster, Pod
from netfence.model.ports import Protocol

MAX_WORKLOADS = 60  # one by one up to this many workloads (3,600 cells)

__all__ = ["MAX_WORKLOADS", "Aggregated", "Limits", "PortCell", "ReportData", "report_data"]


@dataclass(frozen=True)
class Limits:
    """What bounds the page: measured in docs/report.md."""

    workloads: int = MAX_WORKLOADS  # one by one up to this many workloads
    cells: int = 20_000  # workload cells embedded in an aggregated report, in all
    pair: int = 2_500  # workload cells of one namespace pair, at most, to embed it
    explained: int = 2_000  # of the embedded cells, those with explanations


@dataclass(frozen=True)
class Aggregated:
    """The report by namespace: counts for every pair, workload cells for some."""

    namespaces: tuple[str, ...]
    workloads: tuple[tuple[Group, ...], ...]  # per namespace
    pods: tuple[int, ...]  # per namespace
    counts: dict[tuple[int, int], Count]  # (source, destination) namespace index
    drill: dict[tuple[int, int], dict[tuple[int, int], tuple[PortCell, ...]]]
    explained: frozenset[tuple[int, int]]  # the pairs whose cells carry explanations
    pair_limit: int  # the largest pair embedded, in workload cells
    cell_limit: int  # the workload cells embedded in all, at most
    explained_limit: int  # the workload cells embedded with explanations, at most


@dataclass(frozen=True)
class ReportData:
    groups: tuple[Group, ...]  # empty when aggregated
    cells: dict[tuple[int, int], tuple[PortCell, ...]]  # (source, destination) index → ports
    findings: tuple[Finding, ...]
    aggregated: Aggregated | None = None
    namespaces: tuple[str, ...] = ()  # the namespaces shown, when chosen


def report_data(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    family: int | None = None,
    namespaces: Sequence[str] = (),
    limits: Limits = Limits(),
) -> ReportData:
    """Every cell by port; in ``family`` when given, else each destination's primary.
    Past ``limits.workloads`` workloads, by namespace (IPv4, as the class analysis)."""
    groups = group_pods(cluster, namespaces)
    findings = tuple(lint(cluster, compiled))
    if len(groups) > limits.workloads:
        if family not in (None, 4):
            raise ValueError("an aggregated report judges IPv4 connections only")
        aggregated = aggregate(compiled, cluster, groups, limits)
        return ReportData((), {}, findings, aggregated, tuple(namespaces))
    classes = EngineClasses(compiled, cluster, family)
    units = [_Units(classes, g) for g in groups]
    cells = {
        (i, j): _class_cell(classes, src, dst, units[i], units[j])
        for i, src in enumerate(groups)
        for j, dst in enumerate(groups)
    }
    return ReportData(groups, cells, findings, None, tuple(namespaces))


def pairwise_cells(
    compiled: CompiledPolicySet, cluster: Cluster, groups: Sequence[Group], family: int | None
) -> dict[tuple[int, int], tuple[PortCell, ...]]:
    """The by-workload cells asked of the engine pod pair by pod pair."""
    return {
        (i, j): _cell(compiled, cluster, src, dst, family)
        for i, src in enumerate(groups)
        for j, dst in enumerate(groups)
    }


def aggregate(
    compiled: CompiledPolicySet, cluster: Cluster, groups: Sequence[Group], limits: Limits
) -> Aggregated:
    from netfence.analysis.scale.summary import ClusterAnalysis

    analysis = ClusterAnalysis(cluster, compiled)
    names = tuple(sorted({g.namespace for g in groups}))
    index = {n: i for i, n in enumerate(names)}
    per_ns: list[list[Group]] = [[] for _ in names]
    for g in groups:
        per_ns[index[g.namespace]].append(g)
    counts = namespace_counts(analysis, names)
    class_of = {id(p): c for c, members in enumerate(analysis.table.members) for p in members}
    pair_limit, max_cells = min(limits.pair, limits.cells), limits.cells
    explained_limit = min(limits.explained, limits.cells)
    drill: dict[tuple[int, int], dict[tuple[int, int], tuple[PortCell, ...]]] = {}
    explained: set[tuple[int, int]] = set()
    used = used_explained = 0
    for i, j in _by_interest(counts.counts):
        size = len(per_ns[i]) * len(per_ns[j])
        if size > pair_limit or used + size > max_cells:
            continue
        explain = used_explained + size <= explained_limit
        drill[(i, j)] = pair_cells(analysis, class_of, per_ns[i], per_ns[j], explain)
        used += size
        if explain:
            explained.add((i, j))
            used_explained += size
    pods = tuple(sum(len(g.pods) for g in ws) for ws in per_ns)
    return Aggregated(
        names,
        tuple(tuple(ws) for ws in per_ns),
        pods,
        counts.counts,
        drill,
        frozenset(explained),
        pair_limit,
        max_cells,
        explained_limit,
    )


def _by_interest(counts: dict[tuple[int, int], Count]) -> list[tuple[int, int]]:
    """Within a namespace first, then pairs with allowed connections, then the rest."""
    return sorted(counts, key=lambda p: (p[0] != p[1], counts[p].allowed == 0, p[0], p[1]))


def _cell(
    compiled: CompiledPolicySet, cluster: Cluster, src: Group, dst: Group, family: int | None
) -> tuple[PortCell, ...]:
    found: dict[str, list[Decision]] = {}
    for s, d, port, protocol in probes(src, dst, family=family):
        decision = evaluate(compiled, cluster, pod_connection(s, d, port, protocol, family))
        found.setdefault(f"{port}/{protocol.value}", []).append(decision)
    loopback, selves = _loopback(compiled, cluster, src, dst, family)
    return tuple(
        PortCell(
            port,
            sum(1 for d in found.get(port, ()) if d.allowed),
            len(found.get(port, ())),
            found[port][0] if port in found else selves[port],
            loopback.get(port, 0),
            _other(found.get(port, [])),
        )
        for port in sorted(found.keys() | loopback.keys())
    )


class _Units:
    """A group's pods that take part (an address of the family), by engine class:
    how many, and the first two with their positions in the group."""

    def __init__(self, classes: EngineClasses, group: Group) -> None:
        self.counts: dict[int, int] = {}
        self.first: dict[int, tuple[int, Pod]] = {}
        self.second: dict[int, tuple[int, Pod]] = {}
        for at, pod in enumerate(group.pods):
            if classes.family is not None and pod.ip_of_version(classes.family) is None:
                continue
            c = classes.of[id(pod)]
            self.counts[c] = self.counts.get(c, 0) + 1
            if c not in self.first:
                self.first[c] = (at, pod)
            elif c not in self.second:
                self.second[c] = (at, pod)


@dataclass
class _Probe:
    """The first probe (in probe order) of one verdict for one port of a cell."""

    order: tuple[int, int, int]  # source pod, destination pod, declared port: positions
    source: Pod
    destination: Pod
    port: int
    protocol: Protocol


def _class_cell(
    classes: EngineClasses, src: Group, dst: Group, sources: _Units, destinations: _Units
) -> tuple[PortCell, ...]:
    """``_cell`` from the class pairs: counts, and the first pod pair of each verdict."""
    allowed: dict[str, int] = {}
    total: dict[str, int] = {}
    firsts: dict[str, dict[bool, _Probe]] = {}
    same_group = src.key == dst.key
    for cs, ns in sources.counts.items():
        s_at, s = sources.first[cs]
        for cd, nd in destinations.counts.items():
            if same_group and cs == cd:  # the same pods: pairs of two distinct ones
                pairs = ns * (ns - 1)
                d_at, d = destinations.second.get(cd, (-1, s))
            else:
                pairs = ns * nd
                d_at, d = destinations.first[cd]
            if not pairs:
                continue
            for at, (port, protocol) in enumerate(destination_ports(d, None, None)):
                key = f"{port}/{protocol.value}"
                ok = classes.allowed(cs, cd, port, protocol)
                total[key] = total.get(key, 0) + pairs
                allowed[key] = allowed.get(key, 0) + (pairs if ok else 0)
                probe = _Probe((s_at, d_at, at), s, d, port, protocol)
                known = firsts.setdefault(key, {})
                if ok not in known or probe.order < known[ok].order:
                    known[ok] = probe
    loopback, selves = _loopback(classes.compiled, classes.cluster, src, dst, classes.family)
    out = []
    for key in sorted(total.keys() | loopback.keys()):
        example, other = selves.get(key), None
        if key in firsts:
            first, *rest = sorted(firsts[key].values(), key=lambda p: p.order)
            example = _decide(classes, first)
            other = _decide(classes, rest[0]) if rest else None
        assert example is not None
        out.append(
            PortCell(
                key, allowed.get(key, 0), total.get(key, 0), example, loopback.get(key, 0), other
            )
        )
    return tuple(out)


def _decide(classes: EngineClasses, probe: _Probe) -> Decision:
    conn = pod_connection(
        probe.source, probe.destination, probe.port, probe.protocol, classes.family
    )
    return evaluate(classes.compiled, classes.cluster, conn)


def _loopback(
    compiled: CompiledPolicySet, cluster: Cluster, src: Group, dst: Group, family: int | None
) -> tuple[dict[str, int], dict[str, Decision]]:
    """Per port: the connections of a pod to itself in the cell, and the decision of
    the first (what a cell shows when it has nothing else)."""
    loopback: dict[str, int] = {}
    selves: dict[str, Decision] = {}
    if src.key == dst.key:
        for pod in src.pods:
            if family is not None and pod.ip_of_version(family) is None:
                continue
            for port, protocol in destination_ports(pod, None, None):
                key = f"{port}/{protocol.value}"
                loopback[key] = loopback.get(key, 0) + 1
                if key not in selves:
                    conn = pod_connection(pod, pod, port, protocol, family)
                    selves[key] = evaluate(compiled, cluster, conn)
    return loopback, selves


def _other(decisions: list[Decision]) -> Decision | None:
    """In a mixed cell, the first pod pair whose verdict differs from the first's."""
    if not decisions:
        return None
    return next((d for d in decisions if d.allowed != decisions[0].allowed), None)
