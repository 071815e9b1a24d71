"""Cluster → lab topology, as frozen data. Pure: no I/O, no subprocess.

The topology is the prototype's (the prototype's notes), generalised
to several nodes:

- "routed, no bridge, no uplink, no NAT to the outside": every pod is a network
  namespace with its model IPv4 address as a /32 on ``eth0``; its node is a router
  namespace holding the other end of the veth. "Each host-side veth carries the
  same gateway /32" (here: the node's address), with ``scope link`` routes both
  ways, "so all pod↔pod traffic is routed through the node's forward hook, with
  no bridge/br_netfilter question".
- Node routers are joined by one veth pair per pair of nodes, again /32 to /32;
  each node routes the other nodes' pod /32s via that peer.
- No namespace has a default route: pods route only the lab's own prefixes
  (/24s around its pod, service and node addresses, and the external range) via
  their node, so "the only path out of any lab namespace is to other lab
  namespaces". Nothing is created in the root namespace.
- An external host on TEST-NET-3 (203.0.113.10, "www.example.com") hangs off the
  first node.
- Dual stack when some pod has an IPv6 address: the same topology again in IPv6
  (pods' /128s, node addresses from 2001:db8:0:1::/64, the external host at
  2001:db8:0:2::10), IPv6 ClusterIPs translated by an ``ip6`` kube-proxy table
  and AAAA records in the lab DNS; resolv.conf still names the IPv4 kube-dns.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

from netfence.lab.kubeproxy import antispoof6_ruleset, kube_proxy_ruleset
from netfence.lab.service_plan import (
    dns_ports,
    dns_records,
    dns_service,
    hairpin_addresses,
    service_entries,
)
from netfence.model.cluster import Cluster, Node, Pod, first_address
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress, IPNetwork
from netfence.model.ports import ContainerPort, Protocol

DEFAULT_NODES = ("node-a", "node-b")
NODE_ADDRESSES = ipaddress.ip_network("198.51.100.0/24")  # TEST-NET-2: invented node addresses
EXTERNAL_NETWORK = ipaddress.ip_network("203.0.113.0/24")  # TEST-NET-3, as in the notes
EXTERNAL_GATEWAY = "203.0.113.1"
EXTERNAL_ADDRESS = "203.0.113.10"
EXTERNAL_NAME = "www.example.com"
NODE_ADDRESSES_6 = ipaddress.ip_network("2001:db8:0:1::/64")  # documentation range
EXTERNAL_NETWORK_6 = ipaddress.ip_network("2001:db8:0:2::/64")
EXTERNAL_GATEWAY_6 = "2001:db8:0:2::1"
EXTERNAL_ADDRESS_6 = "2001:db8:0:2::10"
HTTP_PORT_NAMES = ("http", "web")
HTTP_PORT_NUMBERS = (80, 8080)
MAX_IFNAME = 15  # IFNAMSIZ - 1: "v-catalog-mysql was truncated to v-catalog-mysq"
MAX_NETNS = 64
_LAB_ID = re.compile(r"^[a-z0-9]{1,8}$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_SAFE = re.compile(r"[^a-z0-9-]")
_FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9._~-]{0,127}$")
_SAFE_DOTS = re.compile(r"[^a-z0-9.-]")


class ServerKind(enum.Enum):
    HTTP = "http"  # GET /health → OK
    TCP = "tcp"  # greeting line, then echo
    UDP = "udp"  # echo
    SCTP = "sctp"  # as TCP over SCTP sockets; without them, INIT answered by INIT ACK
    DNS = "dns"  # the lab DNS, UDP and TCP


@dataclass(frozen=True, slots=True)
class ServerSpec:
    kind: ServerKind
    port: int

    def format(self) -> str:
        return f"{self.kind.value}:{self.port}"

    @classmethod
    def parse(cls, text: str) -> ServerSpec:
        kind, _, port = text.partition(":")
        return cls(ServerKind(kind), int(port))


@dataclass(frozen=True, slots=True)
class PodPlan:
    namespace: str
    name: str
    workload: str | None  # "deployment/ui", as WorkloadRef.format() writes it
    node: str
    netns: str
    ip: str
    host_if: str  # the veth end in the node's namespace; the pod's end is eth0
    servers: tuple[ServerSpec, ...]
    resolv_conf: str
    ip6: str | None = None  # its IPv6 address, in a dual-stack lab

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class NodeLink:
    """One end of the veth pair between two node routers, in ``NodePlan.links``."""

    ifname: str
    peer: str  # the other node's name
    peer_address: str
    peer_address6: str | None = None


@dataclass(frozen=True, slots=True)
class NodePlan:
    name: str
    netns: str
    address: str  # on every pod veth and node link of this node, as a /32
    links: tuple[NodeLink, ...]
    address6: str | None = None  # the same as a /128, in a dual-stack lab


@dataclass(frozen=True, slots=True)
class ExternalPlan:
    netns: str
    node: str  # the node it is attached to
    host_if: str  # its link's end in that node
    address: str = EXTERNAL_ADDRESS
    gateway: str = EXTERNAL_GATEWAY
    network: str = str(EXTERNAL_NETWORK)
    hostname: str = EXTERNAL_NAME
    servers: tuple[ServerSpec, ...] = (ServerSpec(ServerKind.HTTP, 80),)
    address6: str | None = None  # in a dual-stack lab
    gateway6: str | None = None
    network6: str | None = None


@dataclass(frozen=True)
class LabPlan:
    lab_id: str
    nodes: tuple[NodePlan, ...]
    pods: tuple[PodPlan, ...]
    external: ExternalPlan
    routed: tuple[str, ...]  # prefixes every pod (and the external host) routes via its gateway
    dns_records: tuple[tuple[str, tuple[str, ...]], ...]
    nameserver: str | None  # kube-dns ClusterIP
    kube_proxy: str  # the nft ruleset loaded in every node router (+ IPv6 anti-spoofing)
    cluster_domain: str = "cluster.local"
    notes: tuple[str, ...] = ()
    routed6: tuple[str, ...] = ()  # the same for IPv6; empty: the lab is IPv4 only

    @property
    def dual_stack(self) -> bool:
        return bool(self.routed6)

    def pod(self, key: str) -> PodPlan | None:
        return next((p for p in self.pods if p.key == key), None)

    def node(self, name: str) -> NodePlan | None:
        return next((n for n in self.nodes if n.name == name), None)

    def pods_on(self, node: str) -> tuple[PodPlan, ...]:
        return tuple(p for p in self.pods if p.node == node)

    def netns_names(self) -> tuple[str, ...]:
        """Every namespace of the lab, nodes first (they are created first)."""
        return (
            *(n.netns for n in self.nodes),
            *(p.netns for p in self.pods),
            self.external.netns,
        )


# --- names ---------------------------------------------------------------------------------


def check_lab_id(lab_id: str) -> str:
    if not _LAB_ID.match(lab_id):
        raise ValueError(f"lab id {lab_id!r}: expected 1-8 lowercase letters or digits")
    return lab_id


def lab_prefixes(lab_id: str) -> tuple[str, str]:
    """Every lab namespace starts with one of these; cleanup sweeps by them."""
    return f"{lab_id}-", f"{lab_id}_"


def pod_netns(lab_id: str, namespace: str, name: str) -> str:
    """``<id>-<ns>.<pod>``: a namespace name has no dot (``safe_name`` keeps none), so
    the first dot splits."""
    return _capped(f"{lab_id}-", f"{safe_name(namespace, dots=False)}.{safe_name(name)}")


def node_netns(lab_id: str, node: str) -> str:
    """``<id>_<node>``: "_" is in no Kubernetes name (nor in ``safe_name``), so never
    equal to a pod's."""
    return _capped(f"{lab_id}_", safe_name(node))


