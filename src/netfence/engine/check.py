"""Check a connection as a user means it: between targets, through Services and DNS.

A connection to a Service is judged on each backend pod and its targetPort, never
on the ClusterIP and service port: policies act after the Service is resolved.
A destination given as a DNS name first needs name resolution, which is itself
a connection to kube-dns on 53/UDP (and 53/TCP); it is checked as a step of its
own, so that a default-deny egress policy shows that the lookup is what fails.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.connections import pod_connection
from netfence.engine.decision import Decision, Outcome
from netfence.engine.evaluate import evaluate
from netfence.engine.targets import Target, TargetKind
from netfence.errors import TargetError
from netfence.model.cluster import Cluster, Pod, Service
from netfence.model.completeness import OtherPolicy
from netfence.model.policy import Direction, IPAddress
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint

DNS_PORT = 53


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    PARTIAL = "partial"  # allowed for some source/destination pairs only
    NO_CONNECTION = "no-connection"  # nothing to connect to (no backends / no port)


class StepKind(enum.Enum):
    DNS = "dns"
    CONNECT = "connect"


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    title: str
    decisions: tuple[Decision, ...]
    notes: tuple[str, ...] = ()

    @property
    def verdict(self) -> Verdict:
        if self.kind is StepKind.DNS:
            return dns_verdict(self.decisions)
        return verdict_of(self.decisions)


def dns_verdict(decisions: tuple[Decision, ...]) -> Verdict:
    """The one rule for "does the name resolve": a resolver asks kube-dns over
    53/UDP; 53/TCP serves only answers too large for UDP (truncated), so its
    denial is a warning (lint NF113, a note in check), never the verdict."""
    udp = tuple(d for d in decisions if d.connection.protocol is Protocol.UDP)
    return verdict_of(udp or decisions)


@dataclass(frozen=True, slots=True)
class CheckReport:
    source: Target
    destination: Target
    port: int | str | None
    protocol: Protocol
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()
    # policies of other kinds that may also decide this (a pod of their namespace
    # takes part, or they are cluster-wide): not evaluated, so the verdict is uncertain
    unevaluated: tuple[OtherPolicy, ...] = ()

    @property
    def dns_step(self) -> Step | None:
        return next((s for s in self.steps if s.kind is StepKind.DNS), None)

    @property
    def verdict(self) -> Verdict:
        """The connection works only if the name resolves (when one was used) and
        the connection itself is allowed."""
        connect = verdict_of(
            tuple(d for s in self.steps if s.kind is StepKind.CONNECT for d in s.decisions)
        )
        dns = self.dns_step
        if dns is None or dns.verdict is Verdict.ALLOWED:
            return connect
        if dns.verdict is Verdict.DENIED or connect is Verdict.DENIED:
            return Verdict.DENIED
        return Verdict.PARTIAL

    @property
    def allowed(self) -> bool:
        return self.verdict is Verdict.ALLOWED


def verdict_of(decisions: tuple[Decision, ...]) -> Verdict:
    """All, none or some allowed. A pod reaching itself is always allowed (loopback)
    and says nothing about policies: it decides only when it is all there is (as in
    the matrix and the report, which count connections between distinct pods)."""
    if not decisions:
        return Verdict.NO_CONNECTION
    between = tuple(d for d in decisions if not is_loopback(d))
    decisions = between or decisions
    allowed = sum(1 for d in decisions if d.allowed)
    if allowed == len(decisions):
        return Verdict.ALLOWED
    return Verdict.DENIED if allowed == 0 else Verdict.PARTIAL


def is_loopback(decision: Decision) -> bool:
    return decision.egress.outcome is Outcome.LOOPBACK


def check(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    source: Target,
    destination: Target,
    port: int | str | None,
    protocol: Protocol | None,
) -> CheckReport:
    if destination.port is not None:  # SVC:PORT
        if port is not None and port != destination.port:
            raise TargetError(
                f"{destination.text!r} names port {destination.port}, and port {port} is given too"
            )
        port = destination.port
    if source.kind is TargetKind.SERVICE and not source.pods:
        raise TargetError(f"{source.text!r}: the service has no backend pods to connect from")
    sources = _source_endpoints(source)
    steps: list[Step] = []
    notes: list[str] = []
    if destination.dns_name is not None:
        dns = _dns_step(compiled, cluster, sources, destination.dns_name)
        if dns is None:
            notes.append(
                "no Service kube-system/kube-dns in the cluster: name resolution not checked"
            )
        else:
            steps.append(dns)
    steps.append(_connect_step(compiled, cluster, sources, destination, port, protocol))
    notes.extend(described_port_notes(compiled, destination))
    return CheckReport(
        source,
        destination,
        port,
        protocol or Protocol.TCP,
        tuple(steps),
        tuple(notes),
        unevaluated_for(cluster, (d for s in steps for d in s.decisions)),
    )


def described_port_notes(compiled: CompiledPolicySet, destination: Target) -> list[str]:
    """A described destination declares only the ports it was given: say so when a
    policy that isolates it names ports, which then match nothing."""
    if not destination.described:
        return []
    pod = destination.pods[0]
    names = sorted(
        {
            pm.port.port
            for c in compiled.selecting(pod, Direction.INGRESS)
            for r in c.ingress
            for pm in r.ports or ()
            if isinstance(pm.port.port, str)
            and pod.named_port(pm.port.port, pm.port.protocol) is None
        }
    )
    if not names:
        return []
    return [
        f"{destination.text} is a described endpoint that declares no port named "
        f"{', '.join(repr(n) for n in names)}: the rules using those names match nothing "
        "(in expectations, toLabels.ports declares them)"
    ]


def unevaluated_for(cluster: Cluster, decisions: Iterable[Decision]) -> tuple[OtherPolicy, ...]:
    """The policies of other kinds that may also decide these connections: those of
    a namespace whose pod takes part, and every cluster-wide one."""
    if not cluster.other_policies:
        return ()
    namespaces = {
        e.pod.namespace
        for d in decisions
        for e in (d.connection.src, d.connection.dst)
        if e.pod is not None
    }
    return tuple(p for p in cluster.other_policies if p.may_affect(namespaces))


def _source_endpoints(source: Target) -> list[Endpoint]:
    """The sources; a pod's address only when the user gave it (an IP target), else
    None: each connection then takes the address engine/connections.py's rule
    chooses for its destination."""
    if source.kind is TargetKind.EXTERNAL:
        return [Endpoint(source.ip)]
    return [Endpoint(source.ip if source.ip in p.ips else None, p) for p in source.pods]


def _first_ip(pod: Pod) -> IPAddress | None:
    return pod.ips[0] if pod.ips else None


def _dns_step(
    compiled: CompiledPolicySet, cluster: Cluster, sources: list[Endpoint], name: str
) -> Step | None:
    service = cluster.service("kube-system", "kube-dns")
    if service is None:
        return None
    backends = cluster.service_backends(service)
    decisions = [
        evaluate(compiled, cluster, _connection(src, backend, target, protocol))
        for protocol in (Protocol.UDP, Protocol.TCP)
        for src in sources
        if src.pod is not None
        for backend, target in _service_backends(service, backends, DNS_PORT, protocol)
    ]
    title = f"resolve {name!r} with kube-dns ({service.key}, {_ips(service)}:53)"
    tcp = tuple(d for d in decisions if d.connection.protocol is Protocol.TCP)
    notes: tuple[str, ...] = ()
    resolves = dns_verdict(tuple(decisions)) is not Verdict.DENIED
    if resolves and tcp and verdict_of(tcp) is not Verdict.ALLOWED:
        notes = (
            "53/TCP to kube-dns is denied: answers too large for UDP (truncated) fail, "
            "short ones resolve (lint NF113)",
        )
    return Step(StepKind.DNS, title, tuple(decisions), notes)


def _connect_step(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    sources: list[Endpoint],
    destination: Target,
    port: int | str | None,
    protocol: Protocol | None,
) -> Step:
    pairs, notes = _destination_ports(destination, port, protocol)
    name = destination.dns_name if destination.kind is TargetKind.EXTERNAL else None
    decisions = tuple(
        evaluate(compiled, cluster, _connection(src, dst_pod, number, proto, destination.ip, name))
        for src in sources
        for dst_pod, number, proto in pairs
    )
    loopback = sum(1 for d in decisions if is_loopback(d))
    if 0 < loopback < len(decisions):
        notes.append(
            f"{loopback} connection(s) of a pod to itself: always allowed (loopback), "
            "not counted in the verdict"
        )
    return Step(StepKind.CONNECT, destination.format(), decisions, tuple(notes))


def _connection(
    src: Endpoint,
    dst: Pod | None,
    port: int,
    protocol: Protocol,
    external_ip: IPAddress | None = None,
    external_name: str | None = None,
) -> Connection:
    """To a pod: by the one rule of engine/connections.py (the destination's
    primary family), unless the user gave the source's address, whose family then
    decides. To an outside address ``external_ip`` (made to ``external_name`` when
    the user named it, ``--resolve NAME=IP``): from the source's address of its
    family."""
    if dst is None:
        ip = src.ip
        if ip is None and src.pod is not None and external_ip is not None:
            ip = src.pod.ip_of_version(external_ip.version) or _first_ip(src.pod)
        return Connection(
            Endpoint(ip, src.pod), Endpoint(external_ip, None, external_name), port, protocol
        )
    if src.pod is not None and src.ip is None:
        return pod_connection(src.pod, dst, port, protocol)
    version = src.ip.version if src.ip is not None else 4
    dst_ip = dst.ip_of_version(version) or _first_ip(dst)
    return Connection(src, Endpoint(dst_ip, dst), port, protocol)


def _ips(service: Service) -> str:
    return ",".join(str(ip) for ip in service.cluster_ips) or "no ClusterIP"


DestinationPort = tuple[Pod | None, int, Protocol]


def _destination_ports(
    destination: Target, port: int | str | None, protocol: Protocol | None
) -> tuple[list[DestinationPort], list[str]]:
    if destination.kind is TargetKind.SERVICE:
        assert destination.service is not None
        return _service_ports(destination.service, destination.pods, port, protocol)
    if destination.kind is TargetKind.EXTERNAL:
        if not isinstance(port, int):
            raise TargetError(f"{destination.text!r} is outside the cluster: give a numeric --port")
        return [(None, port, protocol or Protocol.TCP)], []
    return _pod_ports(destination, port, protocol), []


def _pod_ports(
    destination: Target, port: int | str | None, protocol: Protocol | None
) -> list[DestinationPort]:
    if isinstance(port, int):
        return [(p, port, protocol or Protocol.TCP) for p in destination.pods]
    pairs: list[DestinationPort] = []
    for pod in destination.pods:
        for declared in pod.ports:
            if (port is None or declared.name == port) and protocol in (None, declared.protocol):
                pairs.append((pod, declared.port, declared.protocol))
    if not pairs:
        what = f"a port named {port!r}" if port is not None else "any container port"
        proto = f" with protocol {protocol.value}" if protocol else ""
        raise TargetError(f"{destination.text!r}: no pod declares {what}{proto}; give --port")
    return pairs


def _service_ports(
    service: Service, backends: tuple[Pod, ...], port: int | str | None, protocol: Protocol | None
) -> tuple[list[DestinationPort], list[str]]:
    chosen = [
        sp
        for sp in service.ports
        if (port is None or sp.port == port or sp.name == port) and protocol in (None, sp.protocol)
    ]
    if not chosen:
        have = ", ".join(f"{sp.port}/{sp.protocol.value}" for sp in service.ports) or "none"
        wanted = f"{port or ''}{'/' + protocol.value if protocol else ''}"
        raise TargetError(f"service {service.key} has no port {wanted} (its ports: {have})")
    if not backends:
        return [], [f"service {service.key} has no backend pods (no pod matches its selector)"]
    pairs: list[DestinationPort] = []
    notes: list[str] = []
    for sp in chosen:
        for backend, target in _service_backends(service, backends, sp.port, sp.protocol):
            pairs.append((backend, target, sp.protocol))
        for backend in backends:
            if sp.target_on(backend) is None:
                notes.append(
                    f"{backend.key} declares no port named {sp.target_port!r} "
                    f"({sp.protocol.value}): not an endpoint of {service.key}:{sp.port}"
                )
    return pairs, notes


def _service_backends(
    service: Service, backends: tuple[Pod, ...], port: int, protocol: Protocol
) -> list[tuple[Pod, int]]:
    """Each backend with the targetPort that ``port`` maps to on it. API reference
    (ServicePort.targetPort): "Number or name of the port to access on the pods
    targeted by the service. [...] If this is a string, it will be looked up as a
    named port in the target Pod's container ports."
    """
    out: list[tuple[Pod, int]] = []
    for sp in service.ports:
        if sp.port != port or sp.protocol is not protocol:
            continue
        for backend in backends:
            target = sp.target_on(backend)  # sp.protocol is protocol
            if target is not None:
                out.append((backend, target))
    return out
