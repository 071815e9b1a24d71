"""What-if: the connections a policy change loses and gains, by workload and port.

The answer is every (source workload, destination workload, declared port of the
destination) with pod pairs whose verdict differs between the states (pods
grouped by workload, each destination probed on the container ports it
declares, as the matrix does). A change is reported with the decisions of its
first pod pair (in pod order) in each state, so render can say which policy is
responsible. Loss of DNS (egress to the kube-dns backends on 53) is flagged,
because it is the loss that breaks everything else.

Two ways to the same answer: ``connectivity_diff`` asks the engine about every
pod pair and port (the oracle: quadratic); ``class_diff`` finds the class pairs
whose verdict changes through the class analysis and its incremental update
(analysis.scale.whatif), expands them to workloads and declared ports, and asks
the engine only to explain each change shown. ``scale_diff`` is the class-level
view: changes by port class.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netfence.analysis.matrix import Group, group_pods, probes
from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.connections import pod_connection
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster, Pod
from netfence.model.policy import NetworkPolicy
from netfence.model.ports import Protocol

if TYPE_CHECKING:
    from netfence.analysis.scale.ports import PortClass
    from netfence.analysis.scale.summary import ClusterAnalysis
    from netfence.analysis.scale.whatif import ClassChange
    from netfence.model.tiers import ClusterPolicy

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
    ports: str | None = None  # at scale: the whole port class ("TCP 1-52,54-79"), port is one of it


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


def connectivity_diff(before: State, after: State, family: int | None = None) -> Diff:
    """Every (workload, workload, port) whose verdict differs for some pod pair; in
    ``family`` when given, else in each destination's primary family."""
    dns_pods = dns_backends(after.cluster)
    groups = group_pods(after.cluster)
    changes: list[ConnectionChange] = []
    for src in groups:
        for dst in groups:
            changes.extend(_cell_changes(before, after, src, dst, dns_pods, family))
    changes.sort(
        key=lambda c: (not c.dns, c.kind is not ChangeKind.LOST, c.source, c.destination, c.port)
    )
    return Diff(tuple(changes))


def _cell_changes(
    before: State,
    after: State,
    src: Group,
    dst: Group,
    dns_pods: frozenset[str],
    family: int | None,
) -> list[ConnectionChange]:
    found: dict[tuple[ChangeKind, int, Protocol], list[tuple[Decision, Decision]]] = {}
    for s, d, port, protocol in probes(src, dst, family=family):
        old = decide(before, s, d, port, protocol, family)
        new = decide(after, s, d, port, protocol, family)
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


def decide(
    state: State, src: Pod, dst: Pod, port: int, protocol: Protocol, family: int | None
) -> Decision:
    """The pods of ``state``'s own cluster (labels may differ between the states)."""
    s = state.cluster.pod(src.namespace, src.name) or src
    d = state.cluster.pod(dst.namespace, dst.name) or dst
    connection = pod_connection(s, d, port, protocol, family)
    return evaluate(state.compiled, state.cluster, connection)


def class_diff(before: State, after: State, family: int | None = None) -> Diff | None:
    """``connectivity_diff``'s answer through the class analysis; None when it
    cannot judge these states (``class_diff_obstacle`` says why, or the change
    brings new ipBlocks or port boundaries that split classes)."""
    from netfence.analysis.diff_classes import expand

    if class_diff_obstacle(before, after, family):  # the cheap checks first
        return None
    found = _class_changes(before, after)
    if found is None:
        return None
    analysis, changes = found
    return Diff(tuple(expand(analysis, changes, before, after, family)))


def class_diff_obstacle(before: State, after: State, family: int | None) -> str:
    """Why the class analysis cannot give ``connectivity_diff``'s answer ("" when
    it can, but for ipBlocks or ports that split classes: see ``class_diff``)."""
    from netfence.analysis.scale.classes import ANALYSIS_IP_VERSION

    if family not in (None, ANALYSIS_IP_VERSION):
        return "the class analysis judges IPv4 connections"
    if not _same_cluster(before.cluster, after.cluster):
        return "pods, namespaces or services differ between the states"
    if not all(_judged_in_ipv4(p, family) for p in after.cluster.pods):
        return "some pods have no IPv4 address, or IPv6 first"
    return ""


def _judged_in_ipv4(pod: Pod, family: int | None) -> bool:
    """Are all of this pod's connections in IPv4 (as the class analysis judges)?"""
    if pod.ip_of_version(4) is None:
        return False
    return family == 4 or pod.ips[0].version == 4


