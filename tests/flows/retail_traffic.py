"""The bundled EKS retail scenario's real traffic, written in every flow format.

ui → catalog, carts, checkout, orders; checkout → orders; each service to its
database; every service to DNS (kube-dns's two pods, UDP, and TCP once). The
addresses are the scenario's own pod addresses (10.244.0.0/16, from its
manifests); nothing comes from a real log. Each format gets the same connections,
with the replies its source would record too: the fixtures under
tests/fixtures/flows/retail.* are this module's output (test_fixtures checks it;
NETFENCE_UPDATE_GOLDEN=1 rewrites them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

POD = {
    "ui": ("ui", "ui-0", "10.244.0.11", "Deployment"),
    "catalog": ("catalog", "catalog-0", "10.244.0.3", "Deployment"),
    "catalog-mysql": ("catalog", "catalog-mysql-0", "10.244.0.4", "StatefulSet"),
    "carts": ("carts", "carts-0", "10.244.0.1", "Deployment"),
    "carts-dynamodb": ("carts", "carts-dynamodb-0", "10.244.0.2", "Deployment"),
    "checkout": ("checkout", "checkout-0", "10.244.0.5", "Deployment"),
    "checkout-redis": ("checkout", "checkout-redis-0", "10.244.0.6", "Deployment"),
    "orders": ("orders", "orders-0", "10.244.0.9", "Deployment"),
    "orders-postgresql": ("orders", "orders-postgresql-0", "10.244.0.10", "StatefulSet"),
    "coredns-0": ("kube-system", "coredns-0", "10.244.0.7", "Deployment"),
    "coredns-1": ("kube-system", "coredns-1", "10.244.0.8", "Deployment"),
}
# An Admin ClusterNetworkPolicy the retail traffic runs into (checkout -> orders):
# a tier decision for the record and generate tests
ADMIN_DENY = """
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: no-orders-from-checkout}
spec:
  tier: Admin
  priority: 5
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: orders}}}
  ingress:
  - name: deny-checkout
    action: Deny
    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: checkout}}}]
"""
WORKLOAD = {k: k if not k.startswith("coredns") else "coredns" for k in POD}


@dataclass(frozen=True)
class Conn:
    src: str
    dst: str
    port: int
    protocol: str
    src_port: int


def connections() -> list[Conn]:
    conns: list[Conn] = []
    ephemeral = iter(range(40000, 41000))

    def add(src: str, dst: str, port: int, protocol: str = "TCP") -> None:
        conns.append(Conn(src, dst, port, protocol, next(ephemeral)))

    services = ["ui", "catalog", "carts", "checkout", "orders"]
    for i, s in enumerate(services):
        add(s, f"coredns-{i % 2}", 53, "UDP")
    add("ui", "coredns-1", 53, "TCP")  # a truncated answer retried over TCP
    for backend in ["catalog", "carts", "checkout", "orders"]:
        add("ui", backend, 8080)
    add("checkout", "orders", 8080)
    add("catalog", "catalog-mysql", 3306)
    add("carts", "carts-dynamodb", 8000)
    add("checkout", "checkout-redis", 6379)
    add("orders", "orders-postgresql", 5432)
    add("ui", "catalog", 8080)  # the same pair again: grouped, one rule
    return conns


def _time(i: int) -> str:
    return f"2026-11-26T10:00:{i:02d}Z"


def netfence_lines() -> list[str]:
    """netfence's records, as the agent will write them: the engine's decision of
    each connection in the scenario's first step (no policy), and one reply."""
    lines = []
    for i, c in enumerate(connections()):
        lines.append(json.dumps(_netfence_record(c, i, reply=False)))
    first = connections()[6]  # ui → catalog: the reply of an allowed connection
    lines.append(json.dumps(_netfence_record(first, 59, reply=True)))
    return lines


def _netfence_record(c: Conn, i: int, reply: bool) -> dict[str, object]:
    src, dst = POD[c.src], POD[c.dst]
    a = {"ip": src[2], "port": c.src_port, "pod": f"{src[0]}/{src[1]}",
         "workload": f"{src[3].lower()}/{WORKLOAD[c.src]}"}  # fmt: skip
    b = {"ip": dst[2], "port": c.port, "pod": f"{dst[0]}/{dst[1]}",
         "workload": f"{dst[3].lower()}/{WORKLOAD[c.dst]}"}  # fmt: skip
    if reply:
        a, b = b, a
    direction = {"tier": "Default", "outcome": "not-isolated", "policies": [], "rule": None}
    return {
        "kind": "netfence.flow",
        "version": 1,
        "time": _time(i),
        "src": a,
        "dst": b,
        "protocol": c.protocol,
        "reply": reply,
        "verdict": "allowed",
        "mode": "enforce",
        "decided_by": {"direction": "ingress", **direction},
        "egress": {"direction": "egress", **direction},
        "ingress": {"direction": "ingress", **direction},
    }


