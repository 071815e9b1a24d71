"""The whole-cluster analysis: allowed ordered pod pairs per port class.

On port class q, a connection from a pod of class s to a pod of class d is
allowed iff d is in the egress row of s's egress group and s is in the ingress
row of d's ingress group (rowbook). With w the pods per class:

    T[s] = Σ_d w_d [s ∈ I(d)]                 (what s could reach, egress aside)
    R[s] = T[s]                                if no policy isolates s for egress
         = Σ_{d ∈ E(s)} w_d [s ∈ I(d)]         otherwise (E(s) is usually short)

The C×C matrix is never built: T is one pass over the members of the distinct
ingress rows, R one pass over the isolated sources' egress rows.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netfence.analysis.scale.backend import ClassBackend, PortSpec, address_sets, all_port_specs
from netfence.analysis.scale.classes import BoolVector, ClassTable, IntVector, build_classes
from netfence.analysis.scale.ports import PortClass, PortPartition, partition
from netfence.analysis.scale.reach import reach_all
from netfence.analysis.scale.rowbook import Row, RowBook
from netfence.analysis.scale.rules import direction_tables
from netfence.analysis.scale.runs import contains as runs_contain
from netfence.analysis.scale.selectors import SelectorIndex
from netfence.analysis.scale.tiers import (
    reads_nodes,
    tier_port_specs,
    tier_selections,
    tier_tables,
)
from netfence.compile.addresses import AddressRanges
from netfence.compile.compiled import CompiledPolicy, CompiledPolicySet, CompiledRule, CompiledTiers
from netfence.model.cluster import Cluster
from netfence.model.policy import Direction


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
class UniqueRows:
    rows: list[Row]
    of_class: IntVector  # row index of each class


class ClusterAnalysis:
    """Compiled, vectorized analysis of one cluster and its policies."""

    def __init__(self, cluster: Cluster, compiled: CompiledPolicySet) -> None:
        with without_cyclic_gc(freeze=len(cluster.pods) >= FREEZE_AT):
            self._build(cluster, compiled)

    def _build(self, cluster: Cluster, compiled: CompiledPolicySet) -> None:
        self.cluster = cluster
        self._compiled: CompiledPolicySet | None = compiled
        self._tiers = compiled.tiers
        self._policies: tuple[CompiledPolicy, ...] = compiled.policies
        tiers = compiled.tiers
        self.local_namespaces = ingress_namespaces(compiled.policies)
        self.table: ClassTable = build_classes(
            cluster, policy_blocks(compiled), reads_nodes(tiers), self.local_namespaces
        )
        self.index = SelectorIndex(self.table, {ns.name: ns.labels for ns in cluster.namespaces})
        self.backend = ClassBackend(self.index)
        self.ports: PortPartition = port_partition(compiled, self.table)
        size = self.table.size
        policies = compiled.policies
        self.egress, self.ingress = (
            direction_tables(
                direction,
                policies,
                self.table,
                self.backend,
                self.ports,
                tier_tables(direction, tiers, self.table, self.backend, self.ports),
            )
            for direction in (Direction.EGRESS, Direction.INGRESS)
        )
        count = len(self.ports.classes)
        self.egress_rows = RowBook(self.egress, size, named_on_peer=True, port_classes=count)
        self.ingress_rows = RowBook(self.ingress, size, named_on_peer=False, port_classes=count)
        reach = reach_all(self.ingress_rows, self.ingress.group_of, self.table.weights)
        self.reach = reach.reach  # T
        self.rows = np.zeros((size, count), dtype=np.int64)  # R
        self.self_allowed = np.zeros((size, count), dtype=np.bool_)
        self.sparse_egress: list[dict[int, IntVector]] = [{} for _ in range(count)]
        self.egress_members = members_of_groups(self.egress.group_of, len(self.egress.groups))
        for q in range(count):
            self._compute(q, reach.in_own[:, q])

    @property
    def compiled(self) -> CompiledPolicySet:
        """The policy set analysed (after updates: the updated one)."""
        if self._compiled is None:
            self._compiled = CompiledPolicySet(self._policies, self.tiers)
        return self._compiled

    @property
    def tiers(self) -> CompiledTiers:
        """The cluster-wide policies analysed (never changed by NetworkPolicy updates)."""
        return self._tiers

    def set_tiers(self, tiers: CompiledTiers) -> None:
        """The cluster-wide policies after an update."""
        self._tiers, self._compiled = tiers, None

    def set_policies(self, policies: tuple[CompiledPolicy, ...]) -> None:
        """The policies after an update (their set is compiled only when asked for:
        indexing 50k policies on every update would cost more than the update)."""
        self._policies, self._compiled = policies, None

    def unique_rows(self, book: RowBook, group_of: IntVector, q: int) -> UniqueRows:
        """The distinct rows of a direction's classes on port class q, and each
        class's row index (groups with the same applicable rules share a row)."""
        ids, of_class = np.unique(book.ids_on(q)[group_of], return_inverse=True)
        return UniqueRows([book.row_by_id(i) for i in ids.tolist()], of_class.reshape(-1))

    def _compute(self, q: int, in_own_ingress: BoolVector) -> None:
        """R and the self pairs of every class on port class q, from scratch (T known).
        Egress groups that share a row there are counted together."""
        in_own_egress = np.zeros(self.table.size, dtype=np.bool_)
        row_of_group = self.egress_rows.ids_on(q)
        everywhere = self.egress_rows.every(row_of_group)[self.egress.group_of]
        self.rows[:, q] = np.where(everywhere, np.rint(self.reach[:, q]).astype(np.int64), 0)
        in_own_egress[everywhere] = True
        self.sparse_egress[q] = {}
        book = self.egress_rows
        by_row: dict[int, list[int]] = {}
        for k, r in enumerate(row_of_group.tolist()):
            if self.egress_members[k].size:
                by_row.setdefault(r, []).append(k)
        for r, groups in by_row.items():
            runs = book.runs_by_id(r)
            if runs is None or not runs.count:
                continue
            row = book.row_by_id(r)
            assert row is not None
            for k in groups:
                self.sparse_egress[q][k] = row
            members = np.concatenate([self.egress_members[k] for k in groups])
            self.rows[members, q] = self.through(row, members, q)
            in_own_egress[members] = sorted_contains(row, members)
        self.self_allowed[:, q] = in_own_egress & in_own_ingress

    def set_sources(self, k: int, members: IntVector, q: int) -> BoolVector:
        """Set R for the members of egress group k; return which of them their own
        egress row contains (the egress half of their self pairs)."""
        if members.size == 0:
            self.sparse_egress[q].pop(k, None)
            return np.zeros(0, dtype=np.bool_)
        row = self.egress_rows.row(k, q)
        if row is None:
            self.sparse_egress[q].pop(k, None)
            self.rows[members, q] = np.rint(self.reach[members, q]).astype(np.int64)
            return np.ones(members.size, dtype=np.bool_)
        if row.size:
            self.sparse_egress[q][k] = row
        else:
            self.sparse_egress[q].pop(k, None)
        self.rows[members, q] = self.through(row, members, q)
        return sorted_contains(row, members)

    def through(self, row: IntVector, sources: IntVector, q: int) -> IntVector:
        """For each source: Σ_{d ∈ row} w_d [source ∈ ingress row of d] on q (one
        pass per distinct ingress row among the destinations)."""
        out = np.zeros(sources.size, dtype=np.int64)
        if row.size == 0 or sources.size == 0:
            return out
        row_ids = self.ingress_rows.ids_on(q)[self.ingress.group_of[row]]
        weights = np.bincount(row_ids, weights=self.table.weights[row])
        for m in np.flatnonzero(weights).tolist():
            allowed = self.ingress_rows.runs_by_id(m)
            hits = (
                np.ones(sources.size, dtype=np.bool_)
                if allowed is None
                else runs_contain(allowed, sources)
            )
            out += int(weights[m]) * hits
        return out

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
            egress_isolated=int(w[self.egress.isolated()].sum()),
            ingress_isolated=int(w[self.ingress.isolated()].sum()),
            port_classes=tuple(
                PortClassSummary(pc, self.allowed_pairs(q))
                for q, pc in enumerate(self.ports.classes)
            ),
        )


