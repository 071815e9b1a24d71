"""What-if: the connections a policy change loses and gains, by workload and port.

Both states are judged by the engine pair by pair (pods grouped by workload, each
destination probed on the container ports it declares, as the matrix does). A
change is reported with one decision of each side, so render can say which
policy is responsible. Loss of DNS (egress to the kube-dns backends on 53) is
flagged, because it is the loss that breaks everything else.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from netfence.analysis.matrix import Group, destination_ports, group_pods, pod_connection
from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster, Pod
from netfence.model.ports import Protocol

DNS_PORT = 53


class ChangeKind(enum.Enum):
    LOST = "lost"
    GAINED = "gained"


@dataclass(frozen=True)
class ConnectionChange:
    kind: ChangeKind
    source: str  # workload group key
    destination: str
    port: int
    protocol: Protocol
    pairs: int  # pod pairs that changed
    before: Decision  # one of them, before the change
    after: Decision  # the same pair, after
    dns: bool  # a connection to kube-dns on 53


@dataclass(frozen=True)
class Diff:
    changes: tuple[ConnectionChange, ...]

    @property
    def lost(self) -> tuple[ConnectionChange, ...]:
        return tuple(c for c in self.changes if c.kind is ChangeKind.LOST)

    @property
    def gained(self) -> tuple[ConnectionChange, ...]:
        return tuple(c for c in self.changes if c.kind is ChangeKind.GAINED)


@dataclass(frozen=True)
class State:
    cluster: Cluster
    compiled: CompiledPolicySet


def connectivity_diff(before: State, after: State) -> Diff:
    """Every (workload, workload, port) whose verdict differs for some pod pair."""
    dns_pods = _dns_backends(after.cluster)
    groups = group_pods(after.cluster)
    changes: list[ConnectionChange] = []
    for src in groups:
        for dst in groups:
            changes.extend(_cell_changes(before, after, src, dst, dns_pods))
    changes.sort(
        key=lambda c: (not c.dns, c.kind is not ChangeKind.LOST, c.source, c.destination, c.port)
    )
    return Diff(tuple(changes))


def _cell_changes(
    before: State, after: State, src: Group, dst: Group, dns_pods: frozenset[str]
) -> list[ConnectionChange]:
    found: dict[tuple[ChangeKind, int, Protocol], list[tuple[Decision, Decision]]] = {}
    for s in src.pods:
        for d in dst.pods:
            if s is d:
                continue
            for port, protocol in destination_ports(d, None, None):
                old = _decide(before, s, d, port, protocol)
                new = _decide(after, s, d, port, protocol)
                if old.allowed != new.allowed:
                    kind = ChangeKind.LOST if old.allowed else ChangeKind.GAINED
                    found.setdefault((kind, port, protocol), []).append((old, new))
    return [
        ConnectionChange(
            kind,
            src.key,
            dst.key,
            port,
            protocol,
            len(pairs),
            pairs[0][0],
            pairs[0][1],
            port == DNS_PORT and any(p.key in dns_pods for p in dst.pods),
        )
        for (kind, port, protocol), pairs in found.items()
    ]


def _decide(state: State, src: Pod, dst: Pod, port: int, protocol: Protocol) -> Decision:
    """The pods of ``state``'s own cluster (labels may differ between the states)."""
    s = state.cluster.pod(src.namespace, src.name) or src
    d = state.cluster.pod(dst.namespace, dst.name) or dst
    return evaluate(state.compiled, state.cluster, pod_connection(s, d, port, protocol))


def _dns_backends(cluster: Cluster) -> frozenset[str]:
    service = cluster.service("kube-system", "kube-dns")
    return frozenset(p.key for p in cluster.service_backends(service)) if service else frozenset()
