"""The upstream network-policy-api conformance corpus (tests/corpus/npa_conformance)
through the lab: real node agents enforce each chosen case's policies (v0.1.8
AdminNetworkPolicy / BaselineAdminNetworkPolicy, v0.2.0 ClusterNetworkPolicy,
with NetworkPolicies where the case has them), every pod probes every other pod
on each of the case's probes (protocol, port, address family) with real sockets,
and the whole table must be the case's expected one.

A subset (every tenth case, so both releases, both tiers, Accept/Deny/Pass, TCP,
UDP, SCTP and named ports are in it; and the cases where Pass hands over to a
NetworkPolicy or to Baseline, and priorities): the
engine and the scale analysis run every case. The two hostNetwork pods
(``centaur-*``) get no network namespace in the lab (the node is theirs), so their
rows and columns are not probed here; they only differ from the other cells by
the node's own traffic, which no forward chain sees. The lab serves on each pod
every port some probe of the corpus uses (unnamed container ports added where the
model has none: named ports keep their meaning)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.corpus.test_npa_conformance_corpus import (
    ALLOWED,
    DENIED,
    PODS,
    Probe,
    model_documents,
    numbered,
    probes_of,
)
from tests.lab.test_lab_differential import documents
from tests.lab.test_lab_real import REASON, leftovers

from netfence.compile import compile_policies
from netfence.lab import enforce, lab
from netfence.lab.plan import LabPlan
from netfence.model.cluster import Cluster
from netfence.model.ports import Protocol
from netfence.parse import build_cluster
from netfence.probe.compare import ComparisonReport, compare
from netfence.probe.plan import Job, pair_plan
from netfence.probe.runners import LabRunner

pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
CASES = numbered()
# every tenth case, and the tiers' interplay: Pass to the NetworkPolicy tier and to
# Baseline, priorities (v0.1.8 and v0.2.0)
CHOSEN = sorted({*sorted(CASES)[::10], 52, 55, 58, 153, 154, 157})
IN_LAB = tuple(p for p in PODS if not p.startswith("centaur"))


def probed_ports() -> list[tuple[str, int]]:
    return sorted({(p.protocol, p.port) for case in CASES.values() for p in probes_of(case)})


def lab_objects() -> list[dict[str, Any]]:
    """The model without its Nodes and hostNetwork pods, every pod serving every
    probed port."""
    wanted = probed_ports()
    objects = []
    for doc in model_documents():
        if doc["kind"] == "Node" or doc.get("spec", {}).get("hostNetwork"):
            continue
        if doc["kind"] == "Pod":
            containers = doc["spec"]["containers"]
            have = {
                (port.get("protocol", "TCP"), port["containerPort"])
                for c in containers
                for port in c.get("ports") or ()
            }
            extra = [
                {"containerPort": port, "protocol": protocol}
                for protocol, port in wanted
                if (protocol, port) not in have
            ]
            containers.append({"name": "lab-probed", "ports": extra})
        objects.append(doc)
    return objects


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LabPlan, Cluster]]:
    lab_dir = tmp_path_factory.mktemp("conformance") / "lab"
    built = build_cluster(documents(lab_objects()))
    assert not built.errors, [d.format() for d in built.errors]
    plan = lab.up(built.cluster, lab_dir)
    try:
        enforce.start(built.cluster, plan, (), lab_dir)
        yield lab_dir, plan, built.cluster
    finally:
        lab.down(lab_dir)
        assert not leftovers(lab_dir, plan.lab_id)


def case_jobs(cluster: Cluster, probes: list[Probe]) -> dict[tuple[int, str, str], Job]:
    """Each probe between every two lab pods, planned from the engine (the case's
    policies in ``cluster``) with the case's table as the expected answer; keyed by
    (probe index, source, destination)."""
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    keys = [p.key for p in cluster.pods if p.name in IN_LAB]
    jobs = {}
    for i, probe in enumerate(probes):
        port = [(probe.port, Protocol(probe.protocol))]
        for job in pair_plan(compiled, cluster, pods=keys, ports=port, families=[probe.family]):
            src, dst = job.source.split("/")[1], job.destination.split("/")[1]
            cell = probe.table[src][PODS.index(dst)]
            jobs[(i, src, dst)] = replace(job, expected=cell == ALLOWED)
    return jobs


def observed_tables(
    probes: list[Probe], keys: list[tuple[int, str, str]], report: ComparisonReport
) -> list[dict[str, str]]:
    """For each probe, its table over the lab's pods from real packets (rows and
    columns in PODS order, the pod itself '.')."""
    seen = {key: c.observation.reached for key, c in zip(keys, report.comparisons, strict=True)}
    return [
        {
            src: "".join(ALLOWED if src == dst or seen[(i, src, dst)] else DENIED for dst in IN_LAB)
            for src in IN_LAB
        }
        for i in range(len(probes))
    ]


def expected_in_lab(probe: Probe) -> dict[str, str]:
    """The case's table without the hostNetwork pods' rows and columns."""
    columns = [PODS.index(p) for p in IN_LAB]
    return {src: "".join(probe.table[src][i] for i in columns) for src in IN_LAB}


@pytest.mark.parametrize("number", CHOSEN, ids=[CASES[n]["name"] for n in CHOSEN])
def test_conformance_case_in_the_lab(running: tuple[Path, LabPlan, Cluster], number: int) -> None:
    lab_dir, plan, _ = running
    case = CASES[number]
    enforce.replace_all(documents(case["policies"]), plan, lab_dir)
    cluster = build_cluster(documents([*lab_objects(), *case["policies"]])).cluster
    probes = probes_of(case)
    jobs = case_jobs(cluster, probes)
    report = compare(list(jobs.values()), LabRunner(lab_dir, plan).run(list(jobs.values())))
    assert not report.not_probed, report.why_not_probed()
    assert len(jobs) == len(probes) * len(IN_LAB) * (len(IN_LAB) - 1)
    wrong = []
    for probe, actual in zip(probes, observed_tables(probes, list(jobs), report), strict=True):
        expected = expected_in_lab(probe)
        if actual != expected:
            rows = [f"  {s:<17} {expected[s]} {actual[s]}" for s in IN_LAB]
            wrong.append(f"{probe.label()} (expected, real packets):\n" + "\n".join(rows))
    assert not wrong, f"case {number} {case['name']}:\n" + "\n".join(wrong)
