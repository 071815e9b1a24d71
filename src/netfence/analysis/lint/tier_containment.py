"""Symbolic containment for the cluster-wide tiers: subjects and rules, "for every
pod that could ever exist", through the same selections as NetworkPolicy peers
(analysis/lint/containment.py). Sound, not complete: True means contained for
sure; False means not shown."""

from __future__ import annotations

from netfence.analysis.lint.containment import ports_within, selection_within, selections_within
from netfence.compile.tiers import CompiledTierRule, subject_selection
from netfence.model.tiers import Subject


def subject_within(inner: Subject, outer: Subject) -> bool:
    return selection_within(subject_selection(inner), subject_selection(outer))


def rule_within(inner: CompiledTierRule, outer: CompiledTierRule) -> bool:
    """Every connection ``inner`` matches, ``outer`` matches (same direction)."""
    return selections_within(
        [m.selection for m in inner.peers], [m.selection for m in outer.peers]
    ) and ports_within(inner.ports, outer.ports)
