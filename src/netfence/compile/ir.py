"""The compiled form of every peer and port of every policy kind: a closed set of
selections, decided once at compile time, that every consumer reads.

A NetworkPolicy peer, an ApplicationNetworkPolicy ``domainNames`` peer and each
cluster-wide peer (``namespaces``, ``pods``, ``networks``, ``nodes``,
``domainNames``) all become one of four selections:

- ``PodsSelected``: pods (never hostNetwork ones) in a namespace scope (the
  policy's own namespace, every namespace, or those a selector matches) whose
  labels a pod selector matches (None: every pod);
- ``AddressesIn``: addresses of both families as merged ranges, ``except``
  already subtracted; they match any address, pods' included;
- ``NodesSelected``: the addresses of the nodes a selector matches;
- ``NamesMatching``: a connection made to one of the DNS names.

Ports become ``PortNumbers`` (a protocol and an inclusive range; a rule's
"all ports of a protocol" is 1–65535) or ``PortNamed`` (a container port name,
looked up on the destination pod; with the protocol of the policy's port, or
any protocol for the cluster-wide kinds, whose named ports give none).

Backends: ``selects``/``port_matches`` decide one connection (the engine);
``ClusterIndex`` gives the pods of a selection as index sets over a cluster's pods
(nft and lint; nft/incremental.py keeps a live variant up to date); the class
analysis answers with sets of pod classes (analysis/scale/backend.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from netfence.compile.addresses import AddressRanges
from netfence.compile.label_index import LabelIndex
from netfence.compile.names import domain_matches
from netfence.model.cluster import Cluster, Node, Pod
from netfence.model.labels import LabelSelector
from netfence.model.policy import IPAddress, Peer
from netfence.model.ports import PolicyPort, Protocol

if TYPE_CHECKING:  # the tier modules load only when a cluster has tiers (start-up)
    from netfence.model.tiers import TierPeer, TierPort

# --- namespace scopes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OwnNamespace:
    """NetworkPolicyPeer.podSelector without namespaceSelector: "it selects the Pods
    matching PodSelector in the policy's own namespace"."""

    name: str

    def admits(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return namespace == self.name


@dataclass(frozen=True, slots=True)
class EveryNamespace:
    """An empty namespace selector: "An empty label selector matches all objects"."""

    def admits(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class NamespacesMatching:
    selector: LabelSelector

    def admits(self, namespace: str, labels: Mapping[str, str]) -> bool:
        return self.selector.matches(labels)


NamespaceScope = OwnNamespace | EveryNamespace | NamespacesMatching


def namespace_scope(selector: LabelSelector) -> NamespaceScope:
    return EveryNamespace() if selector.is_empty else NamespacesMatching(selector)


def in_scope(scope: NamespaceScope, namespace: str, labels: Mapping[str, str]) -> bool:
    return scope.admits(namespace, labels)


# --- selections ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PodsSelected:
    """Pods (never hostNetwork ones) in ``namespaces`` matching ``pods`` (None: all)."""

    namespaces: NamespaceScope
    pods: LabelSelector | None = None

    def covers(self, end: PeerEnd) -> bool:
        pod = end.pod
        return (
            pod is not None
            and self.namespaces.admits(pod.namespace, end.namespace_labels)
            and (self.pods is None or self.pods.matches(pod.labels))
        )


@dataclass(frozen=True, slots=True)
class AddressesIn:
    addresses: AddressRanges

    def covers(self, end: PeerEnd) -> bool:
        return end.ip is not None and self.addresses.contains(end.ip)


@dataclass(frozen=True, slots=True)
class NodesSelected:
    """v1alpha2 (nodes): "It selects the nodeIPs as the peer type by matching on the
    IPs present in the node.Status.Addresses field of the node." """

    selector: LabelSelector

    def covers(self, end: PeerEnd) -> bool:
        return end.node is not None and self.selector.matches(end.node.labels)


@dataclass(frozen=True, slots=True)
class NamesMatching:
    patterns: tuple[str, ...]

    def covers(self, end: PeerEnd) -> bool:
        name = end.name
        return name is not None and any(domain_matches(p, name) for p in self.patterns)


Selection = PodsSelected | AddressesIn | NodesSelected | NamesMatching


def pod_scope(selector: LabelSelector | None) -> LabelSelector | None:
    """A pod selector as a scope: None (every pod) when absent or empty."""
    return None if selector is None or selector.is_empty else selector


def of_peer(peer: Peer, policy_namespace: str) -> Selection:
    """A NetworkPolicyPeer (or an ApplicationNetworkPolicy one). API reference
    (podSelector): "If namespaceSelector is also set, then the NetworkPolicyPeer as a
    whole selects the Pods matching PodSelector in the Namespaces selected by
    NamespaceSelector. Otherwise it selects the Pods matching PodSelector in the
    policy's own namespace." (namespaceSelector): "If podSelector is also set, [...]
    Otherwise it selects all Pods in the Namespaces selected by NamespaceSelector."
    (ipBlock): "If this field is set then neither of the other fields can be." """
    if peer.domain_names is not None:
        return NamesMatching(peer.domain_names)
    if peer.ip_block is not None:
        return AddressesIn(AddressRanges.of_blocks((peer.ip_block,)))
    scope: NamespaceScope = (
        OwnNamespace(policy_namespace)
        if peer.namespace_selector is None
        else namespace_scope(peer.namespace_selector)
    )
    return PodsSelected(scope, pod_scope(peer.pod_selector))


def of_tier_peer(peer: TierPeer) -> Selection:
    """A cluster-wide peer: exactly one field is set (validation refuses others).
    "namespaces": "the peer is all pods in the selected namespaces"; "pods": pods
    in namespaces matching namespaceSelector AND matching podSelector; both "Note
    that host-networked pods are not included in this type of peer." "networks":
    "cluster-internal traffic will be checked against the rule as well"."""
    if peer.namespaces is not None:
        return PodsSelected(namespace_scope(peer.namespaces))
    if peer.pods is not None:
        pods = peer.pods
        return PodsSelected(namespace_scope(pods.namespace_selector), pod_scope(pods.pod_selector))
    if peer.nodes is not None:
        return NodesSelected(peer.nodes)
    if peer.networks is not None:
        return AddressesIn(AddressRanges.of_networks(peer.networks))
    return NamesMatching(peer.domain_names or ())  # none set: refused by validation


# --- the other end of a connection, and the per-connection backend ----------------------


class PeerEnd(NamedTuple):
    """What a peer looks at on the other end of a connection: its address, the pod
    that owns it (None outside the pods and for hostNetwork pods, which no pod
    selection includes), that pod's namespace labels, the node owning the address,
    and the DNS name the connection was made to (egress only; None when it was made
    to an address). A named tuple: the engine makes one per direction of every
    connection it decides, and a tuple is built several times faster than a frozen
    dataclass."""

    ip: IPAddress | None
    pod: Pod | None
    namespace_labels: Mapping[str, str]
    node: Node | None = None
    name: str | None = None


def selects(selection: Selection, end: PeerEnd) -> bool:
    """Does ``selection`` cover the other end of a connection?"""
    return selection.covers(end)


# --- ports ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PortNumbers:
    protocol: Protocol
    first: int
    last: int

    def matches(self, port: int, protocol: Protocol, destination: Pod | None) -> bool:
        return protocol is self.protocol and self.first <= port <= self.last


@dataclass(frozen=True, slots=True)
class PortNamed:
    """A container port name on the destination pod; ``protocol`` None: the
    connection's (the cluster-wide kinds' named ports give no protocol)."""

    name: str
    protocol: Protocol | None = None

    def matches(self, port: int, protocol: Protocol, destination: Pod | None) -> bool:
        if self.protocol is not None and self.protocol is not protocol:
            return False
        return destination is not None and destination.named_port(self.name, protocol) == port


PortSelection = PortNumbers | PortNamed
EVERY_PORT = (1, 65535)


def of_policy_port(port: PolicyPort) -> PortSelection:
    """API reference (NetworkPolicyPort.port): "If this field is not provided, this
    matches all port names and numbers." (endPort): "indicates that the range of
    ports from port to endPort if set, inclusive, should be allowed"."""
    if isinstance(port.port, str):
        return PortNamed(port.port, port.protocol)
    if port.port is None:
        return PortNumbers(port.protocol, *EVERY_PORT)
    return PortNumbers(port.protocol, port.port, port.end_port or port.port)


def of_tier_port(port: TierPort) -> PortSelection:
    from netfence.model.tiers import NamedPort

    if isinstance(port, NamedPort):
        return PortNamed(port.name)
    return PortNumbers(port.protocol, port.start, port.end)


def port_matches(
    selection: PortSelection, port: int, protocol: Protocol, destination: Pod | None
) -> bool:
    """A number or range matches on its protocol; a named port "can either be a
    numerical or named port on a pod": it is looked up on the destination pod, so it
    never matches an address outside the pods."""
    return selection.matches(port, protocol, destination)


# --- the label-index backend -----------------------------------------------------------


class ClusterIndex:
    """Selections as sets of indexes into ``cluster.pods`` (hostNetwork pods are in
    none), through label indexes: what nft and lint read."""

    def __init__(self, cluster: Cluster) -> None:
        pods = cluster.pods
        selectable = [i for i, p in enumerate(pods) if not p.host_network]
        self.cluster = cluster
        self._pod_labels = LabelIndex([p.labels for p in pods], selectable)
        self._namespaces = sorted(
            {p.namespace for p in pods} | {ns.name for ns in cluster.namespaces}
        )
        self._ns_labels = LabelIndex([cluster.namespace_labels(n) for n in self._namespaces])
        self._in_namespace: dict[str, frozenset[int]] = {}
        grouped: dict[str, set[int]] = {}
        for i in selectable:
            grouped.setdefault(pods[i].namespace, set()).add(i)
        self._in_namespace = {ns: frozenset(found) for ns, found in grouped.items()}
        self._selected: dict[PodsSelected, frozenset[int]] = {}

    def namespaces(self, scope: NamespaceScope) -> list[str]:
        if isinstance(scope, OwnNamespace):
            return [scope.name]
        if isinstance(scope, EveryNamespace):
            return list(self._namespaces)
        return [self._namespaces[n] for n in sorted(self._ns_labels.select(scope.selector))]

    def pods(self, selection: PodsSelected) -> frozenset[int]:
        """The indexes of the pods ``selection`` covers."""
        found = self._selected.get(selection)
        if found is None:
            chosen: set[int] = set()
            for namespace in self.namespaces(selection.namespaces):
                chosen |= self._in_namespace.get(namespace, frozenset())
            if selection.pods is not None:
                chosen &= self._pod_labels.select(selection.pods)
            found = self._selected[selection] = frozenset(chosen)
        return found

    def nodes(self, selection: NodesSelected) -> tuple[Node, ...]:
        return tuple(n for n in self.cluster.nodes if selection.selector.matches(n.labels))
