"""Deterministic addresses for pods, nodes and Services that the manifests leave without.

Manifests of workloads carry no IPs; policies with ipBlock still need them. Pods
get addresses from POD_CIDR, Services from SERVICE_CIDR (EKS's default, where
kube-dns is 172.20.0.10), nodes from NODE_CIDR, in order of namespace and name.
Addresses given in the input (``status.podIP(s)``, ``spec.clusterIP(s)``, node
``InternalIP``) are kept, and never handed out twice. hostNetwork pods use their
node's address. An object left without an address because its range is used up
is reported (an error) and left out.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Iterator
from operator import attrgetter

from netfence.model.cluster import Node, Pod, Service
from netfence.model.diagnostics import Diagnostic, ObjectRef, Source, error
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress

POD_CIDR = ipaddress.ip_network("10.244.0.0/14")
SERVICE_CIDR = ipaddress.ip_network("172.20.0.0/16")
NODE_CIDR = ipaddress.ip_network("10.0.0.0/16")
KUBE_DNS_IP = ipaddress.ip_address("172.20.0.10")


_NAMESPACE_AND_NAME = attrgetter("namespace", "name")


class _Taken:
    """Addresses already used, gathered only when an address is first handed out:
    a cluster whose objects all have theirs never hashes them here."""

    def __init__(self, given: Iterable[Iterable[IPAddress]]) -> None:
        self._given: list[Iterable[Iterable[IPAddress]]] = [given]
        self._set: set[IPAddress] | None = None

    def update(self, ips: Iterable[IPAddress]) -> None:
        if self._set is None:
            self._given.append([tuple(ips)])
        else:
            self._set.update(ips)

    def set(self) -> set[IPAddress]:
        if self._set is None:
            self._set = {ip for given in self._given for ips in given for ip in ips}
            self._given = []
        return self._set


class _Allocator:
    def __init__(self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, taken: _Taken):
        self.network = network
        self._hosts: Iterator[IPAddress] = network.hosts()
        self._taken = taken
        self.problems: list[Diagnostic] = []

    def take(self, ips: Iterable[IPAddress]) -> None:
        self._taken.update(ips)

    def next(self, kind: str, ref: ObjectRef, source: Source | None) -> IPAddress | None:
        """The next free address, or None (reported) once the range is used up."""
        taken = self._taken.set()
        for ip in self._hosts:
            if ip not in taken:
                taken.add(ip)
                return ip
        message = f"no address left in {self.network} for this {kind}: left out"
        self.problems.append(error(message, source, ref))
        return None


def assign_addresses(
    pods: Iterable[Pod], services: Iterable[Service], nodes: Iterable[Node]
) -> tuple[list[Pod], list[Service], list[Node], list[Diagnostic]]:
    """Pods (in order of namespace and name), Services and nodes with addresses,
    and the errors for those left out."""
    pods = sorted(pods, key=_NAMESPACE_AND_NAME)
    taken = _Taken(p.ips for p in pods)
    node_allocator = _Allocator(NODE_CIDR, taken)
    nodes_out = _assign_nodes(nodes, pods, node_allocator)
    node_ips = {n.name: n.ips for n in nodes_out}
    pod_ips = _Allocator(POD_CIDR, taken)
    pods_out: list[Pod] = []
    for pod in pods:
        if not pod.ips:
            if pod.host_network:
                ips = node_ips.get(pod.node or "", ())
            else:
                ref = ObjectRef("Pod", pod.namespace, pod.name)
                ip = pod_ips.next("pod", ref, pod.source)
                if ip is None:
                    continue
                ips = (ip,)
            pod = dataclasses.replace(pod, ips=ips)
        pods_out.append(pod)
    services_out, service_problems = _assign_services(services)
    problems = [*node_allocator.problems, *pod_ips.problems, *service_problems]
    return pods_out, services_out, nodes_out, problems


def _assign_nodes(nodes: Iterable[Node], pods: list[Pod], allocator: _Allocator) -> list[Node]:
    by_name = {n.name: n for n in nodes}
    for pod in pods:  # a hostNetwork pod needs a node to take an address from
        if pod.host_network and not pod.ips and (pod.node or "") not in by_name:
            name = pod.node or "node-0"
            by_name[name] = Node(name, Labels.of({"kubernetes.io/hostname": name}))
            if not pod.node:
                pods[pods.index(pod)] = dataclasses.replace(pod, node=name)
    allocator.take(ip for n in by_name.values() for ip in n.ips)
    out: list[Node] = []
    for node in sorted(by_name.values(), key=lambda n: n.name):
        if not node.ips:
            ip = allocator.next("node", ObjectRef("Node", None, node.name), None)
            if ip is None:
                continue
            node = dataclasses.replace(node, ips=(ip,))
        out.append(node)
    return out


def _assign_services(services: Iterable[Service]) -> tuple[list[Service], list[Diagnostic]]:
    ordered = sorted(services, key=_NAMESPACE_AND_NAME)
    taken = _Taken(s.cluster_ips for s in ordered)
    taken.update((KUBE_DNS_IP,))  # reserved for kube-dns, as on EKS
    allocator = _Allocator(SERVICE_CIDR, taken)
    out: list[Service] = []
    for service in ordered:
        if not service.cluster_ips:
            is_dns = (service.namespace, service.name) == ("kube-system", "kube-dns")
            ref = ObjectRef("Service", service.namespace, service.name)
            ip = KUBE_DNS_IP if is_dns else allocator.next("Service", ref, service.source)
            if ip is None:
                continue
            service = dataclasses.replace(service, cluster_ips=(ip,))
        out.append(service)
    return out, allocator.problems
