"""The whole-cluster analysis: allowed ordered pod pairs per port class.

For a port class q, a source class s and a destination class d, the connection
is allowed iff E[g_e(s)][d] (the egress rules of s's group allow d) and
I[g_i(d)][s] (the ingress rules of d's group allow s). Summing over pods,

    R[s] = Σ_d w_d · E[g_e(s)][d] · I[g_i(d)][s] = Σ_m I[m][s] · Y[g_e(s)][m]
    Y[k][m] = Σ_{d in ingress group m} w_d · E[k][d]

so the C×C matrix is never built: rows of E are computed per egress group,
reduced by ingress group, and combined with the columns of I.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netfence.analysis.scale.classes import BoolVector, ClassTable, IntVector, build_classes
from netfence.analysis.scale.ports import PortClass, PortPartition, partition, spec_of
from netfence.analysis.scale.rules import NOT_ISOLATED, DirectionTables, direction_tables
from netfence.analysis.scale.selectors import SelectorIndex
from netfence.compile.compiled import CompiledPolicySet
from netfence.model.cluster import Cluster
from netfence.model.policy import Direction, IPBlock

CHUNK_BYTES = 64 * 1024 * 1024


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


class ClusterAnalysis:
    """Compiled, vectorized analysis of one cluster and its policies."""

    def __init__(self, cluster: Cluster, compiled: CompiledPolicySet) -> None:
        self.cluster = cluster
        self.compiled = compiled
        self.table: ClassTable = build_classes(cluster, _blocks(compiled))
        self.index = SelectorIndex(self.table, {ns.name: ns.labels for ns in cluster.namespaces})
        self.ports: PortPartition = _partition(compiled, self.table)
        self.egress = direction_tables(
            Direction.EGRESS, compiled.policies, self.table, self.index, self.ports
        )
        self.ingress = direction_tables(
            Direction.INGRESS, compiled.policies, self.table, self.index, self.ports
        )
        self.rows: npt.NDArray[np.int64] = self._all_rows()

    # --- per port class -------------------------------------------------------------------

    def egress_row(self, group: int, q: int) -> BoolVector:
        """Destination classes the egress rules of ``group`` allow on port class ``q``."""
        return _row(self.egress, group, q, self.table.size, named_on_peer=True)

    def ingress_row(self, group: int, q: int) -> BoolVector:
        """Source classes the ingress rules of ``group`` allow on port class ``q``."""
        return _row(self.ingress, group, q, self.table.size, named_on_peer=False)

    def _all_rows(self) -> npt.NDArray[np.int64]:
        rows = np.zeros((self.table.size, len(self.ports.classes)), dtype=np.int64)
        for q in range(len(self.ports.classes)):
            rows[:, q] = self._rows_for(q)
        return rows

    def _rows_for(self, q: int) -> IntVector:
        """R[s] for every source class s on port class q."""
        table = self.table
        w = table.weights
        ingress = np.array(
            [self.ingress_row(m, q) for m in range(len(self.ingress.groups))], dtype=np.bool_
        ).reshape(len(self.ingress.groups), table.size)
        order = np.argsort(self.ingress.group_of, kind="stable")
        m_sorted = self.ingress.group_of[order]
        starts = np.flatnonzero(np.r_[True, m_sorted[1:] != m_sorted[:-1]]) if table.size else order
        present = m_sorted[starts]
        weights_sorted = w[order]
        out = np.zeros(table.size, dtype=np.int64)
        for k in range(len(self.egress.groups)):
            members = np.flatnonzero(self.egress.group_of == k)
            if members.size == 0:
                continue
            e_row = self.egress_row(k, q)[order] * weights_sorted
            y = np.zeros(len(self.ingress.groups), dtype=np.int64)
            y[present] = np.add.reduceat(e_row, starts) if table.size else 0
            out[members] = y @ ingress[:, members]
        return out

    def class_matrix(self, q: int) -> npt.NDArray[np.bool_]:
        """A[s][d] over classes on port class q: small clusters, tests and views only."""
        egress = np.array(
            [self.egress_row(int(k), q) for k in self.egress.group_of], dtype=np.bool_
        ).reshape(self.table.size, self.table.size)
        ingress = np.array(
            [self.ingress_row(int(m), q) for m in self.ingress.group_of], dtype=np.bool_
        ).reshape(self.table.size, self.table.size)
        return egress & ingress.T

    # --- results --------------------------------------------------------------------------

    def allowed_pairs(self, q: int) -> int:
        """Ordered pairs of distinct pods allowed on port class q."""
        w = self.table.weights
        total = int(w @ self.rows[:, q])
        return total - self._self_pairs(q)

    def _self_pairs(self, q: int) -> int:
        """R counts each pod paired with itself when its class allows itself; those
        pairs (loopback) are not counted."""
        w = self.table.weights
        total = 0
        for c in range(self.table.size):
            e = self.egress_row(int(self.egress.group_of[c]), q)[c]
            i = self.ingress_row(int(self.ingress.group_of[c]), q)[c]
            total += int(w[c]) * int(e and i)
        return total

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


def _row(tables: DirectionTables, group: int, q: int, size: int, named_on_peer: bool) -> BoolVector:
    if group == NOT_ISOLATED:
        return np.ones(size, dtype=np.bool_)
    row = np.zeros(size, dtype=np.bool_)
    members = None
    for p in tables.groups[group]:
        for rule in tables.rules[p]:
            if q in rule.port_classes:
                row |= rule.peers
                continue
            for spec in rule.named:
                resolved = tables.named_class[spec]
                if named_on_peer:
                    row |= rule.peers & (resolved == q)
                else:
                    if members is None:
                        members = int(np.flatnonzero(tables.group_of == group)[0])
                    if resolved[members] == q:
                        row |= rule.peers
    return row


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