def external_netns(lab_id: str) -> str:
    """``<id>-ext``: no dot, so never a pod's; "-", so never a node's."""
    return f"{lab_id}-ext"


def safe_name(text: str, *, dots: bool = True, limit: int = MAX_NETNS) -> str:
    """A name for files and network namespaces derived from user input: only
    ``[a-z0-9-]`` (and ``.`` with ``dots``), starting with a letter or digit, at
    most ``limit`` characters. A valid Kubernetes name (DNS-1123) is kept as it is;
    any other text is mapped and gets ``~`` and a hash of the original, so two
    different inputs never share a name and none can name another directory."""
    allowed = _SAFE_DOTS if dots else _SAFE
    mapped = allowed.sub("-", text.lower())
    if mapped == text and 0 < len(text) <= limit and not text.startswith("."):
        return text
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{mapped.lstrip('.-')[: limit - 9] or 'x'}~{digest}"


def file_name(name: str) -> str:
    """``name`` as a file name in the lab directory: kept if it is one of the lab's
    own names (a namespace name, ``agent-<node>``: ``[a-z0-9._~-]``, not starting
    with a dot), else ``safe_name``: never a path, never ``..``."""
    return name if _FILE_NAME.match(name) else safe_name(name)


def interface_name(prefix: str, name: str) -> str:
    """``prefix`` (unique within its namespace) plus as much of ``name`` as fits in 15."""
    room = MAX_IFNAME - len(prefix)
    return (prefix + _UNSAFE.sub("-", name))[: len(prefix) + max(room, 0)]


