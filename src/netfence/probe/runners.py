"""Runners answer probe jobs: the engine itself (simulated), or the lab's real
packets (a batch prober in each source pod's network namespace, every source at
once). A runner returns one Observation per job, in order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol as TypingProtocol

from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.evaluate import evaluate
from netfence.errors import EnvironmentProblem
from netfence.io import netns as io
from netfence.lab import lab
from netfence.lab.plan import LabPlan, ServerKind, ServerSpec
from netfence.model.cluster import Cluster
from netfence.model.ports import Protocol
from netfence.probe.compare import Observation
from netfence.probe.plan import Job

PROBE_TIMEOUT = 0.7  # seconds per probe; a source's probes run in parallel
BATCH_TIMEOUT = 60.0
BATCH = 512  # probes per prober process (a thread and a socket each)


class Runner(TypingProtocol):
    def run(self, jobs: Sequence[Job]) -> tuple[Observation, ...]: ...


class EngineRunner:
    """Simulated: each job's connection evaluated again by the engine."""

    def __init__(self, compiled: CompiledPolicySet, cluster: Cluster) -> None:
        self.compiled, self.cluster = compiled, cluster

    def run(self, jobs: Sequence[Job]) -> tuple[Observation, ...]:
        return tuple(
            Observation(evaluate(self.compiled, self.cluster, j.decision.connection).allowed)
            for j in jobs
        )


_KINDS: dict[Protocol, tuple[ServerKind, ...]] = {
    Protocol.TCP: (ServerKind.HTTP, ServerKind.TCP, ServerKind.DNS),
    Protocol.UDP: (ServerKind.UDP, ServerKind.DNS),
    Protocol.SCTP: (ServerKind.SCTP,),
}


