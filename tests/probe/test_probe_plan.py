"""probe/: plans from the engine and their comparison, pure (the engine runner;
no lab). Generated clusters: the synth generator at small sizes and the
differential test's random policies."""

from __future__ import annotations

import random
from dataclasses import replace
from functools import cache

import pytest
from bench.synth import generate
from tests.lab.test_lab_differential import (
    FAMILIES,
    PODS,
    cluster_objects,
    documents,
    random_policies,
    service_objects,
    tiered_scenario,
)

from netfence.analysis.expectations import run_expectations
from netfence.analysis.scale.tiers import tier_port_specs
from netfence.compile import compile_policies
from netfence.engine.evaluate import evaluate
from netfence.errors import InvalidInputError
from netfence.model.cluster import Cluster
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint
from netfence.parse import build_cluster
from netfence.parse.expectations import parse_expectations
from netfence.probe.compare import (
    Agreement,
    Observation,
    compare,
    compare_expectations,
)
from netfence.probe.plan import address_plan, expectation_plan, pair_plan, unnamed_port
from netfence.probe.runners import EngineRunner


def scenario(seed: int) -> Cluster:
    policies = tiered_scenario(seed) if seed % 3 == 0 else random_policies(random.Random(seed))
    built = build_cluster(documents([*cluster_objects(), *service_objects(), *policies]))
    return built.cluster


@cache
def synth(seed: int) -> Cluster:
    return build_cluster(documents(generate(40, 8, seed, cluster_policies=2))).cluster


@pytest.mark.parametrize("seed", range(12))
def test_pair_plan_is_the_engine_on_every_pair_family_and_port(seed: int) -> None:
    """Every ordered pair of distinct pods, each family both have, each port
    given: one job each, whose verdict is the engine's on that connection."""
    cluster = scenario(seed)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    ports = [(80, Protocol.TCP), (82, Protocol.UDP), (83, Protocol.SCTP)]
    jobs = pair_plan(compiled, cluster, pods=PODS, ports=ports, families=FAMILIES)
    pods = {p.key: p for p in cluster.pods}
    wanted = {
        (s, d, port, proto, fam) for s in PODS for d in PODS if s != d
        for port, proto in ports for fam in FAMILIES
    }  # fmt: skip
    assert {(j.source, j.destination, j.port, j.protocol, j.family) for j in jobs} == wanted
    assert len(jobs) == len(wanted)
    for job in jobs:
        src, dst = pods[job.source], pods[job.destination]
        conn = Connection(
            Endpoint(src.ip_of_version(job.family), src),
            Endpoint(dst.ip_of_version(job.family), dst),
            job.port,
            job.protocol,
        )
        assert job.expected == evaluate(compiled, cluster, conn).allowed == job.decision.allowed
        assert str(job.decision.connection.dst.ip) == job.destination_ip


@pytest.mark.parametrize("seed", range(3))
def test_port_classes_are_the_declared_ports_and_one_no_policy_names(seed: int) -> None:
    cluster = synth(seed)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    unnamed = unnamed_port(compiled, cluster)
    assert unnamed is not None
    written = [  # the NetworkPolicy ports as written: a number, a range, or none (all)
        m.port
        for c in compiled.policies
        for rules in (c.ingress, c.egress)
        for rule in rules
        for m in rule.ports or ()
    ]
    specs = [
        (p.protocol, 1, 65535) if p.port is None else (p.protocol, p.port, p.end_port or p.port)
        for p in written
        if not isinstance(p.port, str)
    ] + tier_port_specs(compiled.tiers)
    numeric = [s for s in specs if len(s) == 3 and s[0] is Protocol.TCP and s[1:] != (1, 65535)]
    assert numeric, "the generated policies name TCP ports"
    assert not any(first <= unnamed <= last for _, first, last in numeric)
    assert all(unnamed != p.port for pod in cluster.pods for p in pod.ports)
    jobs = pair_plan(compiled, cluster)
    by_destination: dict[str, set[tuple[int, Protocol]]] = {}
    for job in jobs:
        by_destination.setdefault(job.destination, set()).add((job.port, job.protocol))
    for pod in cluster.pods:
        if pod.key in by_destination:
            declared = {(p.port, p.protocol) for p in pod.ports}
            assert by_destination[pod.key] == declared | {(unnamed, Protocol.TCP)}


def test_the_unnamed_port_moves_past_ranges_and_declared_ports() -> None:
    """A rule naming 1024-2000 and a pod declaring 2001: the first port no policy
    names is 2002; a rule with no ports names none."""
    objects = [
        *cluster_objects(),
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "d", "namespace": "x"},
         "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 2001}]}]},
         "status": {"podIP": "10.244.0.14"}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
         "metadata": {"name": "p", "namespace": "x"},
         "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 1024, "endPort": 2000}]}, {}]}},
    ]  # fmt: skip
    cluster = build_cluster(documents(objects)).cluster
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    assert unnamed_port(compiled, cluster) == 2002