def _capped(prefix: str, name: str) -> str:
    """``prefix + name``, cut to MAX_NETNS with ``~`` and a hash of the whole name."""
    if len(prefix) + len(name) <= MAX_NETNS:
        return prefix + name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{prefix}{name[: MAX_NETNS - len(prefix) - 9]}~{digest}"


def with_lab_nodes(cluster: Cluster, plan: LabPlan) -> Cluster:
    """``cluster`` as the lab placed it: every lab pod on its lab node, and a Node (with
    its lab address) for each lab node the cluster did not declare. This is what a
    node agent in the lab computes its own pods from."""
    placed = {p.key: p.node for p in plan.pods}
    pods = tuple(
        dataclasses.replace(p, node=placed[p.key]) if p.key in placed else p for p in cluster.pods
    )
    declared = {n.name for n in cluster.nodes}
    added = tuple(
        Node(
            n.name,
            Labels.of({"kubernetes.io/hostname": n.name}),
            tuple(ipaddress.ip_address(a) for a in (n.address, n.address6) if a),
        )
        for n in plan.nodes
        if n.name not in declared
    )
    return dataclasses.replace(cluster, pods=pods, nodes=(*cluster.nodes, *added))


# --- planning ------------------------------------------------------------------------------


def make_plan(cluster: Cluster, lab_id: str) -> LabPlan:
    """The whole lab for ``cluster``: deterministic for equal inputs."""
    check_lab_id(lab_id)
    notes: list[str] = []
    pods = _lab_pods(cluster, notes)
    node_names = _node_names(cluster, pods)
    placement = _placement(pods, node_names)
    addresses = _node_addresses(cluster, node_names)
    dual_stack = any(first_address(p.ips, 6) for p in pods)
    addresses6 = _node_addresses(cluster, node_names, 6) if dual_stack else {}
    nodes = tuple(
        _node_plan(lab_id, i, node_names, addresses, addresses6) for i in range(len(node_names))
    )
    dns = dns_service(cluster, notes)
    dns_ip = first_address(dns.cluster_ips, 4) if dns else None
    nameserver = str(dns_ip) if dns_ip else None
    dns_targets = dns_ports(cluster, dns)
    slots = _slots(pods, placement)
    pod_plans = tuple(
        _pod_plan(lab_id, cluster, pod, placement[pod.key], slots[pod.key], dns_targets, nameserver)
        for pod in pods
    )
    if any(s.kind is ServerKind.SCTP for p in pod_plans for s in p.servers):
        notes.append(
            "SCTP ports: SCTP sockets where the kernel has them, else a raw-socket responder "
            "that answers INIT with INIT ACK (no data transfer)"
        )
    return LabPlan(
        lab_id=lab_id,
        nodes=nodes,
        pods=pod_plans,
        external=_external(lab_id, nodes[0].name, dual_stack),
        routed=_routed_prefixes(cluster, pods, addresses.values()),
        routed6=_routed_prefixes(cluster, pods, addresses6.values(), 6) if dual_stack else (),
        dns_records=dns_records(cluster, dual_stack, _external_records(dual_stack)),
        nameserver=nameserver,
        kube_proxy=kube_proxy_ruleset(
            service_entries(cluster, pods, dual_stack), hairpin_addresses(cluster, pods, dual_stack)
        )
        + (antispoof6_ruleset() if dual_stack else ""),
        cluster_domain=cluster.cluster_domain,
        notes=tuple(notes),
    )


