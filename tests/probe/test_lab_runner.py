"""The lab runner without root: the lab brought up through the recording runner,
each prober command answered by the engine for what its spec means (source
namespace, kind, address, port). Every job the lab can probe then matches, and
exactly the ones it cannot are not probed, each with its reason."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest
from tests.lab.test_lab_differential import cluster_objects, documents, service_objects
from tests.lab.test_lab_fake_runner import FakeHost

from netfence.compile import compile_policies
from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.evaluate import evaluate
from netfence.io.netns import Completed, RecordingRunner
from netfence.lab import lab
from netfence.lab.plan import LabPlan
from netfence.lab.probe import parse_spec
from netfence.model.cluster import Cluster
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint
from netfence.parse import build_cluster
from netfence.probe.compare import Agreement, compare
from netfence.probe.plan import pair_plan
from netfence.probe.runners import LabRunner

KINDS = {"tcp": Protocol.TCP, "tcp-any": Protocol.TCP, "udp": Protocol.UDP,
         "dns": Protocol.UDP, "sctp": Protocol.SCTP}  # fmt: skip
HOST_POD = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "h", "namespace": "y"},
    "spec": {"hostNetwork": True, "containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
    "status": {"podIP": "10.244.0.99", "podIPs": [{"ip": "10.244.0.99"}]},
}  # fmt: skip
POLICY = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "p", "namespace": "x"},
    "spec": {"podSelector": {"matchLabels": {"app": "back"}},
             "ingress": [{"from": [{"podSelector": {"matchLabels": {"pod": "a"}}}],
                          "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}]},
}  # fmt: skip


class EngineInTheLab:
    """Answers ``python -m netfence.lab.probe`` in a lab namespace with the engine's
    verdict on the connection the spec describes; other commands succeed."""

    def __init__(self, plan: LabPlan, cluster: Cluster, compiled: CompiledPolicySet) -> None:
        self.plan, self.cluster, self.compiled = plan, cluster, compiled
        self.probers: list[tuple[str, tuple[str, ...]]] = []

    def __call__(self, argv: tuple[str, ...], stdin: str | None) -> Completed | None:
        if "netfence.lab.probe" not in argv:
            return None
        netns = argv[3]
        specs = argv[argv.index("--timeout") + 2 :]
        self.probers.append((netns, specs))
        pod = next(p for p in self.plan.pods if p.netns == netns)
        source = next(p for p in self.cluster.pods if p.key == pod.key)
        answers = {spec: self.answer(source, *parse_spec(spec)) for spec in specs}
        return Completed(argv, 0, json.dumps(answers), "")

    def answer(self, source: object, kind: str, host: str, port: int) -> bool:
        ip = ipaddress.ip_address(host)
        dst = next((p for p in self.cluster.pods if ip in p.ips), None)
        assert dst is not None and source is not None
        src_ip = source.ip_of_version(ip.version)  # type: ignore[attr-defined]
        conn = Connection(Endpoint(src_ip, source), Endpoint(ip, dst), port, KINDS[kind])  # type: ignore[arg-type]
        return evaluate(self.compiled, self.cluster, conn).allowed


@pytest.fixture
def lab_and_cluster(tmp_path: Path) -> tuple[Path, LabPlan, Cluster]:
    objects = [*cluster_objects(), *service_objects(), HOST_POD, POLICY]
    cluster = build_cluster(documents(objects)).cluster
    lab_dir = tmp_path / "lab"
    plan = lab.up(cluster, lab_dir, runner=RecordingRunner(respond=FakeHost()), python="/py")
    return lab_dir, plan, cluster


def test_the_lab_runner_probes_what_the_lab_has_and_says_why_not_the_rest(
    lab_and_cluster: tuple[Path, LabPlan, Cluster],
) -> None:
    lab_dir, plan, cluster = lab_and_cluster
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    ports = [(80, Protocol.TCP), (9999, Protocol.TCP), (82, Protocol.UDP), (53, Protocol.UDP),
             (99, Protocol.UDP), (83, Protocol.SCTP)]  # fmt: skip
    jobs = pair_plan(compiled, cluster, ports=ports)
    answers = EngineInTheLab(plan, cluster, compiled)
    runner = RecordingRunner(respond=answers)
    report = compare(jobs, LabRunner(lab_dir, plan, runner=runner).run(jobs))
    declared = {p.key: {(d.port, d.protocol) for d in p.ports} for p in cluster.pods}
    for c in report.comparisons:
        job = c.job
        if "y/h" in (job.source, job.destination):
            assert c.agreement is Agreement.NOT_PROBED
            assert "y/h has no network namespace in the lab" in c.observation.why_not
        elif (
            job.protocol is not Protocol.TCP
            and (job.port, job.protocol) not in declared[job.destination]
        ):  # no server answers it (a TCP port without one is probed by its reset)
            assert c.agreement is Agreement.NOT_PROBED
            proto = job.protocol.value
            assert c.observation.why_not.startswith(f"the lab serves nothing on {job.port}/{proto}")
        else:
            assert c.agreement is Agreement.MATCH, job.format()
    assert report.counts()[Agreement.MATCH] > 0 and {
        c.job.expected for c in report.comparisons
    } == {True, False}
    sources = {netns for netns, _ in answers.probers}
    assert sources == {p.netns for p in plan.pods}  # one prober per source, every pod
    assert len(answers.probers) == len(sources)
    kinds = {parse_spec(s)[0] for _, specs in answers.probers for s in specs}
    assert kinds == {"tcp", "tcp-any", "udp", "dns", "sctp"}
    flushes = [c.argv for c in runner.calls if "conntrack" in c.argv]
    assert len(flushes) == 2 * len(plan.nodes)
    assert runner.calls.index(next(c for c in runner.calls if "conntrack" in c.argv)) == 0


def test_a_pass_expected_but_not_seen_is_probed_once_more(
    lab_and_cluster: tuple[Path, LabPlan, Cluster],
) -> None:
    """The first answer of each prober is lost (all denied): the jobs the engine
    allows are probed again and then match; the denied ones are not retried."""
    lab_dir, plan, cluster = lab_and_cluster
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    jobs = pair_plan(compiled, cluster, pods=["x/a", "x/b", "y/a"], ports=[(80, Protocol.TCP)])
    engine = EngineInTheLab(plan, cluster, compiled)
    lost: set[str] = set()

    def first_lost(argv: tuple[str, ...], stdin: str | None) -> Completed | None:
        done = engine(argv, stdin)
        if done is None or argv[3] in lost:
            return done
        lost.add(argv[3])
        return Completed(argv, 0, json.dumps(dict.fromkeys(json.loads(done.stdout), False)), "")

    report = compare(
        jobs, LabRunner(lab_dir, plan, runner=RecordingRunner(respond=first_lost)).run(jobs)
    )
    assert report.counts()[Agreement.MATCH] == len(jobs)
    retried = [specs for _, specs in engine.probers[3:]]
    assert sum(len(s) for s in retried) == sum(1 for j in jobs if j.expected) > 0


def test_a_source_with_more_probes_than_a_batch_runs_several_probers(
    lab_and_cluster: tuple[Path, LabPlan, Cluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    from netfence.probe import runners

    monkeypatch.setattr(runners, "BATCH", 5)
    lab_dir, plan, cluster = lab_and_cluster
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    jobs = pair_plan(
        compiled, cluster, pods=["x/a", "x/b", "x/c", "y/a"], ports=[(80, Protocol.TCP)]
    )
    engine = EngineInTheLab(plan, cluster, compiled)
    report = compare(
        jobs, LabRunner(lab_dir, plan, runner=RecordingRunner(respond=engine)).run(jobs)
    )
    assert report.counts()[Agreement.MATCH] == len(jobs) == 4 * 3 * 2
    assert sorted(len(specs) for _, specs in engine.probers) == [1] * 4 + [5] * 4