class LabRunner:
    """Real packets in the running lab: one prober process per source (its pod's
    network namespace, or the external host), all sources at once. A job whose
    ends the lab does not have is not probed, nor a UDP or SCTP port no lab server
    answers (silence would look denied whatever the policies say); a TCP port
    without a server is probed by its reset."""

    def __init__(
        self,
        lab_dir: Path,
        plan: LabPlan,
        *,
        timeout: float = PROBE_TIMEOUT,
        retries: int = 1,
        runner: io.Runner | None = None,
    ) -> None:
        self.lab_dir, self.plan, self.timeout, self.retries = lab_dir, plan, timeout, retries
        self.runner = runner or io.SubprocessRunner()

    def run(self, jobs: Sequence[Job]) -> tuple[Observation, ...]:
        """Each job probed once; a job expected to pass that did not is probed again
        (``retries`` times): a probe can be lost under load, a pass proves itself,
        and a real denial denies again."""
        placed = [self._place(j) for j in jobs]
        probed = [(j, w) for j, w in zip(jobs, placed, strict=True) if isinstance(w, tuple)]
        if any(j.fresh for j, _ in probed):
            self.forget_connections()
        seen = self._probe(_batches(w for _, w in probed))
        for _ in range(self.retries):
            again = [w for j, w in probed if j.expected and not seen[w[0]][w[1]]]
            if not again:
                break
            for source, found in self._probe(_batches(again)).items():
                seen[source].update({spec: ok for spec, ok in found.items() if ok})
        return tuple(Observation(seen[w[0]][w[1]]) if isinstance(w, tuple) else w for w in placed)

    def forget_connections(self) -> None:
        """Established connections stay allowed by design (``ct state established
        accept``): jobs about new connections need the nodes to forget them; a
        flush that fails (no ``conntrack``) is the environment's problem."""
        for node in self.plan.nodes:
            for family in ("ipv4", "ipv6"):
                argv = ["conntrack", "-F", "-f", family]
                self.runner.run(lab.exec_argv(self.lab_dir, self.plan, f"node:{node.name}", argv))

    def _probe(self, batches: dict[str, list[str]]) -> dict[str, dict[str, bool]]:
        def one(source: str) -> tuple[str, dict[str, bool]]:
            found: dict[str, bool] = {}
            specs = batches[source]
            for at in range(0, len(specs), BATCH):  # threads and sockets per prober, bounded
                found |= self._prober(source, specs[at : at + BATCH])
            return source, found

        if not batches:
            return {}
        with ThreadPoolExecutor(max_workers=len(batches)) as pool:
            return dict(pool.map(one, batches))

    def _prober(self, source: str, specs: Sequence[str]) -> dict[str, bool]:
        probe = lab.python_argv(
            "netfence.lab.probe", "--timeout", str(self.timeout), *specs, lab_dir=self.lab_dir
        )
        done = self.runner.run(
            lab.exec_argv(self.lab_dir, self.plan, source, probe), timeout=BATCH_TIMEOUT
        )
        try:
            found = json.loads(done.stdout)
        except ValueError:
            said = done.stderr.strip()[:500] or "no output"
            raise EnvironmentProblem(f"probe from {source}: no result ({said})") from None
        return {str(k): bool(v) for k, v in found.items()}

    def _place(self, job: Job) -> tuple[str, str] | Observation:
        """(the lab target to probe from, the prober's spec), or why not probed."""
        source = self._source(job)
        if isinstance(source, Observation):
            return source
        servers = self._servers(job)
        if isinstance(servers, Observation):
            return servers
        kind = _probe_kind(job, servers)
        if kind is None:
            return Observation.not_probed(
                f"the lab serves nothing on {job.port}/{job.protocol.value} of {job.destination}"
            )
        host = f"[{job.destination_ip}]" if job.family == 6 else job.destination_ip
        return source, f"{kind}:{host}:{job.port}"

    def _source(self, job: Job) -> str | Observation:
        ext = self.plan.external
        if job.source_ip is not None and job.source_ip in (ext.address, ext.address6):
            return "external"
        pod = self.plan.pod(job.source)
        if pod is None:
            return Observation.not_probed(_absent(job.source))
        if job.source_ip not in (pod.ip, pod.ip6):
            return Observation.not_probed(f"the lab gives {job.source} no address {job.source_ip}")
        return pod.key

    def _servers(self, job: Job) -> tuple[ServerSpec, ...] | Observation:
        ext = self.plan.external
        if job.destination_ip is not None and job.destination_ip in (ext.address, ext.address6):
            return ext.servers
        pod = self.plan.pod(job.destination)
        if pod is None:
            return Observation.not_probed(_absent(job.destination))
        if job.destination_ip is None or job.destination_ip not in (pod.ip, pod.ip6):
            return Observation.not_probed(
                f"the lab gives {job.destination} no address {job.destination_ip}"
            )
        return pod.servers


def _batches(placed: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """The prober specs of each source, each once."""
    batches: dict[str, list[str]] = {}
    for source, spec in placed:
        batches.setdefault(source, []).append(spec)
    return {source: list(dict.fromkeys(specs)) for source, specs in batches.items()}


def _probe_kind(job: Job, servers: Sequence[ServerSpec]) -> str | None:
    """The prober's kind for the job: the server's protocol (``dns`` for the lab DNS
    over UDP); a TCP port nothing listens on is still probed (``tcp-any``: reached
    when the destination's kernel refuses it); other ports without a server, None."""
    kinds = [s.kind for s in servers if s.port == job.port and s.kind in _KINDS[job.protocol]]
    if not kinds:
        return "tcp-any" if job.protocol is Protocol.TCP else None
    if job.protocol is Protocol.UDP and kinds[0] is ServerKind.DNS:
        return "dns"
    return job.protocol.value.lower()


def _absent(end: str) -> str:
    if "/" in end:
        return f"{end} has no network namespace in the lab (hostNetwork, or not in the lab)"
    return f"no lab namespace has the address {end} (only the pods and the external host)"
