"""What-if at scale: the pod pairs a policy change allows or denies anew, found
through the class analysis and its incremental update, never pair by pair over
the whole cluster.

Only classes the changed policies select (before or after) can change: as
sources (their egress rows) or as destinations (their ingress rows). For those,
the allowed partners are read from the rows before the update and again after
it; the difference, expanded to pods, is the answer. A change of the cluster-wide
policies touches their subjects (before or after), and is analysed anew: its
answer holds when the new analysis has the same classes and port classes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from netfence.analysis.scale.classes import IntVector
from netfence.analysis.scale.incremental import IncrementalAnalysis, UpdateMode
from netfence.analysis.scale.rowbook import Row, row_members
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.analysis.scale.tiers import subject_classes
from netfence.model.policy import NetworkPolicy
from netfence.model.tiers import ClusterPolicy

Pairs = set[tuple[int, int, int]]  # (source class, destination class, port class)


@dataclass(frozen=True)
class ClassChange:
    source: int  # class
    destination: int
    port_class: int
    allowed_after: bool


def allowed_pairs(a: ClusterAnalysis, classes: IntVector) -> Pairs:
    """Every allowed (s, d, q) with s or d in ``classes`` (s ≠ d as classes, or the
    same class holding two pods or more)."""
    out: Pairs = set()
    size = a.table.size
    position = np.full(size, -1, dtype=np.int64)
    position[classes] = np.arange(classes.size, dtype=np.int64)
    for q in range(len(a.ports.classes)):
        ingress = a.unique_rows(a.ingress_rows, a.ingress.group_of, q)
        egress = a.unique_rows(a.egress_rows, a.egress.group_of, q)
        in_ingress = _rows_holding(ingress.rows, position, classes.size, size)
        in_egress = _rows_holding(egress.rows, position, classes.size, size)
        for t, c in enumerate(classes.tolist()):
            # c as a source: d in E(c) with c in I(d)
            dests = row_members(egress.rows[egress.of_class[c]], size)
            for d in dests[in_ingress[t, ingress.of_class[dests]]].tolist():
                out.add((c, d, q))
            # c as a destination: s in I(c) with c in E(s)
            sources = row_members(ingress.rows[ingress.of_class[c]], size)
            for s in sources[in_egress[t, egress.of_class[sources]]].tolist():
                out.add((s, c, q))
    return {(s, d, q) for s, d, q in out if s != d or a.table.weights[s] > 1}


def _rows_holding(
    rows: list[Row], position: IntVector, count: int, size: int
) -> npt.NDArray[np.bool_]:
    """(count × rows): does row r hold the chosen class at ``position`` t? One pass
    over the rows' members, never a lookup per class and row."""
    out = np.zeros((count, len(rows)), dtype=np.bool_)
    for r, row in enumerate(rows):
        members = row_members(row, size)
        chosen = position[members]
        out[chosen[chosen >= 0], r] = True
    return out


def affected_classes(a: ClusterAnalysis, policies: Iterable[NetworkPolicy]) -> IntVector:
    """Classes the given policy versions select (any direction)."""
    from netfence.compile.compiled import compile_policy

    chosen = np.zeros(a.table.size, dtype=np.bool_)
    for policy in policies:
        compiled = compile_policy(policy)
        chosen |= a.index.in_namespace(policy.namespace) & a.index.pods(compiled.target)
    return np.flatnonzero(chosen)


def tier_subjects(
    a: ClusterAnalysis, before: Sequence[ClusterPolicy], after: Sequence[ClusterPolicy]
) -> IntVector:
    """The subjects of every cluster-wide policy not in the same place with the same
    content in both lists (in precedence order: a reordering of equal priorities
    counts)."""
    from netfence.compile.tiers import subject_selection

    old, new = _in_precedence(before), _in_precedence(after)
    moved = [p for i, p in enumerate(old) if i >= len(new) or new[i] != p]
    moved += [p for i, p in enumerate(new) if i >= len(old) or old[i] != p]
    chosen = [subject_classes(subject_selection(p.subject), a.backend) for p in moved]
    return np.unique(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)


def _in_precedence(policies: Sequence[ClusterPolicy]) -> list[ClusterPolicy]:
    from netfence.compile.tiers import compile_tiers

    tiers = compile_tiers(policies)
    return [replace(c.policy, source=None) for c in (*tiers.admin, *tiers.baseline)]


def comparable(a: ClusterAnalysis, b: ClusterAnalysis) -> bool:
    """Do two analyses number the same classes and port classes alike?"""
    if a.ports.classes != b.ports.classes or a.table.size != b.table.size:
        return False
    return all(
        [p.key for p in mine] == [p.key for p in theirs]
        for mine, theirs in zip(a.table.members, b.table.members, strict=True)
    )


def whatif(
    incremental: IncrementalAnalysis,
    changes: list[NetworkPolicy],
    deletions: list[str],
    cluster_policies: Sequence[ClusterPolicy] | None = None,
) -> list[ClassChange] | None:
    """Apply ``changes`` (added or replaced) and ``deletions`` (policy keys), and the cluster-wide
    policies ``cluster_policies`` (None: unchanged); the class pairs whose verdict
    changed. None when an update split the classes (new ipBlocks, networks, nodes
    peers or port boundaries), so that class indexes no longer compare."""
    a = incremental.analysis
    old_versions = [
        incremental.policies[k].policy
        for k in (p.key for p in changes)
        if k in incremental.policies
    ]
    old_versions += [incremental.policies[k].policy for k in deletions if k in incremental.policies]
    touched = affected_classes(a, [*changes, *old_versions])
    if cluster_policies is not None:
        old_tiers = list(incremental.cluster_policies.values())
        touched = np.union1d(touched, tier_subjects(a, old_tiers, cluster_policies))
    before = allowed_pairs(a, touched)
    for policy in changes:
        mode = incremental.apply(policy).mode
        if mode is not UpdateMode.INCREMENTAL and cluster_policies is None:
            return None  # else the rebuild below, checked by ``comparable``
    for key in deletions:
        incremental.delete(key)
    if cluster_policies is not None:
        incremental.set_cluster_policies(cluster_policies)
        if not comparable(a, incremental.analysis):
            return None
    after = allowed_pairs(incremental.analysis, touched)
    return [ClassChange(s, d, q, False) for s, d, q in sorted(before - after)] + [
        ClassChange(s, d, q, True) for s, d, q in sorted(after - before)
    ]
