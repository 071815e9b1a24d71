"""NF101 and NF113: can the pods a policy isolates for egress still resolve names?

Decided with the engine, connection by connection, from the pods that egress
policies isolate to the kube-dns pods on port 53. Both ends may be hypothetical,
so that a policy repository without cluster state is judged too:

- the sources are the input's pods; in a namespace without pods in the input,
  one described pod per distinct podSelector of the namespace's policies (labels
  that satisfy it, matchExpressions included), or a pod without labels when every
  policy there selects all pods;
- the kube-dns pods are the backends of the Service kube-system/kube-dns, else
  the pods of kube-system labelled k8s-app=kube-dns, else assumed: the
  conventional CoreDNS pods (k8s-app: kube-dns in kube-system, serving 53/UDP and
  53/TCP), which the finding then says.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from netfence.analysis.lint.findings import Check, Finding
from netfence.compile.compiled import CompiledPolicy, CompiledPolicySet
from netfence.compile.ir import AddressesIn
from netfence.engine.connections import pod_connection
from netfence.engine.described import describe, described_pod, is_described, labels_satisfying
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster, Pod
from netfence.model.diagnostics import ObjectRef, Severity
from netfence.model.labels import MATCH_ALL, Labels, LabelSelector
from netfence.model.policy import Direction
from netfence.model.ports import ContainerPort, Protocol
from netfence.model.traffic import Connection

DNS_PORT = 53
KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_LABELS = Labels.of({"k8s-app": "kube-dns"})
ASSUMED_KUBE_DNS = described_pod(
    KUBE_DNS_NAMESPACE,
    KUBE_DNS_LABELS,
    (
        ContainerPort(DNS_PORT, Protocol.UDP, "dns"),
        ContainerPort(DNS_PORT, Protocol.TCP, "dns-tcp"),
    ),
)
ASSUMED_NOTE = (
    "kube-dns assumed, as none is in the input: the conventional pods k8s-app=kube-dns "
    "of kube-system serving 53/UDP and 53/TCP"
)

DNS_BLOCKED = Check(
    "NF101", "dns-blocked", Severity.ERROR,
    "egress isolation blocks DNS and no policy allows kube-dns",
    "A pod isolated for egress can resolve no name unless some policy allows egress to "
    "kube-dns on 53/UDP; every connection by name then fails ('Resolving timed out').",
    "Add an egress rule to the kube-dns pods (namespaceSelector kubernetes.io/metadata.name: "
    "kube-system, podSelector k8s-app: kube-dns) on port 53 UDP and TCP.",
)  # fmt: skip

DNS_TCP_BLOCKED = Check(
    "NF113", "dns-tcp-blocked", Severity.WARNING,
    "DNS to kube-dns is allowed over UDP but not over TCP",
    "Resolvers retry over TCP when an answer does not fit in a UDP datagram (the "
    "truncated bit: many records, long names, DNSSEC); with 53/TCP blocked those "
    "lookups fail while short ones work.",
    "Allow port 53 over TCP as well as UDP in the rule that allows kube-dns.",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DnsBackend:
    pod: Pod
    protocol: Protocol
    port: int


def kube_dns_backends(cluster: Cluster) -> tuple[list[DnsBackend], bool]:
    """The kube-dns pods with the port they serve per protocol, and whether they
    are assumed (nothing in the input)."""
    service = cluster.service(KUBE_DNS_NAMESPACE, "kube-dns")
    backends = cluster.service_backends(service) if service is not None else ()
    if service is not None and backends:
        found = [
            DnsBackend(b, sp.protocol, target)
            for sp in service.ports
            if sp.port == DNS_PORT and sp.protocol in (Protocol.UDP, Protocol.TCP)
            for b in backends
            if (target := sp.target_on(b)) is not None
        ]
        return found, False
    pods = [
        p
        for p in cluster.pods_in(KUBE_DNS_NAMESPACE)
        if not p.host_network and p.labels.get("k8s-app") == "kube-dns"
    ]
    if pods:
        return [DnsBackend(p, proto, DNS_PORT) for p in pods for proto in _BOTH], False
    return [DnsBackend(ASSUMED_KUBE_DNS, proto, DNS_PORT) for proto in _BOTH], True


_BOTH = (Protocol.UDP, Protocol.TCP)


def egress_sources(cluster: Cluster, compiled: CompiledPolicySet) -> list[Pod]:
    """The input's pods, and described pods for namespaces that have policies
    isolating egress but no pods in the input."""
    sources = [p for p in cluster.pods if not p.host_network]
    with_pods = {p.namespace for p in cluster.pods}
    for namespace, policies in compiled.by_namespace.items():
        if namespace in with_pods or not any(c.policy.isolates(Direction.EGRESS) for c in policies):
            continue
        selectors: list[LabelSelector] = []
        for c in policies:
            if not c.target.is_empty and c.target not in selectors:
                selectors.append(c.target)
        for selector in selectors or [MATCH_ALL]:
            labels = labels_satisfying(selector)
            if labels is not None:
                sources.append(described_pod(namespace, labels))
    return sources


def dns_connection(pod: Pod, backend: DnsBackend) -> Connection:
    """``pod`` asking ``backend`` a question (engine/connections.py: in the
    backend's primary family)."""
    return pod_connection(pod, backend.pod, backend.port, backend.protocol)


def _allowed(
    compiled: CompiledPolicySet, cluster: Cluster, pod: Pod, backends: list[DnsBackend]
) -> bool:
    return any(evaluate(compiled, cluster, dns_connection(pod, b)).allowed for b in backends)


class _SourceVerdicts:
    """``_allowed`` once per kind of source pod. What the engine reads of a source
    is its namespace, labels and hostNetwork (which policies select it, which peers
    match it), the families of its addresses (the connection's family) and, only
    where an ingress rule of a policy selecting a DNS backend has an ipBlock peer,
    its address itself; pods alike in all
    of these get the same verdict (the many replicas of a workload)."""

    def __init__(
        self, compiled: CompiledPolicySet, cluster: Cluster, backends: list[DnsBackend]
    ) -> None:
        self._compiled, self._cluster = compiled, cluster
        self._address_matters = any(  # an ingress ipBlock of a policy over a DNS backend
            isinstance(m.selection, AddressesIn)
            for b in backends
            for c in compiled.selecting(b.pod, Direction.INGRESS)
            for r in c.ingress
            for m in r.peers or ()
        )
        self._known: dict[tuple[object, ...], bool] = {}

    def allowed(self, pod: Pod, backends: list[DnsBackend]) -> bool:
        key = (
            backends[0].protocol if backends else None,
            pod.namespace,
            pod.labels,
            pod.host_network,
            tuple(ip.version for ip in pod.ips),
            pod.ips if self._address_matters else (),
        )
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = _allowed(self._compiled, self._cluster, pod, backends)
        return found


def _ip_blocks_may_allow(policies: tuple[CompiledPolicy, ...], backends: list[DnsBackend]) -> bool:
    """Does an egress rule with an ipBlock peer allow the kube-dns port? Then the
    kube-dns addresses, unknown when assumed, decide: the check stays quiet."""
    return any(
        any(isinstance(m.selection, AddressesIn) for m in r.peers or ())
        and (
            r.ports is None
            or any(pm.matches(b.port, b.protocol, b.pod) for pm in r.ports for b in backends)
        )
        for c in policies
        for r in c.egress
    )


def _finding(check: Check, policy: CompiledPolicy, message: str) -> Finding:
    p = policy.policy
    ref = ObjectRef("NetworkPolicy", p.namespace, p.name)
    return Finding(check, message, p.source, ref, "spec.policyTypes")


def dns_findings(cluster: Cluster, compiled: CompiledPolicySet) -> Iterator[Finding]:
    """NF101 for pods that cannot reach kube-dns over UDP; NF113 for pods that can,
    but not over TCP. One finding per policy (the first that isolates the pod)."""
    backends, assumed = kube_dns_backends(cluster)
    udp = [b for b in backends if b.protocol is Protocol.UDP]
    tcp = [b for b in backends if b.protocol is Protocol.TCP]
    if not udp:
        return  # a kube-dns without 53/UDP: nothing resolvers would use first
    reported: set[tuple[str, str]] = set()
    verdicts = _SourceVerdicts(compiled, cluster, backends)
    for pod in egress_sources(cluster, compiled):
        policies = compiled.selecting(pod, Direction.EGRESS)
        if not policies:
            continue
        if assumed and _ip_blocks_may_allow(policies, udp):
            continue  # an ipBlock may hold the unknown kube-dns addresses: undecided
        who = describe(pod) if is_described(pod) else pod.key
        notes = []
        if is_described(pod):
            notes.append(f"no pods of {pod.namespace} in the input: judged for such a pod")
        if assumed:
            notes.append(ASSUMED_NOTE)
        suffix = f" ({'; '.join(notes)})" if notes else ""
        if not verdicts.allowed(pod, udp):
            check = DNS_BLOCKED
            message = f"isolates {who} for egress and nothing allows DNS to kube-dns{suffix}"
        elif tcp and not verdicts.allowed(pod, tcp):
            check = DNS_TCP_BLOCKED
            message = (
                f"isolates {who} for egress and allows DNS to kube-dns over 53/UDP only: "
                f"lookups retried over 53/TCP (truncated answers) fail{suffix}"
            )
        else:
            continue
        key = (check.id, policies[0].policy.key)
        if key not in reported:
            reported.add(key)
            yield _finding(check, policies[0], message)