def sorted_contains(row: IntVector, classes: IntVector) -> BoolVector:
    """For each class: is it in the sorted array ``row``?"""
    if row.size == 0:
        return np.zeros(classes.size, dtype=np.bool_)
    at = np.minimum(np.searchsorted(row, classes), row.size - 1)
    found: BoolVector = row[at] == classes
    return found


#: Pods from which a whole analysis freezes what it built (as io.cluster does a load).
FREEZE_AT = 10_000


@contextmanager
def without_cyclic_gc(freeze: bool = False) -> Iterator[None]:
    """The analysis makes no reference cycles; the collector would only walk the
    millions of objects of the loaded cluster again and again (restored after).

    ``freeze``: whatever is alive at the end (the analysis just built) leaves the
    collector's generations (``gc.freeze``). Objects allocated while collection
    was off still count towards its next run: without this, the first allocation
    after the block walks every array and list of the analysis (0.2 s at 100k
    pods). Reference counting still frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def members_of_groups(group_of: IntVector, groups: int) -> list[IntVector]:
    """The classes of each group, in class order."""
    order = np.argsort(group_of, kind="stable")
    bounds = np.searchsorted(group_of[order], np.arange(groups + 1))
    return [order[bounds[g] : bounds[g + 1]] for g in range(groups)]


def ingress_namespaces(policies: tuple[CompiledPolicy, ...]) -> frozenset[str]:
    """The namespaces where some NetworkPolicy isolates pods for ingress."""
    return frozenset(p.policy.namespace for p in policies if p.policy.isolates(Direction.INGRESS))


def policy_blocks(compiled: CompiledPolicySet) -> list[AddressRanges]:
    """The address sets of every NetworkPolicy ipBlock, then of every cluster-wide
    ``networks`` (as the IR gives them: ``except`` subtracted, ranges merged)."""
    return address_sets(
        [
            *(
                m.selection
                for c in compiled.policies
                for r in policy_rules(c)
                for m in r.peers or ()
            ),
            *tier_selections(compiled.tiers),
        ]
    )


def policy_rules(compiled: CompiledPolicy) -> tuple[CompiledRule, ...]:
    return (*compiled.ingress, *compiled.egress)


def policy_port_specs(compiled: CompiledPolicySet) -> list[PortSpec]:
    """The port specs of every NetworkPolicy rule's ports, then of every tier rule's."""
    return [
        *all_port_specs(
            m.selection for c in compiled.policies for r in policy_rules(c) for m in r.ports or ()
        ),
        *tier_port_specs(compiled.tiers),
    ]


def port_partition(compiled: CompiledPolicySet, table: ClassTable) -> PortPartition:
    numeric = []
    named = set()
    for spec in policy_port_specs(compiled):
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