def _class_changes(before: State, after: State) -> tuple[ClusterAnalysis, list[ClassChange]] | None:
    """The class analysis of ``before`` and the class pairs whose verdict the
    policy changes turn; None when the update splits classes."""
    from netfence.analysis.scale.incremental import IncrementalAnalysis
    from netfence.analysis.scale.summary import ClusterAnalysis
    from netfence.analysis.scale.whatif import whatif

    old = {p.key: p for p in before.cluster.policies}
    new = {p.key: p for p in after.cluster.policies}
    changes = [p for key, p in new.items() if key not in old or not _same_policy(old[key], p)]
    deletions = [key for key in old if key not in new]
    tiers = after.cluster.cluster_policies
    unchanged = [_unsourced(p) for p in before.cluster.cluster_policies] == [
        _unsourced(p) for p in tiers
    ]
    analysis = ClusterAnalysis(before.cluster, before.compiled)
    found = whatif(IncrementalAnalysis(analysis), changes, deletions, None if unchanged else tiers)
    return None if found is None else (analysis, found)


def _unsourced(policy: ClusterPolicy) -> ClusterPolicy:
    return dataclasses.replace(policy, source=None)


def dns_backends(cluster: Cluster) -> frozenset[str]:
    service = cluster.service("kube-system", "kube-dns")
    return frozenset(p.key for p in cluster.service_backends(service)) if service else frozenset()


def scale_diff(before: State, after: State) -> Diff | None:
    """The same answer for clusters of any size, through the class analysis and its
    incremental update (analysis.scale.whatif). Only policies (NetworkPolicies and
    cluster-wide ones) may differ between the states; None when others do, or when
    the change splits classes."""
    if not _same_cluster(before.cluster, after.cluster):
        return None
    found = _class_changes(before, after)
    if found is None:
        return None
    analysis, changes = found
    return Diff(tuple(_sorted(_aggregate(analysis, changes, before, after))))


def _same_cluster(a: Cluster, b: Cluster) -> bool:
    """The same pods, namespaces and services, wherever they were read from."""

    def shape(c: Cluster) -> tuple[object, ...]:
        pods = [(p.namespace, p.name, p.labels, p.ips, p.ports, p.host_network, p.node)
                for p in c.pods]  # fmt: skip
        namespaces = tuple((n.name, n.labels) for n in c.namespaces)
        services = tuple((s.key, s.selector, s.ports, s.cluster_ips) for s in c.services)
        return pods, namespaces, services

    return a is b or shape(a) == shape(b)


def _same_policy(a: NetworkPolicy, b: NetworkPolicy) -> bool:
    """Equal but for where they were read from."""
    return dataclasses.replace(a, source=None) == dataclasses.replace(b, source=None)


def _aggregate(
    analysis: ClusterAnalysis, found: list[ClassChange], before: State, after: State
) -> list[ConnectionChange]:
    """Class pairs → pod pairs, grouped by workload pair and direction of change; the
    port classes of a group are listed together."""
    from netfence.analysis.scale.classes import ANALYSIS_IP_VERSION

    dns_pods = dns_backends(after.cluster)
    groups: dict[tuple[ChangeKind, str, str], dict[int, list[tuple[Pod, Pod]]]] = {}
    for change in found:
        kind = ChangeKind.GAINED if change.allowed_after else ChangeKind.LOST
        for s in analysis.table.members[change.source]:
            for d in analysis.table.members[change.destination]:
                if s is not d:
                    key = (kind, _workload(s), _workload(d))
                    groups.setdefault(key, {}).setdefault(change.port_class, []).append((s, d))
    out = []
    for (kind, src, dst), by_port in groups.items():
        classes = [analysis.ports.classes[q] for q in sorted(by_port)]
        first = min(by_port)
        s, d = by_port[first][0]
        port_class = analysis.ports.classes[first]
        port, protocol = port_class.representative, port_class.protocol
        dns = d.key in dns_pods and any(
            pc.protocol in (Protocol.UDP, Protocol.TCP)
            and any(lo <= DNS_PORT <= hi for lo, hi in pc.ranges)
            for pc in classes
        )
        pairs = len({pair for pairs in by_port.values() for pair in pairs})
        old = decide(before, s, d, port, protocol, ANALYSIS_IP_VERSION)  # what it judges
        new = decide(after, s, d, port, protocol, ANALYSIS_IP_VERSION)
        text = _ports_text(classes, analysis.ports.classes)
        out.append(ConnectionChange(kind, src, dst, port, protocol, pairs, old, new, dns, text))
    return out


def _ports_text(chosen: list[PortClass], every: list[PortClass]) -> str:
    """``all ports``, ``TCP (all ports)``, or the port classes one by one."""
    parts = []
    for protocol in Protocol:
        mine = [pc for pc in chosen if pc.protocol is protocol]
        total = [pc for pc in every if pc.protocol is protocol]
        if mine and len(mine) == len(total):
            parts.append(f"{protocol.value} (all ports)")
        else:
            parts.extend(pc.format() for pc in mine)
    if len(parts) == len(Protocol) and all(p.endswith("(all ports)") for p in parts):
        return "all ports"
    return "; ".join(parts)


def _workload(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.workload.format()}" if pod.workload else pod.key


def _sorted(changes: list[ConnectionChange]) -> list[ConnectionChange]:
    return sorted(
        changes,
        key=lambda c: (not c.dns, c.kind is not ChangeKind.LOST, c.source, c.destination, c.port),
    )
