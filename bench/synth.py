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
  unique ``status.podIP`` from its node's /24 in 10.244.0.0 (about 100 pods a node;
  past 307,200 pods, 3,072 nodes of up to 250)
  and named container ports (TCP, some UDP, a few SCTP).
- A Service per component except workers (headless for StatefulSets), at most
  65,000 (a /16 Service CIDR; past 200k pods later components get none).
- NetworkPolicies in the mix of ``POLICY_MIX``, exactly ``policies`` of them.
- With ``cluster_policies`` (``--cluster-policies N``), N cluster-wide guardrails
  after them (``cluster_policy_objects``): an AdminNetworkPolicy that passes
  kube-system to its own NetworkPolicies, an Admin Accept of DNS to kube-dns, an
  Admin Deny of the cloud metadata address (``networks``), an Admin Deny from dev
  to prod namespaces, per-team Admin ingress guardrails (Accept from the team and
  from monitoring, Deny the rest), and Baseline default-deny ingress per namespace
  (Accept from the namespace itself) in ClusterNetworkPolicy v1alpha2. Drawn from
  their own random stream: the rest of the cluster is the same as without them.

Objects of a workload share nothing: callers may mutate them.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any

Obj = dict[str, Any]
Port = tuple[str, int, str]  # (name, containerPort, protocol)

PODS_PER_NODE = 100
POD_BASE = (10 << 24) | (244 << 16)  # 10.244.0.0; node n owns 10.244.0.0 + n*256 /24
MAX_NODES = (256 - 244) * 256  # up to 10.255.255.0/24
MAX_PODS_PER_NODE = 250  # past MAX_NODES * PODS_PER_NODE pods, nodes fill their /24 further
MAX_PODS = MAX_NODES * MAX_PODS_PER_NODE
SERVICE_BASE = (172 << 24) | (20 << 16)  # 172.20.0.0/16, as EKS (kube-dns .10)
MAX_SERVICES = 65_000  # a /16 Service CIDR holds 65,534: past this, components get no Service
KUBE_DNS_IP = "172.20.0.10"
NODE_CIDR = "10.0.0.0/16"
NODE_BASE = (10 << 24) | 10  # node n is 10.0.0.10 + n: its name is ip-10-0-x-y.ec2.internal
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
# (implementation, main port, exporter's metrics port, weight)
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
    platform_labels: dict[str, str] | None = None  # instead of app/tier/part-of

    @property
    def labels(self) -> dict[str, str]:
        """The labels all its pods share, without the controller's hash labels."""
        if self.platform_labels is not None:
            return dict(self.platform_labels)
        return {"app": self.name, "tier": self.tier, "app.kubernetes.io/part-of": self.product}

    @property
    def selector(self) -> dict[str, str]:
        """Its Service's selector."""
        return self.labels if self.platform_labels is not None else {"app": self.name}

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


def generate(pods: int, policies: int, seed: int, cluster_policies: int = 0) -> list[Obj]:
    """Namespaces, then per namespace its Pods and Services, then the NetworkPolicies
    (sorted by namespace and name): exactly ``pods`` Pods and ``policies`` policies;
    then ``cluster_policies`` cluster-wide policies."""
    enabled = gc.isenabled()
    gc.disable()  # millions of new, acyclic dicts: collections would halve the speed
    try:
        out = _Synth(pods, policies, seed).run()
    finally:
        if enabled:
            gc.enable()
    if cluster_policies:
        namespaces = [o for o in out if o["kind"] == "Namespace"]
        out.extend(cluster_policy_objects(namespaces, cluster_policies, seed))
    return out


CNP_VERSION = "policy.networking.k8s.io/v1alpha2"
METADATA_NETWORK = "169.254.169.254/32"


