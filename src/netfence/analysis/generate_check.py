"""The generated set, checked before anyone writes it: read back by netfence's own
parser (the API server's validation), replayed (every observed flow must be
allowed), linted (no warning), and diffed against the current policies (what
becomes denied, what becomes allowed).

The generated NetworkPolicies replace the current NetworkPolicies of the
namespaces they are written for; the other namespaces' policies and the
cluster-wide tiers stay (the Baseline policy of ``--baseline`` joins them).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass

from netfence.analysis.diff import (
    DNS_PORT,
    ChangeKind,
    ConnectionChange,
    Diff,
    State,
    decide,
    dns_backends,
)
from netfence.analysis.flows import ExplainedFlow, flow_connection
from netfence.analysis.generate import Generated, Manifest
from netfence.analysis.lint.checks import lint_report
from netfence.analysis.lint.findings import Finding
from netfence.analysis.matrix import EngineClasses, Group, destination_ports, group_pods
from netfence.compile import compile_policies
from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.errors import InvalidInputError, TargetError
from netfence.model.cluster import Cluster, Pod
from netfence.model.diagnostics import Diagnostic, Severity
from netfence.model.ports import Protocol
from netfence.parse.build import build_cluster
from netfence.parse.documents import parse_documents

GENERATED_FILE = "<generated>"
# workload pairs the diff compares pod pair by pair (the matrix's bound, 400 × 400)
MAX_DIFF_CELLS = 160_000


@dataclass(frozen=True)
class Checked:
    """``failures``: observed flows the generated set does not allow (with the
    engine's decision); ``invalid``: what validation said of the manifests;
    ``findings``: lint warnings and errors on them. Any of the three: not written."""

    generated: Generated
    after: State
    failures: tuple[tuple[ExplainedFlow, Decision], ...]
    invalid: tuple[Diagnostic, ...]
    findings: tuple[Finding, ...]
    diff: Diff

    @property
    def opened(self) -> tuple[ExplainedFlow, ...]:
        """Observed flows the current policies deny and the generated set allows
        (outside addresses included, which the diff by pod pairs does not show)."""
        failed = {id(f) for f, _ in self.failures}
        return tuple(
            f
            for f in self.generated.used
            if f.decision is not None and not f.decision.allowed and id(f) not in failed
        )

    @property
    def ok(self) -> bool:
        return not (self.failures or self.invalid or self.findings)


def check_generated(cluster: Cluster, compiled: CompiledPolicySet, generated: Generated) -> Checked:
    after, invalid = after_state(cluster, generated.manifests)
    failures = tuple(replay(after, generated.used))
    findings = tuple(_lint(after, generated.manifests))
    covered = frozenset(_meta(m, "namespace") or "" for m in generated.manifests) - {""}
    diff = policy_diff(State(cluster, compiled), after, covered)
    return Checked(generated, after, failures, invalid, findings, diff)


def policy_diff(before: State, after: State, covered: frozenset[str]) -> Diff:
    """``connectivity_diff``'s answer (by workload pair and declared port), asking
    the engine only about the pairs with an end in a ``covered`` namespace: only
    their NetworkPolicies change (and the Baseline policy has only them as
    subjects), so a pair with neither end there keeps its verdict. TargetError
    past MAX_DIFF_CELLS workload pairs (nothing is written without its diff).

    Not the class analysis: generated policies name single ports, which split its
    port classes, and its answer then costs minutes and gigabytes to refuse."""
    groups = group_pods(after.cluster)
    mine = [g for g in groups if g.namespace in covered]
    cells = len(mine) * len(groups) + (len(groups) - len(mine)) * len(mine)
    if cells > MAX_DIFF_CELLS:
        raise TargetError(
            f"generate: the diff against the current policies would compare {cells:,} workload "
            f"pairs, more than {MAX_DIFF_CELLS:,}; nothing written (give flows of fewer "
            "namespaces, or narrow the cluster with -f)"
        )
    classes = _Classes(before, after)
    found: dict[tuple[ChangeKind, str, str, int, Protocol], tuple[int, Decision, Decision]] = {}
    for src in groups:
        for dst in groups if src.namespace in covered else mine:
            for (kind, port, protocol), (count, first) in classes.cell(src, dst).items():
                s, d = first
                old = decide(before, s, d, port, protocol, None)
                new = decide(after, s, d, port, protocol, None)
                found[kind, src.key, dst.key, port, protocol] = (count, old, new)
    dns = dns_backends(after.cluster)
    to_dns = {g.key for g in groups if any(p.key in dns for p in g.pods)}
    changes = [_change(key, *change, to_dns) for key, change in found.items()]
    changes.sort(
        key=lambda c: (not c.dns, c.kind is not ChangeKind.LOST, c.source, c.destination, c.port)
    )
    return Diff(tuple(changes))


_UnitPair = tuple[tuple[int, int], tuple[int, int]]


class _Classes:
    """The pods of each state grouped as the engine sees them (analysis.matrix's
    EngineClasses): one verdict per class pair and port stands for its pod pairs.
    A pod's unit is its pair of classes (before, after)."""

    def __init__(self, before: State, after: State) -> None:
        self.before = EngineClasses(before.compiled, before.cluster, None)
        self.after = EngineClasses(after.compiled, after.cluster, None)

    def _units(self, group: Group) -> dict[tuple[int, int], list[Pod]]:
        out: dict[tuple[int, int], list[Pod]] = {}
        for pod in group.pods:
            out.setdefault((self.before.of[id(pod)], self.after.of[id(pod)]), []).append(pod)
        return out

    def cell(
        self, src: Group, dst: Group
    ) -> dict[tuple[ChangeKind, int, Protocol], tuple[int, tuple[Pod, Pod]]]:
        """Per change of verdict (kind, port, protocol): how many pod pairs, and the
        first of them in the order ``probes`` yields them."""
        counts: dict[tuple[ChangeKind, int, Protocol], int] = {}
        changed: dict[tuple[ChangeKind, int, Protocol], set[_UnitPair]] = {}
        units_s, units_d = self._units(src), self._units(dst)
        for us, spods in units_s.items():
            for ud, dpods in units_d.items():
                pairs = len(spods) * len(dpods) - (len(spods) if src is dst and us == ud else 0)
                if not pairs:
                    continue
                for port, protocol in destination_ports(dpods[0], None, None):
                    old = self.before.allowed(us[0], ud[0], port, protocol)
                    if old != self.after.allowed(us[1], ud[1], port, protocol):
                        key = (ChangeKind.LOST if old else ChangeKind.GAINED, port, protocol)
                        counts[key] = counts.get(key, 0) + pairs
                        changed.setdefault(key, set()).add((us, ud))
        return {key: (n, self._first(src, dst, changed[key])) for key, n in counts.items()}

    def _first(self, src: Group, dst: Group, units: set[_UnitPair]) -> tuple[Pod, Pod]:
        unit = {
            id(p): (self.before.of[id(p)], self.after.of[id(p)]) for p in (*src.pods, *dst.pods)
        }
        return next(
            (s, d)
            for s in src.pods
            for d in dst.pods
            if s is not d and (unit[id(s)], unit[id(d)]) in units
        )


def _change(
    key: tuple[ChangeKind, str, str, int, Protocol],
    pairs: int,
    before: Decision,
    after: Decision,
    dns_groups: set[str],
) -> ConnectionChange:
    """As analysis/diff.py reports a change: its first pair's decisions, DNS flagged."""
    kind, src, dst, port, protocol = key
    dns = port == DNS_PORT and dst in dns_groups
    return ConnectionChange(kind, src, dst, port, protocol, pairs, before, after, dns)


def after_state(
    cluster: Cluster, manifests: Sequence[Manifest]
) -> tuple[State, tuple[Diagnostic, ...]]:
    """The cluster with the generated policies in place of the current
    NetworkPolicies of their namespaces."""
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(manifests)})
    try:
        built = build_cluster(parse_documents(text, GENERATED_FILE))
    except InvalidInputError as exc:
        return State(cluster, compile_policies(cluster.policies, cluster.cluster_policies)), tuple(
            exc.diagnostics
        )
    new = built.cluster
    covered = {p.namespace for p in new.policies}
    policies = tuple(p for p in cluster.policies if p.namespace not in covered) + new.policies
    tiers = cluster.cluster_policies + new.cluster_policies
    after = dataclasses.replace(cluster, policies=policies, cluster_policies=tiers)
    invalid = tuple(d for d in built.diagnostics if d.severity is Severity.ERROR)
    return State(after, compile_policies(after.policies, after.cluster_policies)), invalid


def replay(state: State, flows: Sequence[ExplainedFlow]) -> list[tuple[ExplainedFlow, Decision]]:
    """The observed flows the state does not allow (the engine decides each)."""
    failed = []
    for f in flows:
        decision = evaluate(state.compiled, state.cluster, flow_connection(f.flow, f.src, f.dst))
        if not decision.allowed:
            failed.append((f, decision))
    return failed


def _lint(state: State, manifests: Sequence[Manifest]) -> list[Finding]:
    """Warnings and errors lint finds on the generated objects."""
    names = {(_meta(m, "namespace"), _meta(m, "name")) for m in manifests}
    report = lint_report(state.cluster, state.compiled)
    return [
        f
        for f in report.findings
        if f.severity is not Severity.NOTICE
        and f.obj is not None
        and (f.obj.namespace, f.obj.name) in names
    ]


def _meta(manifest: Manifest, key: str) -> str | None:
    metadata = manifest.get("metadata")
    value = metadata.get(key) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else None
