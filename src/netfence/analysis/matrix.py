"""Who can reach whom: pods grouped by workload, evaluated pair by pair with the engine.

A cell counts the (source pod, destination pod, port) connections between two
distinct pods that are allowed. A pod reaching itself is always allowed
(loopback, as the upstream e2e tests assume) and says nothing about policies:
those connections are counted apart (``Cell.loopback``), never in ``allowed`` /
``total``, the same convention as ``check``, the report and the whole-cluster
analysis (which counts ordered pairs of distinct pods).

Without a port, each destination pod is probed on the container ports it
declares (the ports it serves); with ``port``, on that port (a name is
resolved per destination pod). Connections are in the destination's primary
address family, or in ``family`` (4 or 6) when given: then pods without an
address of that family take part in no connection.

Pods that nothing in the policies can tell apart (``EngineClasses``: the same
namespace, labels, declared ports, hostNetwork, address families and membership
in every ipBlock) get the same verdict, so a cell asks the engine once per pair
of such classes and port, and counts the pod pairs they stand for: a
Deployment of 1,000 replicas is one class, not a million pod pairs.
``pairwise_matrix`` asks the engine about every pod pair (the oracle in tests).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from netfence.compile.addresses import AddressRanges
from netfence.compile.compiled import CompiledPolicySet
from netfence.compile.ir import AddressesIn
from netfence.engine.connections import pod_connection
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster, Pod
from netfence.model.ports import Protocol


@dataclass(frozen=True, slots=True)
class Group:
    """Pods of one workload (``ns/deployment/ui``), or a lone pod (``ns/pod``)."""

    key: str
    namespace: str
    pods: tuple[Pod, ...]


@dataclass(frozen=True, slots=True)
class Cell:
    allowed: int  # connections between distinct pods that are allowed
    total: int  # connections between distinct pods
    loopback: int = 0  # connections of a pod to itself: always allowed, not counted

    @property
    def state(self) -> str:
        if self.total == 0:
            return "loopback" if self.loopback else "none"
        if self.allowed == self.total:
            return "all"
        return "no" if self.allowed == 0 else "some"


@dataclass(frozen=True, slots=True)
class Matrix:
    groups: tuple[Group, ...]
    cells: tuple[tuple[Cell, ...], ...]  # [source][destination]
    port: int | str | None
    protocol: Protocol | None
    family: int | None = None


def group_pods(cluster: Cluster, namespaces: Sequence[str] = ()) -> tuple[Group, ...]:
    groups: dict[str, list[Pod]] = {}
    for pod in cluster.pods:
        if namespaces and pod.namespace not in namespaces:
            continue
        key = f"{pod.namespace}/{pod.workload.format()}" if pod.workload else pod.key
        groups.setdefault(key, []).append(pod)
    return tuple(Group(k, v[0].namespace, tuple(v)) for k, v in sorted(groups.items()))


def connectivity_matrix(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    port: int | str | None = None,
    protocol: Protocol | None = None,
    namespaces: Sequence[str] = (),
    family: int | None = None,
) -> Matrix:
    groups = group_pods(cluster, namespaces)
    classes = EngineClasses(compiled, cluster, family)
    units = [classes.units(g) for g in groups]
    rows = tuple(
        tuple(
            _class_cell(classes, src, dst, units[i], units[j], port, protocol)
            for j, dst in enumerate(groups)
        )
        for i, src in enumerate(groups)
    )
    return Matrix(groups, rows, port, protocol, family)


def pairwise_matrix(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    port: int | str | None = None,
    protocol: Protocol | None = None,
    namespaces: Sequence[str] = (),
    family: int | None = None,
) -> Matrix:
    """``connectivity_matrix`` by asking the engine about every pod pair."""
    groups = group_pods(cluster, namespaces)
    rows = tuple(
        tuple(_cell(compiled, cluster, src, dst, port, protocol, family) for dst in groups)
        for src in groups
    )
    return Matrix(groups, rows, port, protocol, family)


class EngineClasses:
    """Pods grouped by all the engine reads of them, with one verdict per class pair
    and port, asked of the engine on two distinct member pods and remembered."""

    def __init__(self, compiled: CompiledPolicySet, cluster: Cluster, family: int | None) -> None:
        self.compiled, self.cluster, self.family = compiled, cluster, family
        blocks = _address_sets(compiled)
        index: dict[tuple[object, ...], int] = {}
        self.members: list[list[Pod]] = []
        self.of: dict[int, int] = {}  # id(pod) → class
        local = _any_node_address(cluster)
        for pod in cluster.pods:
            key = (
                *_signature(pod, blocks),
                _nodes_of(cluster, pod) if compiled.tiers else None,
                _local_node_of(cluster, pod) if local else None,
            )
            c = index.setdefault(key, len(index))
            if c == len(self.members):
                self.members.append([])
            self.members[c].append(pod)
            self.of[id(pod)] = c
        self._verdicts: dict[tuple[int, int, int, Protocol], bool] = {}

    def units(self, group: Group) -> dict[int, int]:
        """The group's pods that take part (an address of ``family``) by class."""
        out: dict[int, int] = {}
        for pod in group.pods:
            if self.family is None or pod.ip_of_version(self.family) is not None:
                c = self.of[id(pod)]
                out[c] = out.get(c, 0) + 1
        return out

    def allowed(self, source: int, destination: int, port: int, protocol: Protocol) -> bool:
        """The verdict between two distinct pods of the classes (which need them)."""
        key = (source, destination, port, protocol)
        found = self._verdicts.get(key)
        if found is None:
            s = self.members[source][0]
            d = self.members[destination][1 if source == destination else 0]
            conn = pod_connection(s, d, port, protocol, self.family)
            found = self._verdicts[key] = evaluate(self.compiled, self.cluster, conn).allowed
        return found


