"""The lab's cluster written back as manifests, for the node agents to read.

The agents must see exactly the cluster the lab built: the same pods, labels,
declared ports, addresses and node placement. Pure: model → dicts.
"""

from __future__ import annotations

from typing import Any

from netfence.model.cluster import Cluster, Namespace, Node, Pod, Service


def cluster_manifests(cluster: Cluster) -> list[dict[str, Any]]:
    return [
        *(_namespace(ns) for ns in cluster.namespaces),
        *(_node(n) for n in cluster.nodes),
        *(_pod(p) for p in cluster.pods),
        *(_service(s) for s in cluster.services),
    ]


def _namespace(ns: Namespace) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns.name, "labels": dict(ns.labels)},
    }


def _node(node: Node) -> dict[str, Any]:
    addresses = [{"type": "InternalIP", "address": str(ip)} for ip in node.ips]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": node.name, "labels": dict(node.labels)},
        "status": {"addresses": addresses},
    }


def _pod(pod: Pod) -> dict[str, Any]:
    ports = [
        {
            "containerPort": p.port,
            "protocol": p.protocol.value,
            **({"name": p.name} if p.name else {}),
        }
        for p in pod.ports
    ]
    spec: dict[str, Any] = {"containers": [{"name": "main", "ports": ports}]}
    if pod.node:
        spec["nodeName"] = pod.node
    if pod.host_network:
        spec["hostNetwork"] = True
    status: dict[str, Any] = {"podIPs": [{"ip": str(ip)} for ip in pod.ips]}
    if pod.ips:
        status["podIP"] = str(pod.ips[0])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": dict(pod.labels)},
        "spec": spec,
        "status": status,
    }


def _service(service: Service) -> dict[str, Any]:
    ports = [
        {
            "port": p.port,
            "targetPort": p.target_port,
            "protocol": p.protocol.value,
            **({"name": p.name} if p.name else {}),
        }
        for p in service.ports
    ]
    spec: dict[str, Any] = {"ports": ports, "clusterIPs": [str(ip) for ip in service.cluster_ips]}
    if service.selector is not None:
        spec["selector"] = dict(service.selector)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": service.name, "namespace": service.namespace},
        "spec": spec,
    }
