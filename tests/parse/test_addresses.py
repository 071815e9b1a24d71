"""assign_addresses (which gathers the addresses already used only when it first
hands one out) against the obvious allocator: every used address known up front."""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.model.cluster import Node, Pod, Service
from netfence.model.labels import Labels
from netfence.parse import addresses
from netfence.parse.addresses import assign_addresses

# Given addresses at the very start of each range, so that they collide with the
# first ones handed out whatever the order.
_POD_IPS = st.sampled_from(["10.244.0.1", "10.244.0.2", "10.244.0.3", "10.0.0.1", "10.0.0.2"])
_NODES = st.sampled_from(["n1", "n2", None])


def _pods() -> st.SearchStrategy[list[Pod]]:
    pod = st.builds(
        lambda ns, name, ip, host, node: Pod(
            ns,
            name,
            Labels.of({}),
            () if ip is None else (ipaddress.ip_address(ip),),
            host_network=host,
            node=node,
        ),
        st.sampled_from(["a", "b"]),
        st.sampled_from(["p", "q", "r"]),
        st.none() | _POD_IPS,
        st.booleans(),
        _NODES,
    )
    return st.lists(pod, max_size=6, unique_by=lambda p: p.key)


_SERVICES = st.lists(
    st.builds(
        lambda ns, name, ip: Service(
            ns, name, None, (), () if ip is None else (ipaddress.ip_address(ip),)
        ),
        st.sampled_from(["a", "kube-system"]),
        st.sampled_from(["s", "kube-dns", "t"]),
        st.none() | st.sampled_from(["172.20.0.1", "172.20.0.2", "172.20.0.10"]),
    ),
    max_size=4,
    unique_by=lambda s: (s.namespace, s.name),
)
_NODE_LIST = st.lists(
    st.builds(
        lambda name, ip: Node(
            name, Labels.of({}), () if ip is None else (ipaddress.ip_address(ip),)
        ),
        st.sampled_from(["n1", "n2"]),
        st.none() | st.sampled_from(["10.0.0.1", "10.0.0.3"]),
    ),
    max_size=2,
    unique_by=lambda n: n.name,
)


def _obvious(pods: list[Pod], services: list[Service], nodes: list[Node]) -> Any:
    """The same rules, every used address gathered first (the definition)."""
    pods = sorted(pods, key=lambda p: (p.namespace, p.name))
    taken = {ip for p in pods for ip in p.ips}
    by_name = {n.name: n for n in nodes}
    for i, pod in enumerate(pods):
        if pod.host_network and not pod.ips and (pod.node or "") not in by_name:
            name = pod.node or "node-0"
            by_name[name] = Node(name, Labels.of({"kubernetes.io/hostname": name}))
            if not pod.node:
                pods[i] = dataclasses.replace(pod, node=name)
    taken |= {ip for n in by_name.values() for ip in n.ips}

    def free(network: Any, used: set[Any]) -> Any:
        ip = next(ip for ip in network.hosts() if ip not in used)
        used.add(ip)
        return ip

    nodes_out = [
        n if n.ips else dataclasses.replace(n, ips=(free(addresses.NODE_CIDR, taken),))
        for n in sorted(by_name.values(), key=lambda n: n.name)
    ]
    node_ips = {n.name: n.ips for n in nodes_out}
    pods_out = [
        p
        if p.ips
        else dataclasses.replace(
            p,
            ips=node_ips.get(p.node or "", ())
            if p.host_network
            else (free(addresses.POD_CIDR, taken),),
        )
        for p in pods
    ]
    ordered = sorted(services, key=lambda s: (s.namespace, s.name))
    used = {ip for s in ordered for ip in s.cluster_ips} | {addresses.KUBE_DNS_IP}
    services_out = [
        s
        if s.cluster_ips
        else dataclasses.replace(
            s,
            cluster_ips=(
                addresses.KUBE_DNS_IP
                if (s.namespace, s.name) == ("kube-system", "kube-dns")
                else free(addresses.SERVICE_CIDR, used),
            ),
        )
        for s in ordered
    ]
    return pods_out, services_out, nodes_out, []


@settings(max_examples=300, deadline=None)
@given(_pods(), _SERVICES, _NODE_LIST)
def test_addresses_are_those_of_the_obvious_allocator(
    pods: list[Pod], services: list[Service], nodes: list[Node]
) -> None:
    assert assign_addresses(pods, services, nodes) == _obvious(pods, services, nodes)