def hubble_lines() -> list[str]:
    """hubble observe -o json: each connection seen leaving the source (EGRESS)
    and its first reply (is_reply true)."""
    lines = []
    for i, c in enumerate(connections()):
        lines.append(json.dumps(_hubble(c, i, reply=False)))
        lines.append(json.dumps(_hubble(c, i, reply=True)))
    return lines


def _hubble_endpoint(key: str) -> dict[str, object]:
    ns, pod, _ip, kind = POD[key]
    return {
        "ID": 100 + list(POD).index(key),
        "identity": 20000 + list(POD).index(key),
        "namespace": ns,
        "labels": [f"k8s:io.kubernetes.pod.namespace={ns}"],
        "pod_name": pod,
        "workloads": [{"name": WORKLOAD[key], "kind": kind}],
    }


def _hubble(c: Conn, i: int, reply: bool) -> dict[str, object]:
    src, dst = (c.dst, c.src) if reply else (c.src, c.dst)
    sport, dport = (c.port, c.src_port) if reply else (c.src_port, c.port)
    layer = {"source_port": sport, "destination_port": dport}
    if c.protocol == "TCP":
        layer["flags"] = {"SYN": True, "ACK": True} if reply else {"SYN": True}  # type: ignore[assignment]
    flow = {
        "time": _time(i),
        "verdict": "FORWARDED",
        "IP": {"source": POD[src][2], "destination": POD[dst][2], "ipVersion": "IPv4"},
        "l4": {c.protocol: layer},
        "source": _hubble_endpoint(src),
        "destination": _hubble_endpoint(dst),
        "Type": "L3_L4",
        "node_name": "node-a",
        "event_type": {"type": 4},
        "traffic_direction": "INGRESS" if reply else "EGRESS",
        "is_reply": reply,
        "Summary": f"{c.protocol}",
    }
    return {"flow": flow, "node_name": "node-a", "time": _time(i)}


def vpc_lines() -> list[str]:
    """VPC Flow Logs, default format (v2): each connection's request and response
    records (a flow log records both directions), then a NODATA record."""
    lines = []
    for i, c in enumerate(connections()):
        number = 6 if c.protocol == "TCP" else 17
        start = 1795600800 + i
        src, dst = POD[c.src][2], POD[c.dst][2]
        lines.append(f"2 123456789012 eni-0a1b2c3d4e5f60001 {src} {dst} {c.src_port} {c.port} "
                     f"{number} 5 620 {start} {start + 60} ACCEPT OK")  # fmt: skip
        lines.append(f"2 123456789012 eni-0a1b2c3d4e5f60002 {dst} {src} {c.port} {c.src_port} "
                     f"{number} 4 980 {start} {start + 60} ACCEPT OK")  # fmt: skip
    lines.append(
        "2 123456789012 eni-0a1b2c3d4e5f60003 - - - - - - - 1795600800 1795600860 - NODATA"
    )
    return lines


def eks_lines() -> list[str]:
    """The EKS agent's log (zap JSON lines), ACCEPT at debug level, with a
    line that is not a flow record."""
    lines = [json.dumps({"level": "info", "ts": "2026-11-26T10:00:00.000Z",
                         "msg": "Starting network policy agent"})]  # fmt: skip
    for i, c in enumerate(connections()):
        src, dst = POD[c.src][2], POD[c.dst][2]
        msg = (f"Flow Info: Src IP: {src} Src Port: {c.src_port} Dest IP: {dst} Dest Port: "
               f"{c.port} Proto {c.protocol} Verdict ACCEPT Direction egress, Tier DEFAULT")  # fmt: skip
        lines.append(json.dumps({"level": "debug", "ts": _time(i) , "caller": "events/events.go:273",
                                 "msg": msg}))  # fmt: skip
    return lines


FIXTURES = {
    "retail.netfence.jsonl": netfence_lines,
    "retail.hubble.json": hubble_lines,
    "retail.vpc.log": vpc_lines,
    "retail.eks.log": eks_lines,
}
