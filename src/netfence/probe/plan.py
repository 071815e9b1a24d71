"""Probe jobs planned from the engine. Pure: no I/O.

A job is one connection to try (source, destination, port, protocol, address
family) with the engine's verdict and its explanation (the Decision: the deciding
tier, policy and rule, as data). Plans come from every pod pair and the port
classes each destination serves (``pair_plan``), or from the checks of a
``netfence test`` expectations file (``expectation_plan``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netfence.analysis.expectations import ExpectationResult
from netfence.analysis.scale.ports import MAX_PORT
from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.check import StepKind, is_loopback
from netfence.engine.decision import Decision
from netfence.engine.evaluate import evaluate
from netfence.errors import TargetError
from netfence.model.cluster import Cluster, Pod
from netfence.model.policy import IPAddress
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint

FAMILIES = (4, 6)
FIRST_UNNAMED = 1024  # the port no policy names is looked for from here up
MAX_JOBS = 200_000  # a plan's bound: each job holds the engine's Decision


@dataclass(frozen=True, slots=True)
class Job:
    """One connection to try. ``source``/``destination``: a pod key (``ns/name``) or,
    outside the pods, the address itself. ``expected`` is what the job should
    observe: the engine's verdict (``decision.allowed``) unless the plan was given
    another oracle (a conformance table). ``dns``: a name lookup (a DNS query must
    be answered), not a plain connection. ``fresh``: about new connections only
    (the runner makes the dataplane forget established ones first)."""

    source: str
    destination: str
    source_ip: str | None
    destination_ip: str | None
    port: int
    protocol: Protocol
    family: int
    decision: Decision
    expected: bool
    fresh: bool = True

    def format(self) -> str:
        proto = self.protocol.value
        return f"{self.source} -> {self.destination} IPv{self.family} {self.port}/{proto}"


def job_of(decision: Decision, *, fresh: bool = True) -> Job:
    conn = decision.connection
    ip = conn.dst.ip or conn.src.ip
    return Job(
        source=conn.src.format(),
        destination=conn.dst.format(),
        source_ip=None if conn.src.ip is None else str(conn.src.ip),
        destination_ip=None if conn.dst.ip is None else str(conn.dst.ip),
        port=conn.port,
        protocol=conn.protocol,
        family=4 if ip is None else ip.version,
        decision=decision,
        expected=decision.allowed,
        fresh=fresh,
    )


# --- every pod pair ------------------------------------------------------------------------


def pair_plan(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    *,
    pods: Iterable[str] | None = None,
    ports: Sequence[tuple[int, Protocol]] | None = None,
    families: Sequence[int] = FAMILIES,
) -> tuple[Job, ...]:
    """Every ordered pair of distinct pods (``pods``: their keys, default every pod
    with an address), over each family both ends have, on ``ports`` or else each
    destination's port classes (``port_classes``)."""
    chosen = _pods(cluster, pods)
    unnamed = unnamed_port(compiled, cluster) if ports is None else None
    _bounded(
        (len(chosen) - 1)
        * len(families)
        * sum(len(ports if ports is not None else port_classes(p, unnamed)) for p in chosen)
    )
    jobs = []
    for dst in chosen:
        dst_ports = ports if ports is not None else port_classes(dst, unnamed)
        for src in chosen:
            if src is dst:
                continue
            for family in families:
                src_ip, dst_ip = src.ip_of_version(family), dst.ip_of_version(family)
                if src_ip is None or dst_ip is None:
                    continue
                for port, protocol in dst_ports:
                    conn = Connection(Endpoint(src_ip, src), Endpoint(dst_ip, dst), port, protocol)
                    jobs.append(job_of(evaluate(compiled, cluster, conn)))
    return tuple(jobs)


def address_plan(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    addresses: Sequence[tuple[IPAddress, int, Protocol]],
    *,
    pods: Iterable[str] | None = None,
) -> tuple[Job, ...]:
    """Every pod (``pods``: their keys, default every pod with an address) to each
    outside address (address, port, protocol), from its address of that family."""
    jobs = []
    for src in _pods(cluster, pods):
        for ip, port, protocol in addresses:
            src_ip = src.ip_of_version(ip.version)
            if src_ip is not None:
                conn = Connection(Endpoint(src_ip, src), Endpoint(ip), port, protocol)
                jobs.append(job_of(evaluate(compiled, cluster, conn)))
    return tuple(jobs)


def _bounded(count: int) -> None:
    if count > MAX_JOBS:
        raise TargetError(
            f"{count} probes planned, more than {MAX_JOBS}: probe fewer pods or ports"
        )


def _pods(cluster: Cluster, keys: Iterable[str] | None) -> list[Pod]:
    if keys is None:
        return [p for p in cluster.pods if p.ips]
    wanted = set(keys)
    return [p for p in cluster.pods if p.key in wanted]


def port_classes(pod: Pod, unnamed: int | None) -> list[tuple[int, Protocol]]:
    """A representative port of each class the destination has: each declared
    container port (named or not; a named port is its own class), then one TCP
    port that no policy names (``unnamed``)."""
    declared = list(dict.fromkeys((p.port, p.protocol) for p in pod.ports))
    if unnamed is not None and (unnamed, Protocol.TCP) not in declared:
        declared.append((unnamed, Protocol.TCP))
    return declared


def unnamed_port(compiled: CompiledPolicySet, cluster: Cluster) -> int | None:
    """The lowest TCP port from 1024 up that no rule's port or range names and no
    pod declares (a rule without ports applies to every port alike, so it names
    none); None if there is no such port."""
    taken = sorted(
        (first, last)
        for protocol, first, last in _numeric_specs(compiled)
        if protocol is Protocol.TCP and (first, last) != (1, MAX_PORT)
    )
    declared = {p.port for pod in cluster.pods for p in pod.ports if p.protocol is Protocol.TCP}
    port = FIRST_UNNAMED
    while port <= MAX_PORT:
        inside = next((last for first, last in taken if first <= port <= last), None)
        if inside is not None:
            port = inside + 1
        elif port in declared:
            port += 1
        else:
            return port
    return None


def _numeric_specs(compiled: CompiledPolicySet) -> list[tuple[Protocol, int, int]]:
    # imported here: the scale analysis brings numpy, which only this needs
    from netfence.analysis.scale.backend import all_port_specs
    from netfence.analysis.scale.tiers import tier_port_specs

    specs = [
        *tier_port_specs(compiled.tiers),
        *all_port_specs(
            m.selection
            for c in compiled.policies
            for rules in (c.ingress, c.egress)
            for rule in rules
            for m in rule.ports or ()
        ),
    ]
    return [s for s in specs if len(s) == 3]


# --- an expectations file ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectationJobs:
    """The jobs of one expectation: its result from the engine, and one job per
    decision of each step (a DNS lookup step too). A pod reaching
    itself is not a job: it is always allowed (loopback), the engine does not count
    it either."""

    result: ExpectationResult
    steps: tuple[tuple[StepKind, tuple[Job, ...]], ...]

    @property
    def jobs(self) -> tuple[Job, ...]:
        return tuple(j for _, jobs in self.steps for j in jobs)


def expectation_plan(results: Sequence[ExpectationResult]) -> tuple[ExpectationJobs, ...]:
    return tuple(
        ExpectationJobs(
            r,
            tuple(
                (
                    step.kind,
                    tuple(job_of(d) for d in step.decisions if not is_loopback(d)),
                )
                for step in r.report.steps
            ),
        )
        for r in results
    )
