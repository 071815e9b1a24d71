"""Least-privilege NetworkPolicies from observed flows (docs/generate.md).

One policy per workload seen in a flow, named after it, isolating it both ways:
ingress from the peers it was seen receiving from, egress to the peers it was
seen sending to, each on the ports seen, plus DNS egress to kube-dns. Peers are
pods (namespace by ``kubernetes.io/metadata.name`` and the peer workload's
selector) or addresses outside the pods (``ipBlock``, aggregated by the rule of
``external_blocks``). The manifests are data (dicts); generate_check.py parses
them back with netfence's own validation, replays the flows and diffs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from netfence.analysis.flows import EndKind, ExplainedFlow, MappedEnd, Status, workload_key
from netfence.analysis.generate_select import Subject, subject_for
from netfence.model.cluster import NAMESPACE_NAME_LABEL, Cluster, Pod
from netfence.model.policy import IPAddress, IPNetwork
from netfence.model.ports import Protocol

Manifest = dict[str, object]
DNS_PORT = 53
MANAGED_BY = {"app.kubernetes.io/managed-by": "netfence"}
DEFAULT_DNS_SELECTOR = {"k8s-app": "kube-dns"}


@dataclass(frozen=True)
class Options:
    """``ipv4_prefix`` / ``ipv6_prefix``: external addresses are widened to blocks of
    that length, unless the block would hold an address of a pod or node of the
    snapshot (then the address stays alone). ``include_denied``: flows logged as
    denied count as observed traffic too (by default they did not flow)."""

    default_deny: bool = False
    baseline: bool = False
    include_denied: bool = False
    ipv4_prefix: int = 32
    ipv6_prefix: int = 128


@dataclass(frozen=True, slots=True)
class Port:
    number: int
    protocol: Protocol
    name: str | None = None  # the destination's named port, when it has one

    def manifest(self) -> dict[str, object]:
        return {"protocol": self.protocol.value, "port": self.name or self.number}


@dataclass
class _Needs:
    """What one workload was seen doing: per peer, the ports."""

    ingress: dict[str, set[Port]] = field(default_factory=dict)
    egress: dict[str, set[Port]] = field(default_factory=dict)


@dataclass(frozen=True)
class Generated:
    """The manifests (NetworkPolicies, then the Baseline policy), the flows they were
    made from, and what the reader must know (subjects that are not exact, flows
    left out and why)."""

    manifests: tuple[Manifest, ...]
    used: tuple[ExplainedFlow, ...]
    left_out: tuple[tuple[ExplainedFlow, str], ...]
    subjects: tuple[Subject, ...]
    dns_selector_assumed: bool = False


def observed(flows: Iterable[ExplainedFlow], options: Options) -> tuple[
    list[ExplainedFlow], list[tuple[ExplainedFlow, str]]
]:  # fmt: skip
    """The flows policies are made from, and the others with the reason."""
    used, left = [], []
    for f in flows:
        if f.status is Status.REPLY:
            continue  # part of a connection: conntrack allows it (counted by render)
        if f.status is Status.AMBIGUOUS:
            left.append((f, "an end is not attributed to one pod"))
        elif not f.flow.flowed and not options.include_denied:
            left.append((f, "logged as denied (--include-denied makes it observed traffic)"))
        elif f.src.pod is None and f.dst.pod is None:
            left.append((f, "no pod at either end"))
        else:
            used.append(f)
    return used, left


def generate(cluster: Cluster, flows: Sequence[ExplainedFlow], options: Options) -> Generated:
    used, left = observed(flows, options)
    subjects = _subjects(cluster, used)
    by_key = {s.key: s for s in subjects}
    dns = _dns_backends(cluster)
    needs = _needs(used, by_key, _ExternalBlocks(cluster, options), dns)
    dns_peer, assumed = _dns_peer(cluster, by_key)
    dns_keys = {workload_key(p) for p in cluster.pods if p.key in dns}
    manifests: list[Manifest] = []
    for s in subjects:
        manifests.append(_policy(s, needs[s.key], by_key, dns_peer, s.key in dns_keys))
    namespaces = sorted({s.namespace for s in subjects})
    if options.default_deny:
        manifests.extend(_default_deny(ns, dns_peer) for ns in namespaces)
    if options.baseline:
        manifests.append(_baseline(namespaces, dns_peer))
    return Generated(tuple(manifests), tuple(used), tuple(left), tuple(subjects), assumed)


def _needs(
    used: Sequence[ExplainedFlow],
    by_key: dict[str, Subject],
    externals: _ExternalBlocks,
    dns: frozenset[str],
) -> dict[str, _Needs]:
    """Per workload, the peers and ports it was seen with; DNS (a kube-dns pod on
    53) is left to the rule every policy has."""
    needs = {key: _Needs() for key in by_key}
    for f in used:
        number, protocol = f.flow.dst.port, f.flow.protocol
        dst = f.dst.pod
        to_dns = dst is not None and dst.key in dns and number == DNS_PORT
        dst_pods = by_key[workload_key(dst)].pods if dst is not None else ()
        port = _port(number, protocol, dst_pods)
        if f.src.pod is not None and not to_dns:
            peers = needs[workload_key(f.src.pod)].egress
            peers.setdefault(_peer_key(f.dst, externals), set()).add(port)
        if dst is not None and not (to_dns and f.src.pod is not None):  # DNS rule: pods only
            peers = needs[workload_key(dst)].ingress
            peers.setdefault(_peer_key(f.src, externals), set()).add(port)
    return needs


def _subjects(cluster: Cluster, used: Sequence[ExplainedFlow]) -> list[Subject]:
    """One per workload seen at a pod end, with a policy name unique in its namespace."""
    seen = {workload_key(p) for f in used for p in (f.src.pod, f.dst.pod) if p is not None}
    groups: dict[str, list[Pod]] = {}
    for pod in cluster.pods:
        key = workload_key(pod)
        if key in seen and not pod.host_network:
            groups.setdefault(key, []).append(pod)
    subjects = [subject_for(key, pods, cluster) for key, pods in sorted(groups.items())]
    names: dict[tuple[str, str], int] = {}
    for s in subjects:
        names[s.namespace, s.name] = names.get((s.namespace, s.name), 0) + 1
    return [_unique_name(s) if names[s.namespace, s.name] > 1 else s for s in subjects]


def _unique_name(subject: Subject) -> Subject:
    """Two workloads of one name (a Deployment and a StatefulSet ``db``): the kind
    is added to both names."""
    from dataclasses import replace

    kind = subject.key.split("/")[1] if subject.key.count("/") == 2 else "pod"
    return replace(subject, name=f"{subject.name}-{kind}")


def _port(number: int, protocol: Protocol, destination: Sequence[Pod]) -> Port:
    """By number, or by the name every destination pod gives that number."""
    if not destination:
        return Port(number, protocol)
    names = {
        next((p.name for p in pod.ports if p.port == number and p.protocol is protocol), None)
        for pod in destination
    }
    name = names.pop() if len(names) == 1 else None
    return Port(number, protocol, name)


def _peer_key(end: MappedEnd, externals: _ExternalBlocks) -> str:
    if end.pod is not None:
        return f"pod:{workload_key(end.pod)}"
    if end.kind is EndKind.NODE:
        return f"block:{ipaddress.ip_network(end.end.ip)}"
    return f"block:{externals.block(end.end.ip)}"


class _ExternalBlocks:
    """An outside address's block: its /ipv4_prefix (/ipv6_prefix), unless that
    block holds an address of a pod or node of the snapshot; then the address alone."""

    def __init__(self, cluster: Cluster, options: Options) -> None:
        self.inside = [ip for p in cluster.pods for ip in p.ips]
        self.inside += [ip for n in cluster.nodes for ip in n.ips]
        self.prefix = {4: options.ipv4_prefix, 6: options.ipv6_prefix}
        self.holds: dict[IPNetwork, bool] = {}  # does the block hold a pod or node address

    def block(self, ip: IPAddress) -> IPNetwork:
        alone = ipaddress.ip_network(ip)
        if self.prefix[ip.version] == alone.prefixlen:
            return alone  # no pod has the address: the caller mapped it outside
        wide = ipaddress.ip_network(f"{ip}/{self.prefix[ip.version]}", strict=False)
        holds = self.holds.get(wide)
        if holds is None:
            holds = self.holds[wide] = any(
                a.version == ip.version and a in wide for a in self.inside
            )
        return alone if holds else wide


def _dns_backends(cluster: Cluster) -> frozenset[str]:
    service = cluster.service("kube-system", "kube-dns")
    return frozenset(p.key for p in cluster.service_backends(service)) if service else frozenset()


def _dns_peer(cluster: Cluster, by_key: dict[str, Subject]) -> tuple[Manifest, bool]:
    """kube-dns's pods: by the Service's selector; without the Service in the
    snapshot, ``k8s-app: kube-dns`` (what kubeadm, EKS, GKE and AKS use), said."""
    service = cluster.service("kube-system", "kube-dns")
    selector = dict(service.selector.items()) if service and service.selector else None
    peer: Manifest = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
        "podSelector": {"matchLabels": selector or DEFAULT_DNS_SELECTOR},
    }
    return peer, selector is None


_DNS_PORTS = [{"protocol": "UDP", "port": DNS_PORT}, {"protocol": "TCP", "port": DNS_PORT}]


def _policy(
    subject: Subject,
    needs: _Needs,
    by_key: dict[str, Subject],
    dns_peer: Manifest,
    is_dns: bool,
) -> Manifest:
    ingress = _rules(needs.ingress, by_key, "from")
    if is_dns:  # DNS egress is kept for every pod: kube-dns must answer every one
        ingress.insert(0, {"from": [{"namespaceSelector": {}}], "ports": list(_DNS_PORTS)})
    egress = _rules(needs.egress, by_key, "to")
    egress.insert(0, {"to": [dns_peer], "ports": list(_DNS_PORTS)})
    spec: dict[str, object] = {
        "podSelector": subject.selector(),
        "policyTypes": ["Ingress", "Egress"],
        "ingress": ingress,
        "egress": egress,
    }
    return _manifest(subject.name, subject.namespace, spec)


def _rules(peers: dict[str, set[Port]], by_key: dict[str, Subject], field: str) -> list[Manifest]:
    """One rule per pod peer; address blocks with the same ports share a rule."""
    rules: list[Manifest] = []
    blocks: dict[tuple[Port, ...], list[IPNetwork]] = {}
    for peer in sorted(peers):
        ports = tuple(sorted(peers[peer], key=lambda p: (p.protocol.value, p.number)))
        kind, _, key = peer.partition(":")
        if kind == "pod":
            rules.append({field: [_pod_peer(by_key[key])], "ports": [p.manifest() for p in ports]})
        else:
            blocks.setdefault(ports, []).append(ipaddress.ip_network(key))
    for ports, networks in blocks.items():
        cidrs = _collapsed(networks)
        rules.append(
            {
                field: [{"ipBlock": {"cidr": str(c)}} for c in cidrs],
                "ports": [p.manifest() for p in ports],
            }
        )
    return rules


def _collapsed(networks: list[IPNetwork]) -> list[IPNetwork]:
    """Blocks merged only where their union is exactly a larger block."""
    out: list[IPNetwork] = []
    for version in (4, 6):
        mine = [n for n in networks if n.version == version]
        out.extend(ipaddress.collapse_addresses(mine))  # type: ignore[type-var]
    return out


def _pod_peer(subject: Subject) -> Manifest:
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: subject.namespace}},
        "podSelector": subject.selector(),
    }


def _default_deny(namespace: str, dns_peer: Manifest) -> Manifest:
    spec: dict[str, object] = {
        "podSelector": {},
        "policyTypes": ["Ingress", "Egress"],
        "egress": [{"to": [dns_peer], "ports": list(_DNS_PORTS)}],
    }
    return _manifest("default-deny", namespace, spec)


def _manifest(name: str, namespace: str, spec: dict[str, object]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(MANAGED_BY)},
        "spec": spec,
    }


BASELINE_NAME = "netfence-default"
BASELINE_PRIORITY = 100


def _baseline(namespaces: list[str], dns_peer: Manifest) -> Manifest:
    """A Baseline-tier default for the namespaces the policies cover: a pod no
    NetworkPolicy isolates (a workload not seen yet) gets DNS and nothing else."""
    dns_pods = {
        "pods": {
            "namespaceSelector": dns_peer["namespaceSelector"],
            "podSelector": dns_peer["podSelector"],
        }
    }
    subject = {"matchExpressions": [
        {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": namespaces}]}  # fmt: skip
    dns_ports = [{"udp": {"destinationPort": {"number": DNS_PORT}}},
                 {"tcp": {"destinationPort": {"number": DNS_PORT}}}]  # fmt: skip
    return {
        "apiVersion": "policy.networking.k8s.io/v1alpha2",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": BASELINE_NAME, "labels": dict(MANAGED_BY)},
        "spec": {
            "tier": "Baseline",
            "priority": BASELINE_PRIORITY,
            "subject": {"namespaces": subject},
            "ingress": [{"name": "deny-all", "action": "Deny", "from": [{"namespaces": {}}]}],
            "egress": [
                {
                    "name": "allow-dns",
                    "action": "Accept",
                    "to": [dns_pods],
                    "protocols": dns_ports,
                },
                {
                    "name": "deny-all",
                    "action": "Deny",
                    "to": [{"networks": ["0.0.0.0/0", "::/0"]}],
                },
            ],
        },
    }
