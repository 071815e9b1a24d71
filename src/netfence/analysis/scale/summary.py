"""The whole-cluster analysis: allowed ordered pod pairs per port class.

On port class q, a connection from a pod of class s to a pod of class d is
allowed iff d is in the egress row of s's egress group and s is in the ingress
row of d's ingress group (rowbook). With w the pods per class, v(s) the egress
row of s and u(d) the ingress row of d, the pairs allowed from s are

    R[s] = Σ_{u: s ∈ I_u} Y[v(s)][u],   Y[v][u] = Σ_{d ∈ E_v, u(d) = u} w_d

so the C×C matrix is never built: both sums run over the rows' members only
(rows are sparse class lists; "every class" rows take a shortcut).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netfence.analysis.scale.classes import BoolVector, ClassTable, IntVector, build_classes
from netfence.analysis.scale.ports import PortClass, PortPartition, partition, spec_of
from netfence.analysis.scale.rowbook import Row, RowBook
from netfence.analysis.scale.rules import NOT_ISOLATED, direction_tables
from netfence.analysis.scale.selectors import SelectorIndex
from netfence.compile.compiled import CompiledPolicySet
from netfence.model.cluster import Cluster
from netfence.model.policy import Direction, IPBlock


@dataclass(frozen=True)
class PortClassSummary:
    port_class: PortClass
    allowed_pairs: int


@dataclass(frozen=True)
class Summary:
    pods: int
    classes: int
    ordered_pairs: int  # n·(n−1): every pod to every other pod
    egress_isolated: int
    ingress_isolated: int
    port_classes: tuple[PortClassSummary, ...]


@dataclass(frozen=True)
class _UniqueRows:
    rows: list[Row]
    of_class: IntVector  # row index of each class


class ClusterAnalysis:
    """Compiled, vectorized analysis of one cluster and its policies."""

    def __init__(self, cluster: Cluster, compiled: CompiledPolicySet) -> None:
        self.cluster = cluster
        self.compiled = compiled
        self.table: ClassTable = build_classes(cluster, _blocks(compiled))
        self.index = SelectorIndex(self.table, {ns.name: ns.labels for ns in cluster.namespaces})
        self.ports: PortPartition = _partition(compiled, self.table)
        size = self.table.size
        policies = compiled.policies
        self.egress = direction_tables(
            Direction.EGRESS, policies, self.table, self.index, self.ports
        )
        self.ingress = direction_tables(
            Direction.INGRESS, policies, self.table, self.index, self.ports
        )
        self.egress_rows = RowBook(self.egress, size, named_on_peer=True)
        self.ingress_rows = RowBook(self.ingress, size, named_on_peer=False)
        count = len(self.ports.classes)
        self.rows = np.zeros((size, count), dtype=np.int64)
        self.self_allowed = np.zeros((size, count), dtype=np.bool_)
        for q in range(count):
            self.rows[:, q], self.self_allowed[:, q] = self._rows_for(q)

    def _unique(self, book: RowBook, group_of: IntVector, q: int) -> _UniqueRows:
        ids: dict[object, int] = {}
        rows: list[Row] = []
        of_group = np.zeros(len(book.tables.groups), dtype=np.int64)
        for g in range(len(book.tables.groups)):
            signature = book.signature(g, q)
            row_id = ids.get(signature)
            if row_id is None:
                row_id = ids[signature] = len(rows)
                rows.append(book.row_of(signature))
            of_group[g] = row_id
        return _UniqueRows(rows, of_group[group_of])

    def _rows_for(self, q: int) -> tuple[IntVector, BoolVector]:
        """R[s] for every class s on port class q, and whether each class allows
        itself (a pod paired with itself is taken out of the counts later)."""
        size, w = self.table.size, self.table.weights
        inbound = self._unique(self.ingress_rows, self.ingress.group_of, q)
        outbound = self._unique(self.egress_rows, self.egress.group_of, q)
        u_of, v_of = inbound.of_class, outbound.of_class
        n_u, n_v = len(inbound.rows), len(outbound.rows)
        y = np.zeros((n_v, n_u), dtype=np.float64)
        v_all, d_all = _pairs(outbound.rows, size)
        np.add.at(y, (v_all, u_of[d_all]), w[d_all])
        r = np.zeros(size, dtype=np.float64)
        u_all, s_all = _pairs(inbound.rows, size)
        r += np.bincount(s_all, weights=y[v_of[s_all], u_all], minlength=size)
        diagonal = np.zeros(size, dtype=np.bool_)
        in_own_egress = d_all[v_of[d_all] == v_all]
        in_own_ingress = s_all[u_of[s_all] == u_all]
        diagonal[np.intersect1d(in_own_egress, in_own_ingress)] = True
        return np.rint(r).astype(np.int64), diagonal

    def class_matrix(self, q: int) -> npt.NDArray[np.bool_]:
        """A[s][d] over classes on port class q: for small clusters, tests and views."""
        size = self.table.size
        egress = np.zeros((size, size), dtype=np.bool_)
        ingress = np.zeros((size, size), dtype=np.bool_)
        for c in range(size):
            egress[c] = self.egress_rows.dense(
                self.egress_rows.row(int(self.egress.group_of[c]), q)
            )
            ingress[c] = self.ingress_rows.dense(
                self.ingress_rows.row(int(self.ingress.group_of[c]), q)
            )
        return egress & ingress.T

    def allowed_pairs(self, q: int) -> int:
        """Ordered pairs of distinct pods allowed on port class q (a pod paired
        with itself is not counted)."""
        w = self.table.weights
        return int(w @ self.rows[:, q]) - int(w @ self.self_allowed[:, q])

    def summary(self) -> Summary:
        w = self.table.weights
        n = int(w.sum())
        return Summary(
            pods=n,
            classes=self.table.size,
            ordered_pairs=n * (n - 1),
            egress_isolated=int(w[self.egress.group_of != NOT_ISOLATED].sum()),
            ingress_isolated=int(w[self.ingress.group_of != NOT_ISOLATED].sum()),
            port_classes=tuple(
                PortClassSummary(pc, self.allowed_pairs(q))
                for q, pc in enumerate(self.ports.classes)
            ),
        )


def _pairs(rows: list[Row], size: int) -> tuple[IntVector, IntVector]:
    """(row index, class) for every member of every row; "every class" rows expanded."""
    everything = np.arange(size, dtype=np.int64)
    members = [everything if row is None else row for row in rows]
    lengths = np.array([m.size for m in members], dtype=np.int64)
    if lengths.sum() == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.repeat(np.arange(len(rows), dtype=np.int64), lengths), np.concatenate(members)


def _blocks(compiled: CompiledPolicySet) -> list[IPBlock]:
    seen: dict[IPBlock, None] = {}
    for c in compiled.policies:
        for rules in (c.ingress, c.egress):
            for rule in rules:
                for m in rule.peers or ():
                    if m.peer.ip_block is not None:
                        seen.setdefault(m.peer.ip_block)
    return list(seen)


def _partition(compiled: CompiledPolicySet, table: ClassTable) -> PortPartition:
    numeric = []
    named = set()
    for c in compiled.policies:
        for rules in (c.ingress, c.egress):
            for rule in rules:
                for m in rule.ports or ():
                    spec = spec_of(m.port)
                    if len(spec) == 3:
                        numeric.append(spec)
                    else:
                        named.add(spec)
    numbers = {
        (p.protocol, p.port)
        for key in table.keys
        for p in key.ports
        if (p.protocol, p.name) in named
    }
    return partition(numeric, numbers)
