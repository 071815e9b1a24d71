"""Everything the HTML report shows, computed once: the workload matrix per port,
one explanation per cell and port, and the lint findings."""

from __future__ import annotations

from dataclasses import dataclass

from netfence.analysis.lint import Finding, lint
from netfence.analysis.matrix import Group, group_pods, pod_connection, probes
from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster


@dataclass(frozen=True)
class PortCell:
    """One (source workload, destination workload, port) of the matrix."""

    port: str  # "8080/TCP"
    allowed: int
    total: int
    example: Decision  # the first pod pair, to explain the cell


@dataclass(frozen=True)
class ReportData:
    groups: tuple[Group, ...]
    cells: dict[tuple[int, int], tuple[PortCell, ...]]  # (source, destination) index → ports
    findings: tuple[Finding, ...]


def report_data(
    compiled: CompiledPolicySet, cluster: Cluster, family: int | None = None
) -> ReportData:
    """Every cell by port; in ``family`` when given, else each destination's primary."""
    groups = group_pods(cluster)
    cells = {
        (i, j): _cell(compiled, cluster, src, dst, family)
        for i, src in enumerate(groups)
        for j, dst in enumerate(groups)
    }
    return ReportData(groups, cells, tuple(lint(cluster, compiled)))


def _cell(
    compiled: CompiledPolicySet, cluster: Cluster, src: Group, dst: Group, family: int | None
) -> tuple[PortCell, ...]:
    found: dict[str, list[Decision]] = {}
    for s, d, port, protocol in probes(src, dst, family=family):
        decision = evaluate(compiled, cluster, pod_connection(s, d, port, protocol, family))
        found.setdefault(f"{port}/{protocol.value}", []).append(decision)
    return tuple(
        PortCell(port, sum(1 for d in decisions if d.allowed), len(decisions), decisions[0])
        for port, decisions in sorted(found.items())
    )