def _signature(pod: Pod, blocks: Sequence[AddressRanges]) -> tuple[object, ...]:
    """All that the engine reads of a pod: selection, named ports, hostNetwork, and
    each of its families' membership in every address set (the primary first)."""

    def inside(version: int) -> tuple[bool, ...] | None:
        ip = pod.ip_of_version(version)
        return None if ip is None else tuple(b.contains(ip) for b in blocks)

    primary = pod.ips[0].version if pod.ips else None
    return (pod.namespace, pod.labels, pod.ports, pod.host_network, primary, inside(4), inside(6))


def _address_sets(compiled: CompiledPolicySet) -> list[AddressRanges]:
    """Every address set a peer reads (compile/ir.py ``AddressesIn``: NetworkPolicy
    ipBlocks with ``except`` subtracted, the cluster-wide tiers' ``networks``)."""
    seen: dict[AddressRanges, None] = {}
    for c in compiled.policies:
        for rule in (*c.ingress, *c.egress):
            for m in rule.peers or ():
                if isinstance(m.selection, AddressesIn):
                    seen.setdefault(m.selection.addresses)
    for tiered in (*compiled.tiers.admin, *compiled.tiers.baseline):
        for tier_rule in (*tiered.ingress, *tiered.egress):
            for t in tier_rule.peers:
                if isinstance(t.selection, AddressesIn):
                    seen.setdefault(t.selection.addresses)
    return list(seen)


def _any_node_address(cluster: Cluster) -> bool:
    """Is some pod's address a node's (a hostNetwork pod): then NetworkPolicy's
    local-node rule may decide between pods."""
    return any(cluster.node_by_ip(ip) is not None for pod in cluster.pods for ip in pod.ips)


def _local_node_of(cluster: Cluster, pod: Pod) -> tuple[object, ...]:
    """What the local-node rule reads of a pod: the node it runs on, and the names
    of the nodes owning its addresses."""
    found = (cluster.node_by_ip(ip) for ip in pod.ips)
    return (pod.node, tuple(None if node is None else node.name for node in found))


def _nodes_of(cluster: Cluster, pod: Pod) -> tuple[object, ...]:
    """The labels of the nodes owning the pod's addresses (a hostNetwork pod's are
    its node's): what a tier ``nodes`` peer reads."""
    found = (cluster.node_by_ip(ip) for ip in pod.ips)
    return tuple(None if node is None else node.labels for node in found)


def _class_cell(
    classes: EngineClasses,
    src: Group,
    dst: Group,
    sources: dict[int, int],
    destinations: dict[int, int],
    port: int | str | None,
    protocol: Protocol | None,
) -> Cell:
    """``_cell``'s counts from the class pairs: each verdict stands for its pod pairs."""
    allowed = total = 0
    same = src.key == dst.key
    for cs, ns in sources.items():
        for cd, nd in destinations.items():
            pairs = ns * nd - (ns if same and cs == cd else 0)  # not a pod with itself
            if not pairs:
                continue
            for number, proto in destination_ports(classes.members[cd][0], port, protocol):
                total += pairs
                allowed += pairs if classes.allowed(cs, cd, number, proto) else 0
    return Cell(allowed, total, loopback_count(src, dst, port, protocol, classes.family))


def destination_ports(
    pod: Pod, port: int | str | None, protocol: Protocol | None
) -> list[tuple[int, Protocol]]:
    """The (port, protocol) pairs a destination pod is probed on."""
    if isinstance(port, int):
        return [(port, protocol or Protocol.TCP)]
    return [
        (p.port, p.protocol)
        for p in pod.ports
        if (port is None or p.name == port) and protocol in (None, p.protocol)
    ]


def _cell(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    src: Group,
    dst: Group,
    port: int | str | None,
    protocol: Protocol | None,
    family: int | None,
) -> Cell:
    allowed = total = 0
    for s, d, number, proto in probes(src, dst, port, protocol, False, family):
        total += 1
        allowed += evaluate(compiled, cluster, pod_connection(s, d, number, proto, family)).allowed
    return Cell(allowed, total, loopback_count(src, dst, port, protocol, family))


def loopback_count(
    src: Group,
    dst: Group,
    port: int | str | None = None,
    protocol: Protocol | None = None,
    family: int | None = None,
) -> int:
    """The connections of a pod to itself that a cell would probe (always allowed)."""
    if src.key != dst.key:
        return 0
    return sum(
        len(destination_ports(p, port, protocol))
        for p in src.pods
        if family is None or p.ip_of_version(family) is not None
    )


def probes(
    src: Group,
    dst: Group,
    port: int | str | None = None,
    protocol: Protocol | None = None,
    include_self: bool = False,
    family: int | None = None,
) -> Iterator[tuple[Pod, Pod, int, Protocol]]:
    """Every (source pod, destination pod, port, protocol) a cell probes; with
    ``family``, only between pods that both have an address of it."""
    for s in src.pods:
        if family is not None and s.ip_of_version(family) is None:
            continue
        for d in dst.pods:
            if (s is d and not include_self) or (
                family is not None and d.ip_of_version(family) is None
            ):
                continue
            for number, proto in destination_ports(d, port, protocol):
                yield s, d, number, proto
