"""The 10k-pod / 1k-policy inventory of the dataplane prototype, rebuilt from
its description (docs/prototype.md, "Measurements"), so that netfence's
nftables load time can be compared with the prototype's 0.19 s on the same
kind of workload.

What the notes say, and what this module does with it:

- "100 namespaces x 100 pods = 10,000 synthetic pods (+4 lab pods)": namespaces
  ``ns-00`` .. ``ns-99`` (labels ``team`` and ``env``), 100 pods each in their
  own /24 (``10.244.<n+10>.<i+10>``) labelled ``app`` (ten apps) and ``tier``
  (api, web, db); plus the workshop's ui, catalog, catalog-mysql and CoreDNS.
- "1,000 synthetic policies of four kinds, plus default-deny and
  allow-ui-egress": ten per namespace, in turn:
  1. ingress from a namespaceSelector AND podSelector, numeric and named ports;
  2. egress to 0.0.0.0/0 except RFC1918, on 443 and 30000-32767;
  3. ingress and egress within the namespace, SCTP and UDP;
  4. ingress from any namespace with tier=api.

The notes give the kinds, not the selectors, so the counts of sets and
dispatch entries differ from the prototype's (308 sets, 6,251 dispatch
entries); bench/nft.py prints them next to the load times.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

NAMESPACES = 100
PODS_PER_NAMESPACE = 100
APPS = 10
TIERS = ("api", "web", "db")
RFC1918 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
PORTS = (("http", 8080, "TCP"), ("metrics", 9090, "TCP"), ("gossip", 7946, "UDP"))
PORTS_SCTP = (("sctp-rep", 9999, "SCTP"),)


def generate() -> list[Obj]:
    """The objects of the workload, namespaces first."""
    objects: list[Obj] = []
    for n in range(NAMESPACES):
        ns = f"ns-{n:02d}"
        objects.append(_namespace(ns, {"team": f"team-{n % 10}", "env": ("prod", "dev")[n % 2]}))
        for i in range(PODS_PER_NAMESPACE):
            labels = {"app": f"app-{i % APPS}", "tier": TIERS[i % len(TIERS)]}
            ports = PORTS + (PORTS_SCTP if i % 4 == 0 else ())
            objects.append(_pod(ns, f"pod-{i:02d}", labels, f"10.244.{n + 10}.{i + 10}", ports))
        objects.extend(_policies(ns, n))
    objects.extend(_workshop())
    return objects


def _policies(ns: str, n: int) -> list[Obj]:
    """Ten policies for namespace ``n``: the four kinds in turn, each on one app."""
    kinds = (_ns_and_pod_ingress, _internet_egress, _same_namespace, _api_ingress)
    return [kinds[k % 4](ns, f"p{k}", f"app-{k}", n) for k in range(10)]


def _ns_and_pod_ingress(ns: str, name: str, app: str, n: int) -> Obj:
    peer = {
        "namespaceSelector": {"matchLabels": {"team": f"team-{(n + 1) % 10}"}},
        "podSelector": {"matchLabels": {"tier": "web"}},
    }
    ports = [{"port": 8080}, {"port": "metrics"}]
    return _policy(ns, name, app, ingress=[{"from": [peer], "ports": ports}])


def _internet_egress(ns: str, name: str, app: str, n: int) -> Obj:
    block = {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(RFC1918)}}
    ports = [{"port": 443}, {"port": 30000, "endPort": 32767}]
    return _policy(ns, name, app, egress=[{"to": [block], "ports": ports}])


def _same_namespace(ns: str, name: str, app: str, n: int) -> Obj:
    ports = [{"protocol": "SCTP", "port": 9999}, {"protocol": "UDP", "port": 7946}]
    here = [{"podSelector": {}}]
    return _policy(
        ns,
        name,
        app,
        ingress=[{"from": here, "ports": ports}],
        egress=[{"to": here, "ports": ports}],
    )


def _api_ingress(ns: str, name: str, app: str, n: int) -> Obj:
    peer = {"namespaceSelector": {}, "podSelector": {"matchLabels": {"tier": "api"}}}
    return _policy(ns, name, app, ingress=[{"from": [peer], "ports": [{"port": 8080}]}])


def _policy(ns: str, name: str, app: str, **rules: list[Obj]) -> Obj:
    types = [kind.capitalize() for kind in ("ingress", "egress") if kind in rules]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"podSelector": {"matchLabels": {"app": app}}, "policyTypes": types, **rules},
    }


def _namespace(name: str, labels: dict[str, str]) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _pod(
    ns: str, name: str, labels: dict[str, str], ip: str, ports: tuple[tuple[str, int, str], ...]
) -> Obj:
    container = {
        "name": "main",
        "image": "registry.example/app:1",
        "ports": [{"name": pn, "containerPort": p, "protocol": proto} for pn, p, proto in ports],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"nodeName": "node-1", "containers": [container]},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]},
    }


def _workshop() -> list[Obj]:
    """The four lab pods and the workshop's two policies (default-deny and
    allow-ui-egress, as in the bundled eks-retail scenario)."""
    service = {"app.kubernetes.io/component": "service"}
    objects = [_namespace(ns, {}) for ns in ("ui", "catalog", "kube-system")]
    objects += [
        _pod("ui", "ui", {"app.kubernetes.io/name": "ui", **service}, "10.244.1.10", ()),
        _pod("catalog", "catalog", {"app.kubernetes.io/name": "catalog", **service},
             "10.244.1.20", (("http", 8080, "TCP"),)),
        _pod("catalog", "catalog-mysql",
             {"app.kubernetes.io/name": "catalog", "app.kubernetes.io/component": "mysql"},
             "10.244.1.21", (("mysql", 3306, "TCP"),)),
        _pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, "10.244.1.53",
             (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"))),
    ]  # fmt: skip
    deny = _policy("ui", "default-deny", "ui", egress=[])
    deny["spec"]["podSelector"] = {}
    allow = _policy(
        "ui",
        "allow-ui-egress",
        "ui",
        egress=[
            {
                "to": [
                    {"namespaceSelector": {}, "podSelector": {"matchLabels": service}},
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                        }
                    },
                ]
            }
        ],
    )
    allow["spec"]["podSelector"] = {"matchLabels": {"app.kubernetes.io/name": "ui"}}
    return [*objects, deny, allow]