def cluster_policy_objects(namespaces: list[Obj], count: int, seed: int) -> list[Obj]:
    """``count`` cluster-wide guardrails over ``namespaces`` (see the module's text):
    the fixed ones first, then per-team Admin guardrails and per-namespace Baseline
    default-denies in turn."""
    rng = Random(seed * 7919 + 13)
    names = [n["metadata"]["name"] for n in namespaces]
    teams = sorted({n["metadata"]["labels"].get("team", "") for n in namespaces} - {""})
    fixed = [_pass_kube_system(), _allow_dns(), _deny_metadata(), _dev_not_to_prod()]
    out = fixed[:count]
    apps = [n for n in names if n not in ("kube-system", "monitoring", "ingress-nginx")]
    rng.shuffle(apps)
    rng.shuffle(teams)
    for j in range(count - len(out)):
        if j % 2 == 0 and teams:
            out.append(_team_guardrail(teams[(j // 2) % len(teams)], 100 + j // 2, j))
        elif apps:
            out.append(_baseline_default_deny(apps[(j // 2) % len(apps)], j))
    return out


def _cnp(name: str, tier: str, priority: int, subject: Obj, **rules: list[Obj]) -> Obj:
    spec = {"tier": tier, "priority": priority, "subject": subject, **rules}
    return {"apiVersion": CNP_VERSION, "kind": "ClusterNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}  # fmt: skip


def _namespace_named(name: str) -> Obj:
    return {"matchLabels": {"kubernetes.io/metadata.name": name}}


def _pass_kube_system() -> Obj:
    """v1alpha1: kube-system's traffic is left to its own NetworkPolicies."""
    return {
        "apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": "AdminNetworkPolicy",
        "metadata": {"name": "pass-kube-system"},
        "spec": {"priority": 0, "subject": {"namespaces": _namespace_named("kube-system")},
                 "ingress": [{"name": "pass-in", "action": "Pass", "from": [{"namespaces": {}}]}],
                 "egress": [{"name": "pass-out", "action": "Pass", "to": [{"namespaces": {}}]}]},
    }  # fmt: skip


def _allow_dns() -> Obj:
    dns = {"namespaceSelector": _namespace_named("kube-system"),
           "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}  # fmt: skip
    ports = [{"udp": {"destinationPort": {"number": 53}}},
             {"tcp": {"destinationPort": {"number": 53}}}]  # fmt: skip
    rule = {"name": "dns", "action": "Accept", "to": [{"pods": dns}], "protocols": ports}
    return _cnp("allow-dns", "Admin", 1, {"namespaces": {}}, egress=[rule])


def _deny_metadata() -> Obj:
    rule = {"name": "no-metadata", "action": "Deny", "to": [{"networks": [METADATA_NETWORK]}]}
    return _cnp("deny-cloud-metadata", "Admin", 2, {"namespaces": {}}, egress=[rule])


def _dev_not_to_prod() -> Obj:
    prod = {"namespaces": {"matchLabels": {"env": "prod"}}}
    rule = {"name": "no-prod", "action": "Deny", "to": [prod]}
    subject = {"namespaces": {"matchLabels": {"env": "dev"}}}
    return _cnp("dev-not-to-prod", "Admin", 5, subject, egress=[rule])


def _team_guardrail(team: str, priority: int, j: int) -> Obj:
    """A team's namespaces accept their team and monitoring (on the metrics ports),
    and deny every other namespace but ingress-nginx, which goes on to the
    NetworkPolicies (Pass)."""
    own = {"namespaces": {"matchLabels": {"team": team}}}
    metrics = [{"tcp": {"destinationPort": {"number": 9090}}},
               {"tcp": {"destinationPort": {"range": {"start": 9100, "end": 9300}}}}]  # fmt: skip
    ingress = [
        {"name": "same-team", "action": "Accept", "from": [own]},
        {"name": "monitoring", "action": "Accept",
         "from": [{"namespaces": _namespace_named("monitoring")}], "protocols": metrics},
        {"name": "ingress", "action": "Pass",
         "from": [{"namespaces": _namespace_named("ingress-nginx")}]},
        {"name": "others", "action": "Deny", "from": [{"namespaces": {}}]},
    ]  # fmt: skip
    return _cnp(f"team-{team}-{j}", "Admin", priority % 1001, own, ingress=ingress)


def _baseline_default_deny(namespace: str, j: int) -> Obj:
    """Baseline for one namespace: ingress from itself accepted, from elsewhere denied
    (NetworkPolicies that select its pods decide before this)."""
    own = {"namespaces": _namespace_named(namespace)}
    ingress = [
        {"name": "same-namespace", "action": "Accept", "from": [own]},
        {"name": "default-deny", "action": "Deny", "from": [{"namespaces": {}}]},
    ]
    return _cnp(f"baseline-{namespace}-{j}", "Baseline", 500, own, ingress=ingress)


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
        self.nodes = min(MAX_NODES, max(1, -(-pods // PODS_PER_NODE)))
        self.pod_index = 0
        self.service_index = 11  # 172.20.0.1-.10 reserved (.10 is kube-dns)
        self.services = 0  # Services made (kube-dns aside)
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
        node_ip = _ip(NODE_BASE + node).replace(".", "-")
        return f"ip-{node_ip}.ec2.internal", _ip(POD_BASE + node * 256 + 2 + slot)

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
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns.name, "labels": dict(ns.labels)},
            }
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
            (kube_system, "coredns", "Deployment", {"k8s-app": "kube-dns"},
             [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")],
             "registry.k8s.io/coredns/coredns:v1.11.1"),
            (monitoring, "prometheus-k8s", "StatefulSet",
             {"app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "k8s"},
             [("web", 9090, "TCP")], "quay.io/prometheus/prometheus:v2.51.0"),
            (ingress, "ingress-nginx-controller", "Deployment",
             {"app.kubernetes.io/name": "ingress-nginx",
              "app.kubernetes.io/component": "controller"},
             [("http", 80, "TCP"), ("https", 443, "TCP"), ("metrics", 10254, "TCP")],
             "registry.k8s.io/ingress-nginx/controller:v1.10.0"),
        )  # fmt: skip
        used = 0
        for ns, name, kind, labels, ports, image in specs:
            replicas = min(2, budget - used)
            if replicas <= 0:
                break
            container = Container(name.split("-")[0], image, ports)
            comp = Component(ns, name, name, "platform", kind, replicas, [container])
            comp.platform_labels = labels
            ns.components.append(comp)
            used += replicas
        return used

    def _plan_namespace(self, ns: Namespace, quota: int) -> None:
        products: list[str] = []
        rounds = 0
        while quota > 0:
            if not products:  # each product once, then again as <product>-2, -3, ...
                rounds += 1
                products = [p if rounds == 1 else f"{p}-{rounds}" for p in PRODUCTS]
                self.rng.shuffle(products)
            product = products.pop()
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
            image = f"registry.example.com/{ns.team}/{name}:1.{rng.randrange(40)}.0"
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

    def _workload_pods(self, comp: Component) -> Iterator[Obj]:
        common = comp.labels
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
        # (Deployment name, version label or None, replicas)
        groups: list[tuple[str, str | None, int]] = [
            (comp.name, comp.versions[0] if comp.versions else None, comp.replicas)
        ]
        if len(comp.versions) == 2:
            canary = max(1, comp.replicas // 3)
            groups = [
                (f"{comp.name}-v1", "v1", comp.replicas - canary),
                (f"{comp.name}-v2", "v2", canary),
            ]
        for deployment, version, replicas in groups:
            pod_hash = self._suffix(10)
            owner = self._owner("apps/v1", "ReplicaSet", f"{deployment}-{pod_hash}")
            labels = dict(common)
            if version is not None:
                labels["version"] = version
            labels["pod-template-hash"] = pod_hash
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
            dns_ports = [("dns", 53, "UDP", 53), ("dns-tcp", 53, "TCP", 53)]
            dns_ports.append(("metrics", 9153, "TCP", 9153))
            return _service_obj(ns, "kube-dns", comp.selector, KUBE_DNS_IP, dns_ports)
        if comp.tier == "worker" or self.services >= MAX_SERVICES:
            return None
        self.services += 1
        if comp.tier in ("web", "api"):
            ports: list[tuple[str, int, str, int | str]] = [("http", 80, "TCP", "http")]
            if comp.tier == "api":
                ports.append(("grpc", 9090, "TCP", "grpc"))
                for name, number, protocol in comp.containers[0].ports:
                    if protocol != "TCP":
                        ports.append((name, 443 if name == "quic" else number, protocol, name))
        else:
            ports = [(n, p, proto, n) for n, p, proto in comp.containers[0].ports]
        headless = comp.kind == "StatefulSet" and comp.tier != "platform"
        cluster_ip = None if headless else self._service_ip()
        return _service_obj(ns, comp.name, comp.selector, cluster_ip, ports)

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

    def _from_namespace(self, j: int) -> tuple[str, str, Obj]:
        ns, stem, selector, comp = self._target("web", "api")
        team, env = self._team(), self._env()
        labels = ({"team": team}, {"env": env}, {"team": team, "env": env})[j % 3]
        spec: Obj = {
            "podSelector": selector,
            "ingress": [
                {
                    "from": [{"namespaceSelector": {"matchLabels": labels}}],
                    "ports": [_port(comp, j, "http", 8080)],
                }
            ],
        }
        if j % 4 != 3:  # the others rely on the defaulting of policyTypes
            spec["policyTypes"] = ["Ingress"]
        return ns, f"allow-{stem}-from-{'-'.join(labels.values())}", spec

    def _namespace_and_pod(self, j: int) -> tuple[str, str, Obj]:
        """namespaceSelector AND podSelector in one peer."""
        ns, stem, selector, _ = self._target("api")
        if j % 2 == 0:
            env = self._env()
            peer = {
                "namespaceSelector": {"matchLabels": {"env": env}},
                "podSelector": {"matchLabels": {"tier": "web"}},
            }
            name = f"allow-{stem}-from-{env}-web"
        else:
            other = self._pick("web", "api", "worker")
            team = other.namespace.team if other else self._team()
            app = other.name if other else "frontend"
            peer = {
                "namespaceSelector": {"matchLabels": {"team": team}},
                "podSelector": {"matchLabels": {"app": app}},
            }
            name = f"allow-{stem}-from-{app}"
        if j % 4 < 2:
            ports: list[Obj] = [{"port": "http"}, {"port": "grpc"}]
        else:
            ports = [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 9090}]
        spec = {
            "podSelector": selector,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [peer], "ports": ports}],
        }
        return ns, name, spec

    def _or_peers(self, j: int) -> tuple[str, str, Obj]:
        """Separate peers, ORed: a client app here, a team's namespaces, the nodes."""
        ns, stem, selector, comp = self._target("api", "web")
        client = self._pick("web", "worker")
        peers: list[Obj] = [
            {"podSelector": {"matchLabels": {"app": client.name if client else "frontend"}}},
            {"namespaceSelector": {"matchLabels": {"team": self._team()}}},
        ]
        if j % 2 == 0:
            peers.append({"ipBlock": {"cidr": NODE_CIDR}})  # kubelet probes, NodePorts
        spec = {
            "podSelector": selector,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": peers, "ports": [_port(comp, j, "http", 8080)]}],
        }
        return ns, f"allow-{stem}-clients", spec

    def _match_expressions(self, j: int) -> tuple[str, str, Obj]:
        variant = j % 4
        ns, stem, selector, comp = self._target("api", "web")
        rule: Obj
        if variant == 0:  # In, on both ends, selecting by tier
            selector = {
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["api", "worker"]}]
            }
            rule = {
                "from": [
                    {
                        "podSelector": {
                            "matchExpressions": [
                                {"key": "tier", "operator": "In", "values": ["web", "api"]}
                            ]
                        }
                    }
                ],
                "ports": [{"port": "http"}, {"port": "grpc"}],
            }
            stem = "backends"
        elif variant == 1:  # NotIn
            rule = {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchExpressions": [
                                {"key": "env", "operator": "NotIn", "values": ["dev", "qa"]}
                            ]
                        }
                    }
                ]
            }
            stem += "-from-non-dev"
        elif variant == 2:  # Exists, ANDed with a podSelector
            rule = {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchExpressions": [{"key": "istio-injection", "operator": "Exists"}]
                        },
                        "podSelector": {"matchLabels": {"tier": "web"}},
                    }
                ],
                "ports": [_port(comp, j, "http", 8080)],
            }
            stem += "-from-mesh"
        else:  # DoesNotExist, NotIn and Exists together
            tier = self.rng.choice(("api", "worker"))
            selector = {
                "matchLabels": {"tier": tier},
                "matchExpressions": [{"key": "version", "operator": "DoesNotExist"}],
            }
            rule = {
                "from": [
                    {
                        "podSelector": {
                            "matchExpressions": [
                                {"key": "tier", "operator": "NotIn", "values": ["db", "cache"]},
                                {"key": "app.kubernetes.io/part-of", "operator": "Exists"},
                            ]
                        }
                    }
                ]
            }
            stem = f"unversioned-{tier}"
        spec = {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": [rule]}
        return ns, f"allow-{stem}-expr", spec

    def _ip_block_egress(self, j: int) -> tuple[str, str, Obj]:
        ns, stem, selector, _ = self._target("api", "worker", "web")
        blocks: tuple[tuple[str, list[Obj], list[Obj]], ...] = (
            ("internet", [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(RFC1918)}}],
             [{"protocol": "TCP", "port": 443}]),
            ("partner-db", [{"ipBlock": {"cidr": "198.51.100.0/24",
                                         "except": ["198.51.100.128/25"]}}],
             [{"protocol": "TCP", "port": 5432}]),
            ("payment-gateway", [{"ipBlock": {"cidr": "203.0.113.0/24"}},
                                 {"ipBlock": {"cidr": "192.0.2.10/32"}}],
             [{"port": 443}, {"port": 8443}]),
            ("internet-v6", [{"ipBlock": {"cidr": "2001:db8::/32",
                                          "except": ["2001:db8:ff::/48"]}}],
             [{"port": 443}]),
        )  # fmt: skip
        what, peers, ports = blocks[j % len(blocks)]
        spec = {
            "podSelector": selector,
            "policyTypes": ["Egress"],
            "egress": [{"to": peers, "ports": ports}],
        }
        return ns, f"allow-{stem}-to-{what}", spec

    def _port_range(self, j: int) -> tuple[str, str, Obj]:
        variant = j % 3
        if variant == 0:  # to the NodePorts of every node
            ns, stem, selector, _ = self._target("api", "worker", "web")
            spec: Obj = {
                "podSelector": selector,
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [{"ipBlock": {"cidr": NODE_CIDR}}],
                        "ports": [{"protocol": "TCP", "port": 30000, "endPort": 32767}],
                    }
                ],
            }
            return ns, f"allow-{stem}-to-nodeports", spec
        if variant == 1:
            ns, stem, selector, _ = self._target("api")
            rule: Obj = {
                "from": [{"namespaceSelector": {"matchLabels": {"env": self._env()}}}],
                "ports": [{"port": 8000, "endPort": 8100}],
            }
        else:
            ns, stem, selector, _ = self._target("worker", "api")
            rule = {
                "from": [{"podSelector": {}}],
                "ports": [{"protocol": "UDP", "port": 60000, "endPort": 61000}],
            }
        spec = {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": [rule]}
        return ns, f"allow-{stem}-port-range", spec

    def _app_to_db(self, j: int) -> tuple[str, str, Obj]:
        """A store accepts its product's api (and maybe worker), on its port."""
        ns, stem, selector, comp = self._target("db", "cache")
        client = None
        if comp is not None:
            siblings = [c for c in comp.namespace.components if c.tier in ("api", "worker")]
            same = [c for c in siblings if c.product == comp.product and c.tier == "api"]
            client = same[0] if same else (self.rng.choice(siblings) if siblings else None)
        peers: list[Obj] = [
            {"podSelector": {"matchLabels": {"app": client.name} if client else {"tier": "api"}}}
        ]
        if j % 3 == 2 and comp is not None:
            peers.append(
                {
                    "podSelector": {
                        "matchLabels": {"app.kubernetes.io/part-of": comp.product, "tier": "worker"}
                    }
                }
            )
        spec: Obj = {
            "podSelector": selector,
            "ingress": [{"from": peers, "ports": [_port(comp, j, "postgres", 5432)]}],
        }
        if j % 2 == 0:
            spec["policyTypes"] = ["Ingress"]
        return ns, f"allow-{stem}-from-clients", spec

    def _version(self, j: int) -> tuple[str, str, Obj]:
        """Select by version: v2 (canary) reachable from the ingress controller only,
        v1 from the namespace's web tier."""
        pool = self.split or self.versioned
        comp = self.rng.choice(pool) if pool else None
        ns = comp.namespace.name if comp else self._app_namespace().name
        app = comp.name if comp else "frontend"
        version = "v2" if j % 2 == 0 and (comp is None or len(comp.versions) == 2) else "v1"
        peer: Obj = INGRESS_NGINX_PEER if version == "v2" else _match_peer(tier="web")
        spec = {
            "podSelector": _match(app=app, version=version),
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_copy(peer)], "ports": [{"port": "http"}]}],
        }
        return ns, f"allow-{app}-{version}", spec

    def _monitoring(self, j: int) -> tuple[str, str, Obj]:
        variant = j % 3
        ns, stem, selector, _ = self._target("api", "web", "worker", "db", "cache")
        if variant == 0:
            selector, stem = {}, "all"
        elif variant == 1:
            tier = self.rng.choice(TIERS)
            selector, stem = _match(tier=tier), tier
        port: Obj = {"port": "metrics"} if j % 4 != 3 else {"protocol": "TCP", "port": 9100}
        spec = {
            "podSelector": selector,
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_copy(PROMETHEUS_PEER)], "ports": [port]}],
        }
        return ns, f"allow-prometheus-scrape-{stem}", spec

    def _udp_sctp(self, j: int) -> tuple[str, str, Obj]:
        variant = j % 3
        if variant == 0:  # memberlist gossip between a worker's pods, TCP and UDP
            comp = self.rng.choice(self.with_port["gossip"]) if self.with_port["gossip"] else None
            ns = comp.namespace.name if comp else self._app_namespace().name
            app = comp.name if comp else "worker"
            ports: list[Obj] = (
                [{"protocol": "UDP", "port": 7946}, {"protocol": "TCP", "port": 7946}]
                if j % 2 == 0
                else [{"protocol": "UDP", "port": "gossip-udp"}, {"port": "gossip"}]
            )
            spec = {
                "podSelector": _match(app=app),
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [_match_peer(app=app)], "ports": ports}],
            }
            return ns, f"allow-{app}-gossip", spec
        if variant == 1:  # Diameter over SCTP from a team's namespaces
            comp = (
                self.rng.choice(self.with_port["diameter"]) if self.with_port["diameter"] else None
            )
            ns = comp.namespace.name if comp else self._app_namespace().name
            app = comp.name if comp else "diameter"
            sctp: Obj = (
                {"protocol": "SCTP", "port": 3868}
                if j % 2 == 0
                else {"protocol": "SCTP", "port": "diameter"}
            )
            spec = {
                "podSelector": _match(app=app),
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"namespaceSelector": {"matchLabels": {"team": self._team()}}}],
                        "ports": [sctp],
                    }
                ],
            }
            return ns, f"allow-{app}-diameter", spec
        comp = self.rng.choice(self.with_port["quic"]) if self.with_port["quic"] else None
        ns = comp.namespace.name if comp else self._app_namespace().name
        app = comp.name if comp else "edge"
        spec = {
            "podSelector": _match(app=app),
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [_copy(INGRESS_NGINX_PEER)],
                    "ports": [{"protocol": "UDP", "port": "quic"}],
                }
            ],
        }
        return ns, f"allow-{app}-quic", spec

    def _egress_to_deps(self, j: int) -> tuple[str, str, Obj]:
        """An app may reach its product's stores, and maybe an api of another team."""
        ns, stem, selector, comp = self._target("api", "worker")
        rules: list[Obj] = []
        deps = (
            [c for c in comp.namespace.components
             if c.product == comp.product and c.tier in ("db", "cache")]
            if comp else []
        )  # fmt: skip
        for dep in deps:
            rules.append({"to": [_match_peer(app=dep.name)], "ports": [_port(dep, j, "", 0)]})
        if not rules:
            rules.append(
                {"to": [_match_peer(tier="db")], "ports": [{"protocol": "TCP", "port": 5432}]}
            )
            rules.append({"to": [_match_peer(tier="cache")], "ports": [{"port": "redis"}]})
        if j % 2 == 1:
            other = self._pick("api")
            team = other.namespace.team if other else self._team()
            peer = {
                "namespaceSelector": {"matchLabels": {"team": team}},
                "podSelector": {"matchLabels": {"app": other.name if other else "api"}},
            }
            rules.append({"to": [peer], "ports": [{"port": "grpc"}]})
        spec = {"podSelector": selector, "policyTypes": ["Egress"], "egress": rules}
        return ns, f"allow-{stem}-egress", spec