def _lab_pods(cluster: Cluster, notes: list[str]) -> list[Pod]:
    """Pods that get a namespace: not hostNetwork, with an IPv4 address."""
    pods = []
    for pod in sorted(cluster.pods, key=lambda p: (p.namespace, p.name)):
        if pod.host_network:
            notes.append(f"{pod.key}: hostNetwork, so no namespace of its own (not served)")
        elif first_address(pod.ips, 4) is None:
            notes.append(f"{pod.key}: no IPv4 address; lab pods need one (not served)")
        else:
            pods.append(pod)
    return pods


def _node_names(cluster: Cluster, pods: list[Pod]) -> tuple[str, ...]:
    """The cluster's nodes (declared or named by pods), padded to at least two."""
    names = sorted({n.name for n in cluster.nodes} | {p.node for p in pods if p.node})
    for extra in DEFAULT_NODES:
        if len(names) >= 2:
            break
        if extra not in names:
            names.append(extra)
    return tuple(names)


def _placement(pods: list[Pod], nodes: tuple[str, ...]) -> dict[str, str]:
    """A pod keeps ``pod.node``; the others go round-robin in (namespace, name) order."""
    placement, turn = {}, 0
    for pod in pods:
        if pod.node:
            placement[pod.key] = pod.node
        else:
            placement[pod.key] = nodes[turn % len(nodes)]
            turn += 1
    return placement


def _slots(pods: list[Pod], placement: dict[str, str]) -> dict[str, int]:
    """A pod's index among its node's pods: makes its veth name unique there."""
    counts: dict[str, int] = {}
    slots = {}
    for pod in pods:
        node = placement[pod.key]
        slots[pod.key] = counts.get(node, 0)
        counts[node] = slots[pod.key] + 1
    return slots


def _node_addresses(cluster: Cluster, names: tuple[str, ...], version: int = 4) -> dict[str, str]:
    """A node's own address of ``version`` from the model, else the next free one of
    TEST-NET-2 (IPv4) or 2001:db8:0:1::/64 (IPv6); none given twice."""
    declared = {n.name: first_address(n.ips, version) for n in cluster.nodes}
    used = _used_addresses(cluster) | {str(a) for a in declared.values() if a}
    pool = NODE_ADDRESSES if version == 4 else NODE_ADDRESSES_6
    free = (str(ip) for ip in pool.hosts() if str(ip) not in used)
    return {name: str(declared.get(name) or next(free)) for name in names}


def _external(lab_id: str, node: str, dual_stack: bool) -> ExternalPlan:
    plan = ExternalPlan(external_netns(lab_id), node, "ext0")
    if not dual_stack:
        return plan
    network6 = str(EXTERNAL_NETWORK_6)
    return dataclasses.replace(
        plan, address6=EXTERNAL_ADDRESS_6, gateway6=EXTERNAL_GATEWAY_6, network6=network6
    )


def _external_records(dual_stack: bool) -> dict[str, tuple[str, ...]]:
    six = (EXTERNAL_ADDRESS_6,) if dual_stack else ()
    return {EXTERNAL_NAME: (EXTERNAL_ADDRESS, *six)}


def _used_addresses(cluster: Cluster) -> set[str]:
    pods = {str(ip) for p in cluster.pods for ip in p.ips}
    return pods | {str(ip) for s in cluster.services for ip in s.cluster_ips}


