"""Deterministic addresses for pods, nodes and Services that the manifests leave without.

Manifests of workloads carry no IPs; policies with ipBlock still need them. Pods
get addresses from POD_CIDR, Services from SERVICE_CIDR (EKS's default, where
kube-dns is 172.20.0.10), nodes from NODE_CIDR, in order of namespace and name.
Addresses given in the input (``status.podIP(s)``, ``spec.clusterIP(s)``, node
``InternalIP``) are kept, and never handed out twice. hostNetwork pods use their
node's address.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Iterable, Iterator

from netfence.model.cluster import Node, Pod, Service
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress

POD_CIDR = ipaddress.ip_network("10.244.0.0/14")
SERVICE_CIDR = ipaddress.ip_network("172.20.0.0/16")
NODE_CIDR = ipaddress.ip_network("10.0.0.0/16")
KUBE_DNS_IP = ipaddress.ip_address("172.20.0.10")


class _Allocator:
    def __init__(
        self, network: ipaddress.IPv4Network | ipaddress.IPv6Network, taken: set[IPAddress]
    ):
        self._hosts: Iterator[IPAddress] = network.hosts()
        self._taken = taken

    def next(self) -> IPAddress:
        for ip in self._hosts:
            if ip not in self._taken:
                self._taken.add(ip)
                return ip
        raise ValueError("address range exhausted")


def assign_addresses(
    pods: Iterable[Pod], services: Iterable[Service], nodes: Iterable[Node]
) -> tuple[list[Pod], list[Service], list[Node]]:
    pods = sorted(pods, key=lambda p: (p.namespace, p.name))
    taken: set[IPAddress] = {ip for p in pods for ip in p.ips}
    nodes_out = _assign_nodes(nodes, pods, taken)
    node_ips = {n.name: n.ips for n in nodes_out}
    pod_ips = _Allocator(POD_CIDR, taken)
    pods_out: list[Pod] = []
    for pod in pods:
        if not pod.ips:
            ips = node_ips.get(pod.node or "", ()) if pod.host_network else (pod_ips.next(),)
            pod = dataclasses.replace(pod, ips=ips)
        pods_out.append(pod)
    return pods_out, _assign_services(services), nodes_out


def _assign_nodes(nodes: Iterable[Node], pods: list[Pod], taken: set[IPAddress]) -> list[Node]:
    by_name = {n.name: n for n in nodes}
    for pod in pods:  # a hostNetwork pod needs a node to take an address from
        if pod.host_network and not pod.ips and (pod.node or "") not in by_name:
            name = pod.node or "node-0"
            by_name[name] = Node(name, Labels.of({"kubernetes.io/hostname": name}))
            if not pod.node:
                pods[pods.index(pod)] = dataclasses.replace(pod, node=name)
    taken.update(ip for n in by_name.values() for ip in n.ips)
    allocator = _Allocator(NODE_CIDR, taken)
    return [
        n if n.ips else dataclasses.replace(n, ips=(allocator.next(),))
        for n in sorted(by_name.values(), key=lambda n: n.name)
    ]


def _assign_services(services: Iterable[Service]) -> list[Service]:
    ordered = sorted(services, key=lambda s: (s.namespace, s.name))
    taken: set[IPAddress] = {ip for s in ordered for ip in s.cluster_ips}
    taken.add(KUBE_DNS_IP)  # reserved for kube-dns, as on EKS
    allocator = _Allocator(SERVICE_CIDR, taken)
    out: list[Service] = []
    for service in ordered:
        if not service.cluster_ips:
            is_dns = (service.namespace, service.name) == ("kube-system", "kube-dns")
            ip = KUBE_DNS_IP if is_dns else allocator.next()
            service = dataclasses.replace(service, cluster_ips=(ip,))
        out.append(service)
    return out