_SUFFIXES = {
    "web": ("web", "frontend", "ui"),
    "api": ("api", "service", "gateway"),
    "worker": ("worker", "consumer", "scheduler"),
}


def _match(**labels: str) -> Obj:
    return {"matchLabels": labels}


def _match_peer(**labels: str) -> Obj:
    return {"podSelector": {"matchLabels": labels}}


def _copy(peer: Obj) -> Obj:
    """A fresh copy of a constant peer (callers may mutate what generate returns)."""
    copied: Obj = json.loads(json.dumps(peer))
    return copied


def _port(comp: Component | None, j: int, name: str, number: int) -> Obj:
    """The component's main port, by name for even ``j`` and by number for odd."""
    protocol = "TCP"
    if comp is not None:
        name, number, protocol = comp.main_port
    if j % 2 == 0:
        return {"port": name} if protocol == "TCP" else {"protocol": protocol, "port": name}
    return {"protocol": protocol, "port": number}


def _deny(types: list[str]) -> Obj:
    return {"podSelector": {}, "policyTypes": types}


def _deny_ingress(j: int) -> Obj:
    """Three spellings: explicit policyTypes, defaulted policyTypes, ``ingress: []``."""
    return ({"podSelector": {}, "policyTypes": ["Ingress"]}, {"podSelector": {}},
            {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []})[j % 3]  # fmt: skip


