"""Deterministic synthetic clusters for benchmarks and scale tests.

    python bench/synth.py --pods 20000 --policies 2000 --seed 1 -o cluster.json [--format json|yaml]

In process: ``generate(pods, policies, seed) -> list[dict]``, the objects in the
order they are written. The same arguments always give the same objects, and the
same bytes on disk.

The cluster is what ``kubectl get -o json`` shows of a busy multi-team cluster:

- Namespaces (about one per 100 pods, at least four) labelled ``team`` and ``env``
  (some also ``istio-injection``), plus ``kube-system`` (CoreDNS, the ``kube-dns``
  Service), ``monitoring`` (Prometheus) and ``ingress-nginx``.
- Explicit Pods, not workloads: each product in a namespace has an ``api`` and
  maybe ``web``, ``db``, ``cache`` and ``worker`` components with 1-10 replicas
  (most have few). Deployment pods are owned by a ReplicaSet
  ``<deployment>-<pod-template-hash>`` and carry that label; ``db`` and some
  ``cache`` components are StatefulSets (pods ``<name>-<i>``). Some apps run two
  Deployments ``<app>-v1`` and ``<app>-v2`` (labels ``version``). Every pod has a
  unique ``status.podIP`` from its node's /24 in 10.244.0.0 (about 100 pods a node)
  and named container ports (TCP, some UDP, a few SCTP).
- A Service per component except workers (headless for StatefulSets).
- NetworkPolicies in the mix of ``POLICY_MIX``, exactly ``policies`` of them.

Objects of a workload share nothing: callers may mutate them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

Obj = dict[str, Any]
Port = tuple[str, int, str]  # (name, containerPort, protocol)

PODS_PER_NODE = 100
POD_BASE = (10 << 24) | (244 << 16)  # 10.244.0.0; node n owns 10.244.0.0 + n*256 /24
MAX_NODES = (256 - 244) * 256  # up to 10.255.255.0/24
MAX_PODS = MAX_NODES * PODS_PER_NODE
SERVICE_BASE = (172 << 24) | (20 << 16)  # 172.20.0.0/16 and up, as EKS (kube-dns .10)
KUBE_DNS_IP = "172.20.0.10"
NODE_CIDR = "10.0.0.0/16"
RFC1918 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' generated-name alphabet

TEAMS = (
    "payments", "checkout", "search", "identity", "platform", "data", "ml", "growth",
    "mobile", "storefront", "ads", "billing", "catalog", "fulfillment", "logistics",
    "messaging", "media", "risk", "support", "analytics", "security", "partners",
)  # fmt: skip
ENVS = ("prod", "staging", "dev", "qa")
ENV_WEIGHTS = (5, 3, 2, 1)
PRODUCTS = (
    "cart", "orders", "users", "accounts", "inventory", "shipping", "reviews", "auth",
    "notify", "ledger", "invoices", "recs", "profiles", "pricing", "coupons", "wishlist",
    "feeds", "uploads", "thumbs", "sessions", "tokens", "audit", "events", "reports",
    "quotes", "returns", "tickets", "chat", "geo", "rates", "fraud", "kyc", "loyalty",
    "banners", "bids", "tracking", "labels", "exports", "imports", "webhooks",
)  # fmt: skip
TIERS = ("web", "api", "db", "cache", "worker")
OPTIONAL_TIERS = (("web", 0.4), ("db", 0.5), ("cache", 0.35), ("worker", 0.45))
REPLICA_WEIGHTS = (30, 24, 16, 9, 6, 4, 3, 3, 2, 3)  # replicas 1..10: most apps are small
STATEFUL_REPLICA_WEIGHTS = (50, 15, 35)  # 1..3
# (implementation, main ports, exporter port) per stateful kind
DATABASES: tuple[tuple[str, Port, int, int], ...] = (
    ("postgres", ("postgres", 5432, "TCP"), 9187, 60),
    ("mysql", ("mysql", 3306, "TCP"), 9104, 25),
    ("mongodb", ("mongodb", 27017, "TCP"), 9216, 15),
)
CACHES: tuple[tuple[str, Port, int, int], ...] = (
    ("redis", ("redis", 6379, "TCP"), 9121, 75),
    ("memcached", ("memcache", 11211, "TCP"), 9150, 25),
)

# The policy mix: (kind, weight in percent). Namespace-wide kinds come first; a
# namespace gets at most one of each, the excess goes to the per-app kinds.
NAMESPACE_KINDS = (
    ("default-deny-all", 4),
    ("default-deny-ingress", 6),
    ("default-deny-egress", 3),
    ("allow-same-namespace", 5),
    ("allow-dns-egress", 6),
)
APP_KINDS = (
    ("from-namespace", 10),
    ("namespace-and-pod", 10),
    ("or-peers", 8),
    ("match-expressions", 8),
    ("ip-block-egress", 5),
    ("port-range", 4),
    ("app-to-db", 10),
    ("version", 3),
    ("monitoring", 8),
    ("udp-sctp", 3),
    ("egress-to-deps", 7),
)
POLICY_MIX = NAMESPACE_KINDS + APP_KINDS

KUBE_DNS_PEER: Obj = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
PROMETHEUS_PEER: Obj = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
}
INGRESS_NGINX_PEER: Obj = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}},
    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}},
}


@dataclass
class Container:
    name: str
    image: str
    ports: list[Port]


@dataclass
class Component:
    """One app: ``app=<name>``, a workload (or two, by version) and maybe a Service."""

    namespace: Namespace
    product: str
    name: str
    tier: str
    kind: str  # Deployment | StatefulSet
    replicas: int
    containers: list[Container]
    versions: tuple[str, ...] = ()  # () no label, ("v1",), or ("v1", "v2"): two Deployments

    @property
    def main_port(self) -> Port:
        return self.containers[0].ports[0]

    def has_port(self, name: str) -> bool:
        return any(p[0] == name for c in self.containers for p in c.ports)


@dataclass
class Namespace:
    name: str
    team: str
    env: str
    labels: dict[str, str]
    components: list[Component] = field(default_factory=list)


def generate(pods: int, policies: int, seed: int) -> list[Obj]:
    """Namespaces, then per namespace its Pods and Services, then the NetworkPolicies
    (sorted by namespace and name): exactly ``pods`` Pods and ``policies`` policies."""
    return _Synth(pods, policies, seed).run()


def policy_counts(policies: int, app_namespaces: int) -> dict[str, int]:
    """How many policies of each kind ``POLICY_MIX`` gives: largest remainder, every
    kind at least once when there are enough policies, and at most one namespace-wide
    policy of a kind per app namespace (the excess goes to the per-app kinds)."""
    total_weight = sum(w for _, w in POLICY_MIX)
    exact = [(kind, policies * w / total_weight) for kind, w in POLICY_MIX]
    counts = {kind: int(x) for kind, x in exact}
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] % 1), i))
    for i in by_remainder[: policies - sum(counts.values())]:
        counts[exact[i][0]] += 1
    if policies >= len(POLICY_MIX):
        for kind, _ in POLICY_MIX:
            if counts[kind] == 0:
                counts[max(counts, key=lambda k: counts[k])] -= 1
                counts[kind] = 1
    app_kinds = [kind for kind, _ in APP_KINDS]
    excess = 0
    for kind, _ in NAMESPACE_KINDS:
        excess += max(0, counts[kind] - app_namespaces)
        counts[kind] = min(counts[kind], app_namespaces)
    for i in range(excess):
        counts[app_kinds[i % len(app_kinds)]] += 1
    return counts


def _ip(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


class _Synth:
    def __init__(self, pods: int, policies: int, seed: int) -> None:
        if pods < 0 or policies < 0:
            raise ValueError("pods and policies must not be negative")
        if pods > MAX_PODS:
            raise ValueError(f"at most {MAX_PODS} pods (10.244.0.0-10.255.255.255)")
        self.rng = Random(seed)
        self.pods = pods
        self.policies = policies
        self.nodes = max(1, -(-pods // PODS_PER_NODE))
        self.pod_index = 0
        self.service_index = 11  # 172.20.0.1-.10 reserved (.10 is kube-dns)
        self.namespaces: list[Namespace] = []
        self.by_tier: dict[str, list[Component]] = {t: [] for t in TIERS}
        self.split: list[Component] = []  # two Deployments, v1 and v2
        self.versioned: list[Component] = []
        self.with_port: dict[str, list[Component]] = {"gossip": [], "diameter": [], "quic": []}

    # ---- helpers -----------------------------------------------------------------

    def _uid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def _suffix(self, length: int) -> str:
        return "".join(self.rng.choices(NAME_ALPHABET, k=length))

    def _pod_address(self) -> tuple[str, str]:
        """(node name, pod IP): pods are spread round-robin over the nodes, each
        node handing out its /24 from .2 on."""
        i = self.pod_index
        self.pod_index += 1
        node, slot = i % self.nodes, i // self.nodes
        return f"ip-10-0-{node >> 8}-{(node & 255) + 1}.ec2.internal", _ip(
            POD_BASE + node * 256 + 2 + slot
        )

    def _service_ip(self) -> str:
        ip = _ip(SERVICE_BASE + self.service_index)
        self.service_index += 1
        return ip

    def _pick(self, *tiers: str) -> Component | None:
        """A random component of one of ``tiers`` (a tier chosen first, among those with
        components), or None when the cluster has none."""
        available = [t for t in tiers if self.by_tier[t]]
        if not available:
            return None
        return self.rng.choice(self.by_tier[self.rng.choice(available)])

    def _app_namespace(self) -> Namespace:
        return self.rng.choice(self.app_namespaces)

    # ---- the cluster -------------------------------------------------------------

    def run(self) -> list[Obj]:
        n_app = max(1, round(self.pods / 100) - 3)
        platform = [
            Namespace("kube-system", "", "", {"kubernetes.io/metadata.name": "kube-system"}),
            self._namespace_named("monitoring", "platform", "prod"),
            self._namespace_named("ingress-nginx", "platform", "prod"),
        ]
        self.app_namespaces = self._app_namespaces(n_app)
        self.namespaces = sorted(platform + self.app_namespaces, key=lambda ns: ns.name)
        out: list[Obj] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns.name, "labels": ns.labels}}
            for ns in self.namespaces
        ]
        budget = self.pods
        budget -= self._platform_components(platform, budget)
        for ns, quota in zip(self.app_namespaces, self._quotas(budget, n_app), strict=True):
            self._plan_namespace(ns, quota)
        for ns in self.namespaces:
            for comp in ns.components:
                out.extend(self._workload_pods(comp))
            for comp in ns.components:
                service = self._service(comp)
                if service is not None:
                    out.append(service)
        assert self.pod_index == self.pods, (self.pod_index, self.pods)
        out.extend(self._policies())
        return out

    def _namespace_named(self, name: str, team: str, env: str) -> Namespace:
        labels = {"kubernetes.io/metadata.name": name, "team": team, "env": env}
        return Namespace(name, team, env, labels)

    def _app_namespaces(self, count: int) -> list[Namespace]:
        taken: dict[str, int] = {}
        out: list[Namespace] = []
        for _ in range(count):
            team = self.rng.choice(TEAMS)
            env = self.rng.choices(ENVS, ENV_WEIGHTS)[0]
            base = f"{team}-{env}"
            taken[base] = taken.get(base, 0) + 1
            name = base if taken[base] == 1 else f"{base}-{taken[base]}"
            ns = self._namespace_named(name, team, env)
            if self.rng.random() < 0.4:
                ns.labels["istio-injection"] = "enabled"
            out.append(ns)
        return out

    def _quotas(self, budget: int, count: int) -> list[int]:
        weights = [self.rng.uniform(0.3, 1.7) for _ in range(count)]
        total = sum(weights)
        exact = [budget * w / total for w in weights]
        quotas = [int(x) for x in exact]
        order = sorted(range(count), key=lambda i: (-(exact[i] % 1), i))
        for i in order[: budget - sum(quotas)]:
            quotas[i] += 1
        return quotas

    def _platform_components(self, platform: list[Namespace], budget: int) -> int:
        kube_system, monitoring, ingress = platform
        specs = (
            (kube_system, "coredns", "Deployment", "dns",
             [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")],
             "registry.k8s.io/coredns/coredns:v1.11.1"),
            (monitoring, "prometheus-k8s", "StatefulSet", "monitoring",
             [("web", 9090, "TCP")], "quay.io/prometheus/prometheus:v2.51.0"),
            (ingress, "ingress-nginx-controller", "Deployment", "ingress",
             [("http", 80, "TCP"), ("https", 443, "TCP"), ("metrics", 10254, "TCP")],
             "registry.k8s.io/ingress-nginx/controller:v1.10.0"),
        )  # fmt: skip
        used = 0
        for ns, name, kind, tier, ports, image in specs:
            replicas = min(2, budget - used)
            if replicas <= 0:
                break
            container = Container(name.split("-")[0], image, ports)
            ns.components.append(Component(ns, name, name, tier, kind, replicas, [container]))
            used += replicas
        return used

    def _plan_namespace(self, ns: Namespace, quota: int) -> None:
        products: set[str] = set()
        while quota > 0:
            product = self.rng.choice(PRODUCTS)
            k = 2
            while product in products:
                product, k = f"{product.rsplit('-', 1)[0]}-{k}", k + 1
            products.add(product)
            tiers = ["api"] + [t for t, p in OPTIONAL_TIERS if self.rng.random() < p]
            for tier in tiers:
                if quota == 0:
                    break
                comp = self._component(ns, product, tier, quota)
                quota -= comp.replicas
                ns.components.append(comp)
                self.by_tier[tier].append(comp)
                for port in self.with_port:
                    if comp.has_port(port):
                        self.with_port[port].append(comp)

    def _component(self, ns: Namespace, product: str, tier: str, quota: int) -> Component:
        rng = self.rng
        image = f"registry.example.com/{ns.team}/{product}-{tier}:1.{rng.randrange(40)}.0"
        stateful = tier == "db" or (tier == "cache" and rng.random() < 0.5)
        if stateful:
            replicas = rng.choices(range(1, 4), STATEFUL_REPLICA_WEIGHTS)[0]
        else:
            replicas = rng.choices(range(1, 11), REPLICA_WEIGHTS)[0]
        replicas = min(replicas, quota)
        containers: list[Container]
        if tier in ("db", "cache"):
            choices = DATABASES if tier == "db" else CACHES
            impl, port, exporter, _ = rng.choices(choices, [c[3] for c in choices])[0]
            name = f"{product}-{impl}"
            containers = [
                Container(impl, f"docker.io/library/{impl}:latest", [port]),
                Container("exporter", f"quay.io/prometheus/{impl}-exporter:latest",
                          [("metrics", exporter, "TCP")]),
            ]  # fmt: skip
        else:
            name = f"{product}-{rng.choice(_SUFFIXES[tier])}"
            containers = [Container(tier, image, self._app_ports(tier))]
        comp = Component(
            ns, product, name, tier, "StatefulSet" if stateful else "Deployment", replicas,
            containers,
        )  # fmt: skip
        if not stateful:
            if replicas >= 2 and rng.random() < 0.2:
                comp.versions = ("v1", "v2")
                self.split.append(comp)
                self.versioned.append(comp)
            elif rng.random() < 0.5:
                comp.versions = ("v1",)
                self.versioned.append(comp)
        return comp

    def _app_ports(self, tier: str) -> list[Port]:
        rng = self.rng
        if tier == "web":
            return [("http", 8080, "TCP"), ("metrics", 9100, "TCP")]
        if tier == "api":
            ports: list[Port] = [("http", 8080, "TCP"), ("grpc", 9090, "TCP")]
            if rng.random() < 0.15:
                ports.append(("admin", 8081, "TCP"))
            if rng.random() < 0.08:
                ports.append(("quic", 8443, "UDP"))
            if rng.random() < 0.05:
                ports.append(("diameter", 3868, "SCTP"))
            return [*ports, ("metrics", 9100, "TCP")]
        ports = [("metrics", 9100, "TCP")]  # worker
        if rng.random() < 0.35:
            ports += [("gossip", 7946, "TCP"), ("gossip-udp", 7946, "UDP")]
        if rng.random() < 0.1:
            ports.append(("statsd", 8125, "UDP"))
        return ports

    def _workload_pods(self, comp: Component) -> Iterable[Obj]:
        common = {"app": comp.name, "tier": comp.tier, "app.kubernetes.io/part-of": comp.product}
        if comp.namespace.name == "kube-system":
            common = {"k8s-app": "kube-dns"}
        elif not comp.namespace.team or comp.tier in ("monitoring", "ingress"):
            common = {"app.kubernetes.io/name": comp.name.split("-k8s")[0].split("-controller")[0]}
        if comp.kind == "StatefulSet":
            revision = f"{comp.name}-{self._suffix(10)}"
            owner = self._owner("apps/v1", "StatefulSet", comp.name)
            for i in range(comp.replicas):
                name = f"{comp.name}-{i}"
                labels = {
                    **common,
                    "controller-revision-hash": revision,
                    "statefulset.kubernetes.io/pod-name": name,
                }
                yield self._pod(comp, name, labels, owner)
            return
        groups = [(comp.name, comp.versions[:1], comp.replicas)]
        if len(comp.versions) == 2:
            canary = max(1, comp.replicas // 3)
            groups = [
                (f"{comp.name}-v1", ("v1",), comp.replicas - canary),
                (f"{comp.name}-v2", ("v2",), canary),
            ]
        for deployment, version, replicas in groups:
            pod_hash = self._suffix(10)
            owner = self._owner("apps/v1", "ReplicaSet", f"{deployment}-{pod_hash}")
            labels = {**common, **{"version": v for v in version}, "pod-template-hash": pod_hash}
            names: set[str] = set()
            while len(names) < replicas:
                name = f"{deployment}-{pod_hash}-{self._suffix(5)}"
                if name not in names:
                    names.add(name)
                    yield self._pod(comp, name, labels, owner)

    def _owner(self, api_version: str, kind: str, name: str) -> Obj:
        return {
            "apiVersion": api_version,
            "kind": kind,
            "name": name,
            "uid": self._uid(),
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def _pod(self, comp: Component, name: str, labels: dict[str, str], owner: Obj) -> Obj:
        node, ip = self._pod_address()
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": comp.namespace.name,
                "uid": self._uid(),
                "labels": dict(labels),
                "ownerReferences": [dict(owner)],
            },
            "spec": {
                "nodeName": node,
                "containers": [
                    {
                        "name": c.name,
                        "image": c.image,
                        "ports": [
                            {"name": n, "containerPort": p, "protocol": proto}
                            for n, p, proto in c.ports
                        ],
                    }
                    for c in comp.containers
                ],
            },
            "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]},
        }

    def _service(self, comp: Component) -> Obj | None:
        ns = comp.namespace.name
        if ns == "kube-system":
            return _service_obj(
                ns, "kube-dns", {"k8s-app": "kube-dns"}, KUBE_DNS_IP,
                [("dns", 53, "UDP", 53), ("dns-tcp", 53, "TCP", 53), ("metrics", 9153, "TCP", 9153)],
            )  # fmt: skip
        if comp.tier == "worker":
            return None
        selector = {"app": comp.name}
        if not comp.namespace.team or comp.tier in ("monitoring", "ingress"):
            selector = {"app.kubernetes.io/name": comp.name.split("-k8s")[0].split("-controller")[0]}
        if comp.tier in ("web", "api"):
            ports: list[tuple[str, int, str, int | str]] = [("http", 80, "TCP", "http")]
            if comp.tier == "api":
                ports.append(("grpc", 9090, "TCP", "grpc"))
                for name, number, protocol in comp.containers[0].ports:
                    if protocol != "TCP":
                        ports.append((name, 443 if name == "quic" else number, protocol, name))
        else:
            ports = [(n, p, proto, n) for n, p, proto in comp.containers[0].ports]
        headless = comp.kind == "StatefulSet" and comp.tier != "monitoring"
        return _service_obj(ns, comp.name, selector, None if headless else self._service_ip(), ports)

    # ---- policies ----------------------------------------------------------------

    def _policies(self) -> list[Obj]:
        counts = policy_counts(self.policies, len(self.app_namespaces))
        order = list(self.app_namespaces)
        self.rng.shuffle(order)
        n = len(order)
        names: dict[str, set[str]] = {}
        out: list[Obj] = []

        def add(ns: str, name: str, spec: Obj) -> None:
            taken = names.setdefault(ns, set())
            unique, k = name, 2
            while unique in taken:
                unique, k = f"{name}-{k}", k + 1
            taken.add(unique)
            out.append(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": unique, "namespace": ns},
                    "spec": spec,
                }
            )

        # Namespace-wide policies: egress-denying namespaces first in the DNS slice,
        # so most (not all) of them allow DNS.
        deny_all, deny_egress = counts["default-deny-all"], counts["default-deny-egress"]
        for j in range(deny_all):
            add(order[j].name, "default-deny-all", _deny(["Ingress", "Egress"]))
        for j in range(deny_egress):
            add(order[(deny_all + j) % n].name, "default-deny-egress", _deny(["Egress"]))
        for j in range(counts["default-deny-ingress"]):
            ns = order[(deny_all + deny_egress + j) % n].name
            add(ns, "default-deny-ingress", _deny_ingress(j))
        for j in range(counts["allow-dns-egress"]):
            add(order[j].name, "allow-dns-egress", _dns_egress(j))
        for j in range(counts["allow-same-namespace"]):
            add(order[n - 1 - j].name, "allow-same-namespace", _same_namespace())
        builders = {
            "from-namespace": self._from_namespace,
            "namespace-and-pod": self._namespace_and_pod,
            "or-peers": self._or_peers,
            "match-expressions": self._match_expressions,
            "ip-block-egress": self._ip_block_egress,
            "port-range": self._port_range,
            "app-to-db": self._app_to_db,
            "version": self._version,
            "monitoring": self._monitoring,
            "udp-sctp": self._udp_sctp,
            "egress-to-deps": self._egress_to_deps,
        }
        for kind, _ in APP_KINDS:
            for j in range(counts[kind]):
                add(*builders[kind](j))
        out.sort(key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))
        return out

    def _target(self, *tiers: str) -> tuple[str, str, Obj, Component | None]:
        """(namespace, name stem, podSelector, component) of a random component of
        ``tiers``; without one, a tier selector in a random app namespace."""
        comp = self._pick(*tiers)
        if comp is None:
            return self._app_namespace().name, tiers[0], {"matchLabels": {"tier": tiers[0]}}, None
        return comp.namespace.name, comp.name, _match(app=comp.name), comp

    def _team(self) -> str:
        return self._app_namespace().team

    def _env(self) -> str:
        return self._app_namespace().env

