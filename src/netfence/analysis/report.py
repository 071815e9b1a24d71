"""Everything the HTML report shows, computed once: the workload matrix per port,
one explanation per cell and port, and the lint findings."""

from __future__ import annotations

from dataclasses import dataclass

from netfence.analysis.lint import Finding, lint
from netfence.analysis.matrix import (
    Group,
    destination_ports,
    group_pods,
    pod_connection,
    probes,
)
from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster


@dataclass(frozen=True)
class PortCell:
    """One (source workload, destination workload, port) of the matrix. ``allowed``
    and ``total`` count connections between distinct pods; ``loopback`` those of a
    pod to itself, always allowed and not counted (as in ``matrix`` and ``check``)."""

    port: str  # "8080/TCP"
    allowed: int
    total: int
    example: Decision  # the first pod pair (a pod and itself when that is all), to explain
    loopback: int = 0


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
    return tuple(
        PortCell(
            port,
            sum(1 for d in found.get(port, ()) if d.allowed),
            len(found.get(port, ())),
            found[port][0] if port in found else selves[port],
            loopback.get(port, 0),
        )
        for port in sorted(found.keys() | loopback.keys())
    )