def _same_namespace() -> Obj:
    return {
        "podSelector": {},
        "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {}}]}],
    }


def _dns_egress(j: int) -> Obj:
    """To kube-dns on 53/UDP and 53/TCP: by number, by CoreDNS's port names, or to
    the whole of kube-system."""
    variant = j % 3
    peer = _copy(KUBE_DNS_PEER)
    if variant == 2:
        del peer["podSelector"]
    if variant == 1:
        ports: list[Obj] = [
            {"protocol": "UDP", "port": "dns"},
            {"protocol": "TCP", "port": "dns-tcp"},
        ]
    else:
        ports = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    return {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": [peer], "ports": ports}],
    }


def _service_obj(
    namespace: str,
    name: str,
    selector: dict[str, str],
    cluster_ip: str | None,
    ports: Sequence[tuple[str, int, str, int | str]],
) -> Obj:
    ip = cluster_ip or "None"  # headless
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(selector)},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "selector": dict(selector),
            "ports": [
                {"name": n, "port": p, "protocol": proto, "targetPort": target}
                for n, p, proto, target in ports
            ],
        },
    }


# ---- output ----------------------------------------------------------------------


def dumps_json(objects: list[Obj]) -> str:
    """One ``List`` document, compact. ``json.dumps`` encodes in C; ``json.dump``
    would take the pure-Python iterative encoder, several times slower."""
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, separators=(",", ":"))


