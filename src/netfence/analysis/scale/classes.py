"""Pods collapsed into equivalence classes.

Two pods are equivalent for every policy question when they share namespace,
labels, declared ports, hostNetwork, membership in every ipBlock (and
cluster-wide ``networks``) the policies use and, when a cluster-wide policy has
a ``nodes`` peer, the labels of the node that owns their address: no selector,
named port, CIDR or node selector can tell them apart. When some pod's address
is a node's (a hostNetwork pod), NetworkPolicy's local-node rule reads nodes
too: classes split by the name of the node owning their address, and pods of
the namespaces ``local_namespaces`` by the node they run on, if it owns one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from netfence.compile.addresses import AddressRanges, Ranges
from netfence.model.cluster import Cluster, Pod
from netfence.model.labels import Labels
from netfence.model.ports import ContainerPort

BoolVector = npt.NDArray[np.bool_]
IntVector = npt.NDArray[np.int64]

ANALYSIS_IP_VERSION = 4  # the whole-cluster analysis judges IPv4 connections


def analysis_ip(pod: Pod) -> object:
    """The address whole-cluster analysis uses for a pod (None: no IPv4 address)."""
    return pod.ip_of_version(ANALYSIS_IP_VERSION)


@dataclass(frozen=True, slots=True)
class ClassKey:
    namespace: str
    labels: Labels
    ports: tuple[ContainerPort, ...]
    host_network: bool
    blocks: tuple[bool, ...]
    node: Labels | None = None  # labels of the node owning the address (when read)
    owner: str | None = None  # name of the node owning the address (local-node rule)
    runs_on: str | None = None  # the node it runs on, when that node owns a pod address


@dataclass
class ClassTable:
    """C classes: their keys, member pods, sizes and indexes by namespace and label."""

    keys: list[ClassKey]
    members: list[list[Pod]]
    weights: IntVector  # pods per class
    namespace_ids: IntVector  # index into ``namespaces``
    namespaces: list[str]
    host_network: BoolVector
    blocks: list[AddressRanges]  # the address sets classes are split by
    block_members: npt.NDArray[np.bool_]  # (len(blocks), C)
    port_sets: list[tuple[ContainerPort, ...]]  # distinct declared-port lists
    port_set_ids: IntVector  # per class: index into port_sets

    @property
    def size(self) -> int:
        return len(self.keys)


def block_membership(pods: Sequence[Pod], blocks: Sequence[AddressRanges]) -> npt.NDArray[np.bool_]:
    """(pods × address sets): is each pod's IPv4 address inside each set (its
    merged ranges, ``except`` already subtracted)? By bisection on integer
    addresses, all pods at once."""
    out = np.zeros((len(pods), len(blocks)), dtype=np.bool_)
    if not blocks:
        return out
    ips = (pod.ip_of_version(ANALYSIS_IP_VERSION) for pod in pods)
    values = np.fromiter((-1 if ip is None else int(ip) for ip in ips), np.int64, len(pods))
    for b, block in enumerate(blocks):
        out[:, b] = in_ranges(values, block.family(ANALYSIS_IP_VERSION))
    return out


def in_ranges(values: IntVector, ranges: Ranges) -> npt.NDArray[np.bool_]:
    """Per value: is it inside one of ``ranges`` (sorted, disjoint; -1: no address)?"""
    if not ranges:
        return np.zeros(values.size, dtype=np.bool_)
    starts = np.array([lo for lo, _ in ranges], dtype=np.int64)
    ends = np.array([hi for _, hi in ranges], dtype=np.int64)
    at = np.searchsorted(starts, values, side="right") - 1
    inside: npt.NDArray[np.bool_] = (at >= 0) & (values <= ends[np.maximum(at, 0)])
    return inside & (values >= 0)


def build_classes(
    cluster: Cluster,
    blocks: Sequence[AddressRanges],
    by_node: bool = False,
    local_namespaces: frozenset[str] = frozenset(),
) -> ClassTable:
    """Classes numbered namespace by namespace (in order of first appearance
    within each), so that a whole namespace is a run of consecutive classes.
    ``by_node``: split them by the labels of the node owning each pod's IPv4
    address too (what a cluster-wide ``nodes`` peer reads). ``local_namespaces``:
    the namespaces whose pods a NetworkPolicy may isolate for ingress (the
    local-node rule matters there)."""
    pods = cluster.pods
    membership = block_membership(pods, blocks)
    nodes = [_node_labels(cluster, pod) if by_node else None for pod in pods]
    local = _local_nodes(cluster, local_namespaces)
    index: dict[tuple[object, ...], int] = {}
    first: list[int] = []  # per class: the index of its first pod
    members: list[list[Pod]] = []
    port_tokens: dict[int, int] = {}  # id(ports tuple) -> token: one hash per tuple object
    port_ids: dict[tuple[ContainerPort, ...], int] = {}
    for i, (pod, signature) in enumerate(zip(pods, _block_signatures(membership), strict=True)):
        ports = pod.ports
        token = port_tokens.get(id(ports))
        if token is None:
            token = port_tokens[id(ports)] = port_ids.setdefault(ports, len(port_ids))
        key = (pod.namespace, pod.labels, token, pod.host_network, signature, nodes[i], local[i])
        found = index.get(key)
        if found is None:
            found = index[key] = len(first)
            first.append(i)
            members.append([])
        members[found].append(pod)
    order = sorted(range(len(first)), key=lambda c: pods[first[c]].namespace)
    rows = membership[[first[c] for c in order]]
    keys: list[ClassKey] = []
    for c, blocks_in in zip(order, map(tuple, rows.tolist()), strict=True):
        pod = pods[first[c]]
        node, (owner, runs_on) = nodes[first[c]], local[first[c]]
        keys.append(
            ClassKey(
                pod.namespace, pod.labels, pod.ports, pod.host_network, blocks_in, node,
                owner, runs_on,
            )
        )  # fmt: skip
    ports_of = [port_tokens[id(pods[first[c]].ports)] for c in order]
    return _table(keys, [members[c] for c in order], list(blocks), rows.T.copy(), ports_of)


def _node_labels(cluster: Cluster, pod: Pod) -> Labels | None:
    """The labels of the node whose addresses include the pod's IPv4 address (a
    hostNetwork pod's address is its node's), None when no node owns it."""
    ip = pod.ip_of_version(ANALYSIS_IP_VERSION)
    node = None if ip is None else cluster.node_by_ip(ip)
    return None if node is None else node.labels


def _local_nodes(
    cluster: Cluster, namespaces: frozenset[str]
) -> list[tuple[str | None, str | None]]:
    """Per pod: the node owning its IPv4 address, and (for pods of ``namespaces``)
    the node it runs on when that node owns some pod's address; (None, None) for
    every pod when no pod address is a node's."""
    owners = [_owner(cluster, pod) for pod in cluster.pods]
    owning = {o for o in owners if o is not None}
    if not owning:
        return [(None, None)] * len(owners)
    return [
        (owner, pod.node if pod.namespace in namespaces and pod.node in owning else None)
        for owner, pod in zip(owners, cluster.pods, strict=True)
    ]


