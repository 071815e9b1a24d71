"""Observed flows mapped to the pods of a cluster snapshot, then explained by the engine.

Addresses change hands: a pod's address goes back to the pool when the pod ends
and is given to the next pod on the node, so a flow log and a snapshot taken at
different times may disagree about who an address was. A flow is attributed to a
pod only when nothing says otherwise, and reported as ambiguous when something
does (``Ambiguity``): never silently attributed.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster, Node, Pod
from netfence.model.flows import Flow, FlowEnd
from netfence.model.policy import IPAddress, IPNetwork
from netfence.model.traffic import Connection, Endpoint

EPHEMERAL_PORTS_START = 32768  # Linux's ip_local_port_range starts here by default


class EndKind(enum.Enum):
    POD = "pod"
    NODE = "node"  # a node's address: the node itself or one of its hostNetwork pods
    EXTERNAL = "external"  # no pod, node or Service of the snapshot has the address
    AMBIGUOUS = "ambiguous"


class Ambiguity(enum.Enum):
    """Why an address is not attributed (render/flows.py words each)."""

    TWO_PODS = "two-pods"  # two pods of the snapshot have the address
    SERVICE_ADDRESS = "service-address"  # a ClusterIP: the backend is not known
    REUSED = "reused"  # the record names a pod, the snapshot has another at the address
    POD_GONE = "pod-gone"  # the record names a pod the snapshot does not have
    MOVED = "moved"  # the record's pod has another address in the snapshot
    POD_RANGE = "pod-range"  # in a --pod-cidr range, owned by no pod of the snapshot


@dataclass(frozen=True, slots=True)
class MappedEnd:
    """One end of a flow as the snapshot sees it. ``pods``: the candidates of an
    ambiguous end (two pods, or the snapshot's pod against the named one)."""

    end: FlowEnd
    kind: EndKind
    pod: Pod | None = None
    node: Node | None = None
    ambiguity: Ambiguity | None = None
    candidates: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The workload (``ns/deployment/ui``), the pod, ``node NAME`` or the address."""
        if self.pod is not None:
            return workload_key(self.pod)
        if self.node is not None:
            return f"node {self.node.name}"
        return str(self.end.ip)


def workload_key(pod: Pod) -> str:
    return f"{pod.namespace}/{pod.workload.format()}" if pod.workload else pod.key


class AddressBook:
    """The snapshot's owners of each address: pods (not hostNetwork), nodes, Services."""

    def __init__(self, cluster: Cluster, pod_ranges: Sequence[IPNetwork] = ()) -> None:
        self.cluster = cluster
        self.pod_ranges = tuple(pod_ranges)
        self.pods: dict[IPAddress, list[Pod]] = {}
        for pod in cluster.pods:
            if not pod.host_network:
                for ip in dict.fromkeys(pod.ips):
                    self.pods.setdefault(ip, []).append(pod)
        self.services = {ip: s.key for s in cluster.services for ip in s.cluster_ips}

    def map(self, end: FlowEnd) -> MappedEnd:
        owners = self.pods.get(end.ip, [])
        if end.pod is not None:
            return self._named(end, owners)
        if len(owners) > 1:
            keys = tuple(p.key for p in owners)
            return MappedEnd(end, EndKind.AMBIGUOUS, ambiguity=Ambiguity.TWO_PODS, candidates=keys)
        if owners:
            return MappedEnd(end, EndKind.POD, pod=owners[0])
        return self._not_a_pod(end)

    def _named(self, end: FlowEnd, owners: list[Pod]) -> MappedEnd:
        """The record names a pod: it must be the snapshot's pod at that address."""
        assert end.pod is not None
        named = self.cluster.pod(end.pod.namespace, end.pod.name)
        others = tuple(p.key for p in owners if p is not named)
        if named is None:
            why = Ambiguity.REUSED if others else Ambiguity.POD_GONE
            return MappedEnd(end, EndKind.AMBIGUOUS, ambiguity=why, candidates=others)
        if named.host_network:
            return MappedEnd(end, EndKind.NODE, pod=None, node=self._node_of(end.ip))
        if end.ip not in named.ips:
            why = Ambiguity.REUSED if others else Ambiguity.MOVED
            return MappedEnd(end, EndKind.AMBIGUOUS, ambiguity=why, candidates=(named.key, *others))
        if others:
            keys = (named.key, *others)
            return MappedEnd(end, EndKind.AMBIGUOUS, ambiguity=Ambiguity.TWO_PODS, candidates=keys)
        return MappedEnd(end, EndKind.POD, pod=named)

    def _not_a_pod(self, end: FlowEnd) -> MappedEnd:
        node = self._node_of(end.ip)
        if node is not None:
            return MappedEnd(end, EndKind.NODE, node=node)
        service = self.services.get(end.ip)
        if service is not None:
            return MappedEnd(
                end, EndKind.AMBIGUOUS, ambiguity=Ambiguity.SERVICE_ADDRESS, candidates=(service,)
            )
        if any(end.ip in r for r in self.pod_ranges if r.version == end.ip.version):
            return MappedEnd(end, EndKind.AMBIGUOUS, ambiguity=Ambiguity.POD_RANGE)
        return MappedEnd(end, EndKind.EXTERNAL)

    def _node_of(self, ip: IPAddress) -> Node | None:
        return self.cluster.node_by_ip(ip)


class Status(enum.Enum):
    """What explain-flows found for one flow, in the order it lists them."""

    DISAGREES = "disagrees"  # the logged verdict is not the engine's: drift or a bug
    AGREES = "agrees"
    NOT_LOGGED = "not-logged"  # the record gives no policy verdict to compare
    AMBIGUOUS = "ambiguous"  # an end could not be attributed: not explained
    REPLY = "reply"  # a reply: part of the connection it answers, not judged


@dataclass(frozen=True, slots=True)
class ExplainedFlow:
    flow: Flow
    src: MappedEnd
    dst: MappedEnd
    status: Status
    decision: Decision | None = None  # the engine's, for flows it judged
    reply_guessed: bool = False  # the record did not say: the port rule did

    @property
    def group(self) -> tuple[str, str, int, str]:
        """Workload pair and port: what flows are grouped by."""
        return (self.src.label, self.dst.label, self.flow.dst.port, self.flow.protocol.value)


@dataclass(frozen=True)
class FlowsExplained:
    """Every flow, the disagreements first, then grouped by workload pair and port
    (in the order of their first flow)."""

    flows: tuple[ExplainedFlow, ...]

    def of(self, status: Status) -> tuple[ExplainedFlow, ...]:
        return tuple(f for f in self.flows if f.status is status)

    @property
    def disagreements(self) -> tuple[ExplainedFlow, ...]:
        return self.of(Status.DISAGREES)


def is_reply(flow: Flow, src: MappedEnd, dst: MappedEnd) -> tuple[bool, bool]:
    """(is it a reply, was that guessed). The record's word when it gives one; else
    the port rule (docs/flows.md): a flow to a port the destination pod declares
    is a request; from a port the source pod declares, a reply; otherwise, from a
    port below 32768 to one at or above it (Linux's ephemeral range), a reply."""
    if flow.reply is not None:
        return flow.reply, False
    protocol = flow.protocol
    if dst.pod is not None and _declares(dst.pod, flow.dst.port, protocol):
        return False, True
    if src.pod is not None and _declares(src.pod, flow.src.port, protocol):
        return True, True
    ephemeral = flow.dst.port >= EPHEMERAL_PORTS_START > flow.src.port
    return ephemeral, True


def _declares(pod: Pod, port: int, protocol: object) -> bool:
    return any(p.port == port and p.protocol is protocol for p in pod.ports)


def explain_flows(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    flows: Iterable[Flow],
    book: AddressBook,
    memo: bool = True,
) -> FlowsExplained:
    """Each flow mapped and, unless it is a reply or ambiguous, decided by the engine.

    With ``memo`` (the fast path), flows of the same connection (the same
    addresses, pods, destination port and protocol: a log repeats them, only the
    source port differs) share one decision; without it, the engine decides every
    flow (the oracle the tests check the fast path against)."""
    decisions: dict[tuple[object, ...], Decision] | None = {} if memo else None
    explained = [explain_flow(compiled, cluster, flow, book, decisions) for flow in flows]
    return FlowsExplained(tuple(_ordered(explained)))


def explain_flow(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    flow: Flow,
    book: AddressBook,
    decisions: dict[tuple[object, ...], Decision] | None = None,
) -> ExplainedFlow:
    src, dst = book.map(flow.src), book.map(flow.dst)
    reply, guessed = is_reply(flow, src, dst)
    if reply:
        return ExplainedFlow(flow, src, dst, Status.REPLY, reply_guessed=guessed)
    if EndKind.AMBIGUOUS in (src.kind, dst.kind):
        return ExplainedFlow(flow, src, dst, Status.AMBIGUOUS, reply_guessed=guessed)
    # the pods are the cluster's own objects: their identity stands for them
    key = (flow.src.ip, id(src.pod), flow.dst.ip, id(dst.pod), flow.dst.port, flow.protocol)
    decision = decisions.get(key) if decisions is not None else None
    if decision is None:
        decision = evaluate(compiled, cluster, flow_connection(flow, src, dst))
        if decisions is not None:
            decisions[key] = decision
    logged = flow.policy_verdict
    if logged is None:
        status = Status.NOT_LOGGED
    else:
        status = Status.AGREES if logged == decision.allowed else Status.DISAGREES
    return ExplainedFlow(flow, src, dst, status, decision, guessed)


def flow_connection(flow: Flow, src: MappedEnd, dst: MappedEnd) -> Connection:
    """The connection the engine judges: the flow's own addresses, with the pods
    they map to (the port is the destination's real port: flows are recorded after
    a Service's load balancing)."""
    return Connection(
        Endpoint(flow.src.ip, src.pod), Endpoint(flow.dst.ip, dst.pod), flow.dst.port, flow.protocol
    )


_BUCKET = {Status.DISAGREES: 0, Status.AGREES: 1, Status.NOT_LOGGED: 1, Status.AMBIGUOUS: 2,
           Status.REPLY: 3}  # fmt: skip


def _ordered(explained: list[ExplainedFlow]) -> list[ExplainedFlow]:
    """Disagreements first, then the judged flows by group (groups in the order of
    their first flow), then the ambiguous ones, then the replies; file order within."""
    first: dict[tuple[str, str, int, str], int] = {}
    for i, f in enumerate(explained):
        first.setdefault(f.group, i)
    return sorted(explained, key=lambda f: (_BUCKET[f.status], first[f.group]))