def dumps_yaml(objects: list[Obj]) -> str:
    """Multi-document YAML, with the C dumper when PyYAML has it."""
    import yaml

    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump_all(objects, Dumper=dumper, sort_keys=False, default_flow_style=False)
    return text


def write(objects: list[Obj], output: str, fmt: str) -> int:
    """Write to ``output`` (``-`` for stdout); the number of bytes written."""
    text = dumps_json(objects) + "\n" if fmt == "json" else dumps_yaml(objects)
    data = text.encode()
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(output).write_bytes(data)
    return len(data)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, required=True, help="exact number of Pods")
    parser.add_argument("--policies", type=int, required=True, help="exact number of policies")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cluster-policies", type=int, default=0, help="cluster-wide policies (Admin/Baseline)"
    )
    parser.add_argument("-o", "--output", required=True, help="file to write, - for stdout")
    parser.add_argument(
        "--format", choices=("json", "yaml"), help="default: yaml for .yaml/.yml, else json"
    )
    args = parser.parse_args(argv)
    fmt = args.format or ("yaml" if args.output.endswith((".yaml", ".yml")) else "json")
    start = time.perf_counter()
    try:
        objects = generate(args.pods, args.policies, args.seed, args.cluster_policies)
    except ValueError as exc:
        parser.error(str(exc))
    generated = time.perf_counter()
    size = write(objects, args.output, fmt)
    done = time.perf_counter()
    kinds: dict[str, int] = {}
    for obj in objects:
        kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
    summary = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
    print(
        f"{summary}; {size / 1e6:.1f} MB {fmt}; generate {generated - start:.2f} s, "
        f"write {done - generated:.2f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
