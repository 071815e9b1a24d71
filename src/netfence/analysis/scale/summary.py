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
from typing import Any

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
        self._egress_members = _members(self.egress.group_of, len(self.egress.groups))
        self._ingress_members = _members(self.ingress.group_of, len(self.ingress.groups))
        self._row_cache: dict[tuple[object, ...], BoolVector] = {}
        self._named_cache: dict[tuple[int, int, int], frozenset[int]] = {}
        self.self_allowed: npt.NDArray[np.bool_]
        self.rows: npt.NDArray[np.int64] = self._all_rows()

    # --- per port class -------------------------------------------------------------------
    #
    # Rows are built from the rules that apply on port class q. Two groups whose
    # applicable rules are the same have the same row, so rows are keyed by that
    # signature, built once, and shared across groups and port classes.

    def egress_row(self, group: int, q: int) -> BoolVector:
        """Destination classes the egress rules of ``group`` allow on port class ``q``."""
        return self._row(self._signature(self.egress, group, q, named_on_peer=True))

    def ingress_row(self, group: int, q: int) -> BoolVector:
        """Source classes the ingress rules of ``group`` allow on port class ``q``."""
        return self._row(self._signature(self.ingress, group, q, named_on_peer=False))

    def _signature(
        self, tables: DirectionTables, group: int, q: int, named_on_peer: bool
    ) -> tuple[object, ...]:
        if group == NOT_ISOLATED:
            return (tables.direction, "all")
        active: list[object] = [tables.direction]
        for p in tables.groups[group]:
            for r, rule in enumerate(tables.rules[p]):
                if q in rule.port_classes:
                    active.append((p, r))
                elif named_on_peer:
                    active.extend((p, r, spec, q) for spec in rule.named)
                elif rule.named and q in self._ingress_named(group, p, r):
                    active.append((p, r))
        return tuple(active)

    def _ingress_named(self, group: int, p: int, r: int) -> frozenset[int]:
        """Port classes the named ports of an ingress rule resolve to on ``group``'s
        pods (the same for every class of the group, by construction)."""
        key = (group, p, r)
        found = self._named_cache.get(key)
        if found is None:
            first = int(self._ingress_members[group][0])
            rule = self.ingress.rules[p][r]
            found = frozenset(int(self.ingress.named_class[s][first]) for s in rule.named)
            self._named_cache[key] = found
        return found

    def _row(self, signature: tuple[object, ...]) -> BoolVector:
        row = self._row_cache.get(signature)
        if row is not None:
            return row
        size = self.table.size
        tables = self.egress if signature[0] is Direction.EGRESS else self.ingress
        if signature[1:] == ("all",):
            row = np.ones(size, dtype=np.bool_)
        else:
            row = np.zeros(size, dtype=np.bool_)
            items: tuple[tuple[Any, ...], ...] = signature[1:]  # type: ignore[assignment]
            for item in items:
                peers = tables.rules[item[0]][item[1]].peers
                if len(item) == 2:
                    row |= peers
                else:  # a named port on the peer: only classes where it resolves into q
                    row |= peers & (tables.named_class[item[2]] == item[3])
        self._row_cache[signature] = row
        return row

    def _all_rows(self) -> npt.NDArray[np.int64]:
        size, count = self.table.size, len(self.ports.classes)
        rows = np.zeros((size, count), dtype=np.int64)
        self.self_allowed = np.zeros((size, count), dtype=np.bool_)
        for q in range(count):
            rows[:, q], self.self_allowed[:, q] = self._rows_for(q)
        return rows

    def _rows_for(self, q: int) -> tuple[IntVector, BoolVector]:
        """R[s] for every source class s on port class q, and whether each class
        allows itself (the pairs of a pod with itself are taken out later).

        Destinations are grouped by their ingress row u (not by group: groups with
        the same row are alike here), sources by their egress row v:
        R[s] = Σ_u I_u[s] · Y[v(s)][u] with Y[v][u] = Σ_{d: u(d)=u} w_d E_v[d].
        """
        table = self.table
        if table.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
        in_rows, in_of_group = self._unique_rows(self.ingress, q, named_on_peer=False)
        out_rows, out_of_group = self._unique_rows(self.egress, q, named_on_peer=True)
        u_of_class = in_of_group[self.ingress.group_of]
        v_of_class = out_of_group[self.egress.group_of]
        inbound = np.array(in_rows, dtype=np.bool_)  # U × C
        order = np.argsort(u_of_class, kind="stable")
        u_sorted = u_of_class[order]
        starts = np.flatnonzero(np.r_[True, u_sorted[1:] != u_sorted[:-1]])
        present = u_sorted[starts]
        weights_sorted = table.weights[order]
        out = np.zeros(table.size, dtype=np.int64)
        diagonal = np.zeros(table.size, dtype=np.bool_)
        for v, members in enumerate(_members(v_of_class, len(out_rows))):
            if members.size == 0:
                continue
            e_row = out_rows[v]
            y = np.zeros(len(in_rows), dtype=np.int64)
            y[present] = np.add.reduceat(e_row[order] * weights_sorted, starts)
            out[members] = y @ inbound[:, members]
            diagonal[members] = e_row[members] & inbound[u_of_class[members], members]
        return out, diagonal

    def _unique_rows(
        self, tables: DirectionTables, q: int, named_on_peer: bool
    ) -> tuple[list[BoolVector], IntVector]:
        """The distinct rows of a direction's groups on q, and each group's row index."""
        ids: dict[tuple[object, ...], int] = {}
        rows: list[BoolVector] = []
        of_group = np.zeros(len(tables.groups), dtype=np.int64)
        for g in range(len(tables.groups)):
            signature = self._signature(tables, g, q, named_on_peer)
            row_id = ids.get(signature)
            if row_id is None:
                row_id = ids[signature] = len(rows)
                rows.append(self._row(signature))
            of_group[g] = row_id
        return rows, of_group

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
        return int(self.table.weights @ self.self_allowed[:, q])

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


def _members(group_of: IntVector, groups: int) -> list[IntVector]:
    order = np.argsort(group_of, kind="stable")
    bounds = np.searchsorted(group_of[order], np.arange(groups + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(groups)]


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