def _owner(cluster: Cluster, pod: Pod) -> str | None:
    ip = pod.ip_of_version(ANALYSIS_IP_VERSION)
    node = None if ip is None else cluster.node_by_ip(ip)
    return None if node is None else node.name


def _block_signatures(membership: npt.NDArray[np.bool_]) -> list[object]:
    """Per pod, a hashable value that is equal for equal rows of block memberships."""
    packed = np.packbits(membership, axis=1)
    if packed.shape[1] <= 8:
        widened = np.zeros((packed.shape[0], 8), dtype=np.uint8)
        widened[:, : packed.shape[1]] = packed
        return list(widened.view(np.uint64).reshape(-1).tolist())
    return [row.tobytes() for row in packed]


def _table(
    keys: list[ClassKey],
    members: list[list[Pod]],
    blocks: list[AddressRanges],
    block_members: npt.NDArray[np.bool_],
    port_tokens: list[int],
) -> ClassTable:
    """``port_tokens``: per class, a number equal for equal declared-port lists."""
    namespaces = sorted({k.namespace for k in keys})
    ns_index = {ns: i for i, ns in enumerate(namespaces)}
    renumber: dict[int, int] = {}
    port_sets: list[tuple[ContainerPort, ...]] = []
    for key, token in zip(keys, port_tokens, strict=True):
        if token not in renumber:
            renumber[token] = len(port_sets)
            port_sets.append(key.ports)
    port_set_ids = np.array([renumber[t] for t in port_tokens], dtype=np.int64)
    return ClassTable(
        keys=keys,
        members=members,
        weights=np.array([len(m) for m in members], dtype=np.int64),
        namespace_ids=np.array([ns_index[k.namespace] for k in keys], dtype=np.int64),
        namespaces=namespaces,
        host_network=np.array([k.host_network for k in keys], dtype=np.bool_),
        blocks=blocks,
        block_members=block_members,
        port_sets=port_sets,
        port_set_ids=port_set_ids,
    )
