"""The report at any size: namespace × namespace counts from the whole-cluster
class analysis, and the workload cells of chosen namespace pairs.

A namespace cell counts what the workload cells it stands for count: the (source
pod, destination pod, declared port of the destination) connections between
distinct pods, and apart from them the connections of a pod to itself (loopback,
always allowed). The counts come from ``ClusterAnalysis`` (IPv4 connections,
docs/scale.md): with w the pods of a class, P_q[d] the declared ports of class d
in port class q, E(s) and I(d) the egress and ingress rows on q,

    allowed[n, m] = Σ_q Σ_{s ∈ n} w_s Σ_{d ∈ m} w_d P_q[d] [d ∈ E(s)] [s ∈ I(d)]
                    − Σ_q Σ_{c ∈ n, n = m} w_c P_q[c] [c ∈ E(c)] [c ∈ I(c)]

The inner sum is taken as the analysis takes R (summary.py), bucketed by the
destination's namespace: one pass over the distinct ingress rows, then the
egress rows of isolated sources. No pod × pod or class × class matrix is built.
A namespace pair's workload cells are computed for that pair only, on the
classes of its two namespaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netfence.analysis.matrix import Group
from netfence.analysis.scale.classes import ANALYSIS_IP_VERSION, IntVector
from netfence.analysis.scale.rowbook import Row, RowBook
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.engine.connections import pod_connection
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Pod
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection

FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Count:
    """Connections between distinct pods (allowed of total), and of pods to themselves."""

    allowed: int
    total: int
    loopback: int


@dataclass(frozen=True, slots=True)
class NamespaceCounts:
    namespaces: tuple[str, ...]
    counts: dict[tuple[int, int], Count]  # (source, destination) index; pairs with something


@dataclass(frozen=True)
class PortCell:
    """One (source workload, destination workload, port) of the report. ``allowed``
    and ``total`` count connections between distinct pods; ``loopback`` those of a
    pod to itself, always allowed and not counted (as in ``matrix`` and ``check``)."""

    port: str  # "8080/TCP"
    allowed: int
    total: int
    example: Decision | None  # the first pod pair (a pod and itself when that is all);
    # None in an aggregated report's cells past its budget of explanations
    loopback: int = 0
    other: Decision | None = None  # in a mixed cell, a pod pair of the other verdict


def namespace_counts(analysis: ClusterAnalysis, namespaces: Sequence[str]) -> NamespaceCounts:
    """The counts between every two of ``namespaces`` (every namespace with pods)."""
    table = analysis.table
    size = table.size
    wanted = {n: i for i, n in enumerate(namespaces)}
    ns_of = np.array([wanted.get(n, -1) for n in table.namespaces], dtype=np.int64)
    ns = ns_of[table.namespace_ids] if size else np.zeros(0, dtype=np.int64)
    count = len(namespaces)
    w = table.weights.astype(np.float64)
    port_counts = _port_counts(analysis)  # (size, port classes)
    allowed = np.zeros((count, count), dtype=np.float64)
    inside = ns >= 0
    by_namespace = _Buckets(ns[inside], count)
    for q in np.flatnonzero(port_counts.sum(axis=0)).tolist():
        wd = w * port_counts[:, q] * inside
        reach = _reach(analysis, q, wd, ns, count)
        rows = np.zeros_like(reach)
        for k, members in enumerate(analysis.egress_members):
            if members.size:
                rows[members] = _through(analysis, k, members, q, wd, ns, count, reach)
        allowed += by_namespace.sum(w[inside, None] * rows[inside])
        own = analysis.self_allowed[:, q] & inside  # each pod paired with itself: not counted
        np.subtract.at(allowed, (ns[own], ns[own]), w[own] * port_counts[own, q])
    declared = port_counts.sum(axis=1).astype(np.float64)
    pods = np.bincount(ns[inside], weights=w[inside], minlength=count)
    ports = np.bincount(ns[inside], weights=(w * declared)[inside], minlength=count)
    loopback = ports.copy()
    counts: dict[tuple[int, int], Count] = {}
    for i in range(count):
        for j in range(count):
            total = pods[i] * ports[j] - (loopback[i] if i == j else 0.0)
            own_loop = int(loopback[i]) if i == j else 0
            if total or own_loop:
                counts[(i, j)] = Count(round(float(allowed[i, j])), round(float(total)), own_loop)
    return NamespaceCounts(tuple(namespaces), counts)


class _Buckets:
    """Rows summed by their bucket (a class's namespace), sorted once: one
    ``reduceat`` per sum instead of ``np.add.at``'s element by element."""

    def __init__(self, bucket: npt.NDArray[np.int64], count: int) -> None:
        self.order = np.argsort(bucket, kind="stable")
        ordered = bucket[self.order]
        self.starts = (
            np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if ordered.size else ordered
        )
        self.buckets = ordered[self.starts]
        self.count = count

    def sum(self, values: FloatMatrix) -> FloatMatrix:
        out = np.zeros((self.count, values.shape[1]), dtype=np.float64)
        if self.starts.size:
            out[self.buckets] = np.add.reduceat(values[self.order], self.starts, axis=0)
        return out


def _port_counts(analysis: ClusterAnalysis) -> FloatMatrix:
    """Per class and port class: how many declared ports of a pod of the class fall in it."""
    table, partition = analysis.table, analysis.ports
    out = np.zeros((table.size, len(partition.classes)), dtype=np.float64)
    for c, key in enumerate(table.keys):
        for p in key.ports:
            out[c, partition.class_of(p.protocol, p.port)] += 1
    return out


def _reach(
    analysis: ClusterAnalysis, q: int, wd: FloatMatrix, ns: npt.NDArray[np.int64], count: int
) -> FloatMatrix:
    """T by destination namespace: for each source class s and namespace m,
    Σ_{d ∈ m} wd[d] [s ∈ I(d)], egress aside."""
    size = analysis.table.size
    inbound = analysis.unique_rows(analysis.ingress_rows, analysis.ingress.group_of, q)
    keep = (ns >= 0) & (wd > 0)
    flat = inbound.of_class[keep] * count + ns[keep]
    rows = len(inbound.rows)
    totals = np.asarray(
        np.bincount(flat, weights=wd[keep], minlength=rows * count), dtype=np.float64
    ).reshape(rows, count)
    out = np.zeros((size, count), dtype=np.float64)
    nz_row, nz_ns = np.nonzero(totals)  # by row, then namespace
    chosen: list[int] = []
    for u in np.unique(nz_row).tolist():
        row = inbound.rows[u]
        if row is None:
            out += totals[u]
        elif row.size:
            chosen.append(u)
    if chosen:
        out += _spread(inbound.rows, chosen, totals, nz_row, nz_ns, size)
    return out


def _spread(
    rows: list[Row],
    chosen: list[int],
    totals: FloatMatrix,
    nz_row: IntVector,
    nz_ns: IntVector,
    size: int,
) -> FloatMatrix:
    """Σ over the chosen rows u of totals[u] added to each member of row u, in one
    ``bincount``: every (member, namespace with a total) pair of every row."""
    count = totals.shape[1]
    members = [rows[u] for u in chosen]
    lengths = np.array([m.size for m in members if m is not None], dtype=np.int64)
    row_of = np.repeat(np.array(chosen, dtype=np.int64), lengths)
    member = np.concatenate([m for m in members if m is not None])
    first = np.searchsorted(nz_row, row_of)  # each row's first nonzero namespace
    spans = np.bincount(nz_row, minlength=totals.shape[0])[row_of]
    pair = np.repeat(np.arange(row_of.size, dtype=np.int64), spans)
    offset = np.arange(pair.size, dtype=np.int64) - np.repeat(np.cumsum(spans) - spans, spans)
    k = first[pair] + offset
    flat = member[pair] * count + nz_ns[k]
    weights = totals[nz_row[k], nz_ns[k]]
    summed = np.bincount(flat, weights=weights, minlength=size * count)
    return np.asarray(summed, dtype=np.float64).reshape(size, count)


def _through(
    analysis: ClusterAnalysis,
    k: int,
    members: npt.NDArray[np.int64],
    q: int,
    wd: FloatMatrix,
    ns: npt.NDArray[np.int64],
    count: int,
    reach: FloatMatrix,
) -> FloatMatrix:
    """R by destination namespace for the members of egress group k."""
    row = analysis.egress_rows.row(k, q)
    if row is None:
        return reach[members]
    out = np.zeros((members.size, count), dtype=np.float64)
    if row.size == 0:
        return out
    dests = row[(ns[row] >= 0) & (wd[row] > 0)]
    if dests.size == 0:
        return out
    groups = analysis.ingress.group_of[dests]
    for g in np.unique(groups).tolist():
        chosen = dests[groups == g]
        per_ns = np.bincount(ns[chosen], weights=wd[chosen], minlength=count)
        allowed = analysis.ingress_rows.row(g, q)
        hits = (
            np.ones(members.size, dtype=np.bool_) if allowed is None else np.isin(members, allowed)
        )
        out[hits] += per_ns
    return out


def pair_cells(
    analysis: ClusterAnalysis,
    class_of: dict[int, int],
    sources: Sequence[Group],
    destinations: Sequence[Group],
    explain: bool = True,
) -> dict[tuple[int, int], tuple[PortCell, ...]]:
    """The workload cells between two namespaces' workloads, by port, from the
    class analysis restricted to their classes; each explained by the engine on a
    representative pod pair (unless ``explain`` is false). ``class_of`` maps
    ``id(pod)`` to its class."""
    src_classes = sorted({class_of[id(p)] for g in sources for p in g.pods})
    dst_classes = sorted({class_of[id(p)] for g in destinations for p in g.pods})
    s_index = {c: i for i, c in enumerate(src_classes)}
    d_index = {c: i for i, c in enumerate(dst_classes)}
    s_arr = np.array(src_classes, dtype=np.int64)
    d_arr = np.array(dst_classes, dtype=np.int64)
    partition = analysis.ports
    needed = sorted(
        {
            partition.class_of(p.protocol, p.port)
            for c in dst_classes
            for p in analysis.table.keys[c].ports
        }
    )
    # as nested lists of bools: read once per class pair and port, far cheaper than numpy
    allowed_on = {q: _allowed_between(analysis, s_arr, d_arr, q).tolist() for q in needed}
    ports_of = {c: _ports(analysis, c) for c in dst_classes}
    out: dict[tuple[int, int], tuple[PortCell, ...]] = {}
    dst_units = [
        [(d_index[c], c, pods, ports_of[c]) for c, pods in _units(dst, class_of).items()]
        for dst in destinations
    ]
    for a, src in enumerate(sources):
        src_units = [(s_index[c], c, pods) for c, pods in _units(src, class_of).items()]
        for b, dst in enumerate(destinations):
            found = _tallies(src_units, dst_units[b], src.key == dst.key, allowed_on)
            cells = tuple(
                tally.cell(key, analysis, explain)
                for key, tally in sorted(found.items())
                if tally.total or tally.loopback
            )
            if cells:
                out[(a, b)] = cells
    return out


def _tallies(
    src_units: list[tuple[int, int, list[Pod]]],
    dst_units: list[tuple[int, int, list[Pod], list[tuple[str, int, int, Protocol]]]],
    same_group: bool,
    allowed_on: dict[int, list[list[bool]]],
) -> dict[str, _Tally]:
    """One workload pair by port: ``(row, class, pods)`` of the source's classes,
    ``(column, class, pods, ports)`` of the destination's; ``same_group``: the two
    are one workload (a class to itself is then the same pods)."""
    found: dict[str, _Tally] = {}
    for row, c1, s_pods in src_units:
        n_s = len(s_pods)
        s = s_pods[0]
        for column, c2, d_pods, ports in dst_units:
            same = same_group and c1 == c2
            pairs = n_s * len(d_pods) - (n_s if same else 0)
            for key, q, port, protocol in ports:
                ok = allowed_on[q][row][column]
                tally = found.get(key)
                if tally is None:
                    tally = found[key] = _Tally()
                if same:
                    tally.loopback += n_s
                    if tally.self_sample is None:
                        tally.self_sample = (s, port, protocol)
                tally.total += pairs
                if ok:
                    tally.allowed += pairs
                if pairs and ok not in tally.samples:
                    d = d_pods[1] if d_pods[0] is s else d_pods[0]  # s is in d_pods if same
                    tally.samples[ok] = (s, d, port, protocol)
    return found


def _allowed_between(
    analysis: ClusterAnalysis, sources: IntVector, destinations: IntVector, q: int
) -> npt.NDArray[np.bool_]:
    """(sources × destinations) on port class q: the destination in the source's
    egress row and the source in the destination's ingress row. Each distinct
    group's row is read once (the classes of a group share it)."""
    a = analysis
    egress = _rows_among(a.egress_rows, a.egress.group_of[sources], q, destinations)
    ingress = _rows_among(a.ingress_rows, a.ingress.group_of[destinations], q, sources)
    return egress & ingress.T


def _rows_among(
    book: RowBook, groups: IntVector, q: int, among: IntVector
) -> npt.NDArray[np.bool_]:
    """Per class (by its group): which of ``among`` its row on q holds. Each distinct
    row is made dense once (groups share rows)."""
    distinct, of = np.unique(groups, return_inverse=True)
    rows = np.zeros((distinct.size, among.size), dtype=np.bool_)
    dense: dict[int, npt.NDArray[np.bool_]] = {}
    for i, g in enumerate(distinct.tolist()):
        row_id = int(book.ids(g)[q])
        found = dense.get(row_id)
        if found is None:
            found = dense[row_id] = _dense(book.row_by_id(row_id), among)
        rows[i] = found
    return rows[of.reshape(-1)]


def _ports(analysis: ClusterAnalysis, c: int) -> list[tuple[str, int, int, Protocol]]:
    """The declared ports of class c: (``"80/TCP"``, port class, port, protocol)."""
    return [
        (f"{p.port}/{p.protocol.value}", analysis.ports.class_of(p.protocol, p.port), p.port,
         p.protocol)
        for p in analysis.table.keys[c].ports
    ]  # fmt: skip


def _dense(row: IntVector | None, among: IntVector) -> npt.NDArray[np.bool_]:
    """Which of ``among`` the sorted ``row`` holds (``np.isin``, by binary search)."""
    if row is None:
        return np.ones(among.size, dtype=np.bool_)
    if row.size == 0:
        return np.zeros(among.size, dtype=np.bool_)
    at = np.minimum(np.searchsorted(row, among), row.size - 1)
    found: npt.NDArray[np.bool_] = row[at] == among
    return found


def _units(group: Group, class_of: dict[int, int]) -> dict[int, list[Pod]]:
    units: dict[int, list[Pod]] = {}
    for pod in group.pods:
        units.setdefault(class_of[id(pod)], []).append(pod)
    return units


class _Tally:
    """Counts for one workload pair and port, with a pod pair of each verdict (the
    first seen of each, in the order of ``_tallies``)."""

    __slots__ = ("allowed", "loopback", "samples", "self_sample", "total")

    def __init__(self) -> None:
        self.allowed = self.total = self.loopback = 0
        self.samples: dict[bool, tuple[Pod, Pod, int, Protocol]] = {}
        self.self_sample: tuple[Pod, int, Protocol] | None = None

    def cell(self, key: str, analysis: ClusterAnalysis, explain: bool) -> PortCell:
        if not explain:
            return PortCell(key, self.allowed, self.total, None, self.loopback)
        cluster, compiled = analysis.cluster, analysis.compiled
        decisions = {
            ok: evaluate(compiled, cluster, _connection(s, d, port, protocol))
            for ok, (s, d, port, protocol) in self.samples.items()
        }
        if decisions:  # the first pair seen, and one of the other verdict if any
            first, *rest = decisions.values()
            other = rest[0] if rest else None
        else:
            assert self.self_sample is not None
            pod, port, protocol = self.self_sample
            first, other = evaluate(compiled, cluster, _connection(pod, pod, port, protocol)), None
        return PortCell(key, self.allowed, self.total, first, self.loopback, other)


def _connection(src: Pod, dst: Pod, port: int, protocol: Protocol) -> Connection:
    """In IPv4, as the class analysis judges, when both pods have an address of it."""
    v4 = src.ip_of_version(ANALYSIS_IP_VERSION) and dst.ip_of_version(ANALYSIS_IP_VERSION)
    return pod_connection(src, dst, port, protocol, ANALYSIS_IP_VERSION if v4 else None)