@pytest.mark.parametrize("seed", range(3))
def test_engine_runner_agrees_and_compare_classifies_every_flip(seed: int) -> None:
    """The engine runner (the engine again) agrees with every planned job; flipping
    observations gives exactly the two kinds of difference, and a not-probed
    observation is neither a match nor a difference."""
    cluster = synth(seed)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    jobs = pair_plan(compiled, cluster)
    seen = EngineRunner(compiled, cluster).run(jobs)
    report = compare(jobs, seen)
    assert report.counts()[Agreement.MATCH] == len(jobs) and not report.differences
    rng = random.Random(seed)
    flipped = {i for i in range(len(jobs)) if rng.random() < 0.1}
    hidden = {i for i in range(len(jobs)) if rng.random() < 0.05} - flipped
    changed = [
        Observation.not_probed("hidden")
        if i in hidden
        else Observation(not o.reached)
        if i in flipped
        else o
        for i, o in enumerate(seen)
    ]
    report = compare(jobs, changed)
    counts = report.counts()
    allowed = sum(1 for i in flipped if jobs[i].expected)
    assert counts[Agreement.EXPECTED_ALLOWED_PACKETS_DENIED] == allowed
    assert counts[Agreement.EXPECTED_DENIED_PACKETS_PASSED] == len(flipped) - allowed
    assert counts[Agreement.NOT_PROBED] == len(hidden)
    assert report.why_not_probed() == ({"hidden": len(hidden)} if hidden else {})
    assert {c.job for c in report.differences} == {jobs[i] for i in flipped}


def test_address_plan_goes_from_each_pod_by_the_family_of_the_address() -> None:
    import ipaddress

    cluster = scenario(1)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    outside = [
        (ipaddress.ip_address("203.0.113.10"), 80, Protocol.TCP),
        (ipaddress.ip_address("2001:db8::10"), 80, Protocol.TCP),
    ]
    jobs = address_plan(compiled, cluster, outside, pods=PODS)
    assert len(jobs) == 2 * len(PODS)
    for job in jobs:
        assert job.destination == job.destination_ip
        assert job.decision.connection.src.ip is not None
        assert job.decision.connection.src.ip.version == job.family
        assert job.expected == evaluate(compiled, cluster, job.decision.connection).allowed


def expectations_for(cluster: Cluster, rng: random.Random) -> list[object]:
    """Generated expectations: pods, workloads of several pods, the Service web.x by
    name (a DNS lookup step) and by ClusterIP, each port form."""
    ends = ["x/a", "x/b", "y/c", "y/pod/a", "x/service/web", "web.x", "172.20.0.50"]
    ports: list[object] = [80, 81, 82, "web", "dgram", None]
    out = []
    for _ in range(30):
        port = rng.choice(ports)
        entry = {
            "from": rng.choice(ends[:4]),
            "to": rng.choice(ends),
            "allowed": rng.random() < 0.5,
        }
        if port is not None:
            entry["port"] = port
        if port in (82, "dgram"):
            entry["protocol"] = "UDP"
        out.append(entry)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_observed_verdicts_from_the_engine_equal_the_engine_verdicts(seed: int) -> None:
    """The observed verdict of an expectation (all, none or some of its jobs; the
    name lookup by its UDP queries) equals CheckReport.verdict when the engine
    answers the jobs: the slow, obvious oracle for the aggregation."""
    cluster = scenario(seed)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    raw = expectations_for(cluster, random.Random(seed))
    results = []
    for item in parse_expectations(raw, "generated.yaml"):
        try:
            results += run_expectations(compiled, cluster, [item])
        except InvalidInputError:  # a port the destination does not declare
            continue
    planned = expectation_plan(results)
    jobs = [j for p in planned for j in p.jobs]
    outcomes = compare_expectations(planned, EngineRunner(compiled, cluster).run(jobs))
    assert len(outcomes) == len(results) >= 10
    for outcome in outcomes:
        assert outcome.observed is outcome.result.report.verdict
        assert outcome.ok == outcome.result.ok
    some = next(i for i, p in enumerate(planned) if p.jobs)
    hidden = [Observation(True)] * len(jobs)
    at = sum(len(p.jobs) for p in planned[:some])
    hidden[at] = Observation.not_probed("no namespace")
    outcomes = compare_expectations(planned, hidden)
    assert outcomes[some].observed is None and not outcomes[some].ok
    assert outcomes[some].why_not == ("no namespace",)


def test_a_job_can_carry_another_oracle() -> None:
    """A conformance table as the expected answer: compare reads ``expected``."""
    cluster = scenario(2)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    jobs = pair_plan(compiled, cluster, pods=PODS, ports=[(80, Protocol.TCP)])
    other = [replace(j, expected=not j.expected) for j in jobs]
    report = compare(other, EngineRunner(compiled, cluster).run(other))
    assert len(report.differences) == len(jobs)


def test_a_plan_past_its_bound_is_refused_before_it_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from netfence.errors import TargetError
    from netfence.probe import plan

    cluster = scenario(0)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    count = len(pair_plan(compiled, cluster, pods=PODS))
    monkeypatch.setattr(plan, "MAX_JOBS", count)
    assert len(pair_plan(compiled, cluster, pods=PODS)) == count  # at the bound: built
    monkeypatch.setattr(plan, "MAX_JOBS", count - 1)
    with pytest.raises(TargetError, match=f"{count} probes planned, more than {count - 1}"):
        pair_plan(compiled, cluster, pods=PODS)