def _node_plan(
    lab_id: str,
    index: int,
    names: tuple[str, ...],
    addresses: dict[str, str],
    addresses6: dict[str, str],
) -> NodePlan:
    """A full mesh: in node i the link to node j is ``n<j>-<name>``."""
    name = names[index]
    links = tuple(
        NodeLink(interface_name(f"n{j}-", peer), peer, addresses[peer], addresses6.get(peer))
        for j, peer in enumerate(names)
        if j != index
    )
    return NodePlan(name, node_netns(lab_id, name), addresses[name], links, addresses6.get(name))


def _pod_plan(
    lab_id: str,
    cluster: Cluster,
    pod: Pod,
    node: str,
    slot: int,
    dns_ports: dict[str, int],
    nameserver: str | None,
) -> PodPlan:
    return PodPlan(
        namespace=pod.namespace,
        name=pod.name,
        workload=pod.workload.format() if pod.workload else None,
        node=node,
        netns=pod_netns(lab_id, pod.namespace, pod.name),
        ip=str(first_address(pod.ips, 4)),
        host_if=interface_name(f"v{slot}-", pod.name),
        servers=pod_servers(pod.ports, dns_ports.get(pod.key)),
        resolv_conf=resolv_conf(pod.namespace, cluster.cluster_domain, nameserver),
        ip6=str(ip6) if (ip6 := first_address(pod.ips, 6)) else None,
    )


# --- what runs in a pod --------------------------------------------------------------------


def pod_servers(ports: Iterable[ContainerPort], dns_port: int | None) -> tuple[ServerSpec, ...]:
    """One server per declared container port; a kube-dns backend runs the lab DNS on
    its DNS port (UDP and TCP) instead of the plain listeners for that port."""
    specs: list[ServerSpec] = [ServerSpec(ServerKind.DNS, dns_port)] if dns_port else []
    seen: set[tuple[int, Protocol]] = set()
    for port in ports:
        if (port.port, port.protocol) in seen:
            continue
        seen.add((port.port, port.protocol))
        if port.port == dns_port and port.protocol in (Protocol.UDP, Protocol.TCP):
            continue
        specs.append(ServerSpec(server_kind(port), port.port))
    return tuple(specs)


def server_kind(port: ContainerPort) -> ServerKind:
    """HTTP for a TCP port named ``http``, ``web`` or ``http-…``, or numbered 80 or 8080;
    a greeting TCP listener for other TCP ports; UDP echo; SCTP as TCP."""
    if port.protocol is Protocol.UDP:
        return ServerKind.UDP
    if port.protocol is Protocol.SCTP:
        return ServerKind.SCTP
    name = (port.name or "").lower()
    http = name in HTTP_PORT_NAMES or name.startswith("http-") or port.port in HTTP_PORT_NUMBERS
    return ServerKind.HTTP if http else ServerKind.TCP


def resolv_conf(namespace: str, domain: str, nameserver: str | None) -> str:
    """What kubelet writes for dnsPolicy ClusterFirst (prototype notes)."""
    lines = [f"search {namespace}.svc.{domain} svc.{domain} {domain}"]
    if nameserver:
        lines.append(f"nameserver {nameserver}")
    lines.append("options ndots:5")
    return "\n".join(lines) + "\n"


def _routed_prefixes(
    cluster: Cluster, pods: list[Pod], node_addresses: Iterable[str], version: int = 4
) -> tuple[str, ...]:
    """The /24s (IPv4) or /64s (IPv6) around every lab address of one family, plus
    the external network, collapsed."""
    addresses = [first_address(p.ips, version) for p in pods]
    addresses += [first_address(s.cluster_ips, version) for s in cluster.services]
    addresses += [ipaddress.ip_address(a) for a in node_addresses]
    if version == 4:
        return _around(addresses, 24, EXTERNAL_NETWORK)
    return _around(addresses, 64, EXTERNAL_NETWORK_6)


def _around(
    addresses: Iterable[IPAddress | None], length: int, external: IPNetwork
) -> tuple[str, ...]:
    networks = {ipaddress.ip_network(f"{a}/{length}", strict=False) for a in addresses if a}
    collapsed = ipaddress.collapse_addresses(sorted([*networks, external]))  # type: ignore[type-var]
    return tuple(str(n) for n in collapsed)
