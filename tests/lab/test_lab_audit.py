"""Audit mode on real packets: the lab's agents record would-be denies (NFLOG read
by ulogd2) and never drop for audited or staged policies.

For a subset of the differential scenarios (tests/lab/test_lab_differential.py),
the policies are staged as candidates (or applied in audited namespaces); every
pod probes every other pod (TCP/UDP/SCTP, IPv4 and IPv6) and then:

- every probe succeeds: audit mode never drops;
- the would-be denies recorded are exactly the (probe, direction) pairs the
  engine denies, and each record's attribution (tier, outcome, policies, rule, or
  "no rule matched" and the isolating policies) equals the engine's explanation of
  that direction (``analysis.flows_record.direction_record``);
- the records read back through ``parse/flows`` as would-be denies.

And the rate limit holds and is said: a flood past it is recorded up to the
limit, and the rest is counted in gap records, exactly.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.lab.test_lab_differential import (
    PODS,
    PROBES,
    Probe,
    cluster_objects,
    documents,
    planned,
    random_policies,
    service_objects,
    tiered_scenario,
)
from tests.lab.test_lab_real import REASON, leftovers, processes_naming

from netfence.analysis.flows_record import direction_record
from netfence.lab import enforce, lab
from netfence.lab.lab import LabPaths
from netfence.lab.plan import LabPlan
from netfence.model.flows import LoggedVerdict
from netfence.parse import build_cluster
from netfence.parse.flows import read_flows
from netfence.probe.compare import compare
from netfence.probe.plan import Job
from netfence.probe.runners import LabRunner

pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
RATE = 1000  # would-be denies logged a second per node (burst twice that)
AUDITED_NAMESPACES = ("y",)
SCTP_PORT = next(port for kind, port, _ in PROBES if kind == "sctp")  # the only one probed

Running = tuple[Path, LabPlan]


Key = tuple[Probe, str]  # a probe and the direction that would deny it


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    lab_dir = tmp_path_factory.mktemp("audit") / "lab"
    cluster = build_cluster(documents([*cluster_objects(), *service_objects()])).cluster
    plan = lab.up(cluster, lab_dir)
    try:
        audit = enforce.LabAudit(namespaces=AUDITED_NAMESPACES, rate=RATE)
        enforce.start(cluster, plan, (), lab_dir, audit=audit)
        yield lab_dir, plan
    finally:
        lab.down(lab_dir)
        assert not leftovers(lab_dir, plan.lab_id)
        assert not processes_naming(f"{lab_dir}/"), "an agent (or its ulogd) outlived the lab"


def forget_connections(lab_dir: Path, plan: LabPlan) -> None:
    """Connections of the scenario before stay established (not logged again): the
    nodes forget them."""
    LabRunner(lab_dir, plan).forget_connections()


def logs(lab_dir: Path, plan: LabPlan) -> list[Path]:
    return [enforce.audit_log(LabPaths(lab_dir), n.name) for n in plan.nodes]


def sizes(lab_dir: Path, plan: LabPlan) -> dict[Path, int]:
    return {p: p.stat().st_size if p.exists() else 0 for p in logs(lab_dir, plan)}


def new_lines(before: dict[Path, int], settle: float = 1.5) -> list[str]:
    """The lines written since ``before``, once nothing more arrives for a while."""
    time.sleep(settle)
    lines: list[str] = []
    for path, offset in before.items():
        if path.exists():
            with path.open("rb") as f:
                f.seek(offset)
                lines.extend(f.read().decode().splitlines())
    return lines


def probe_key(job: Job) -> Probe:
    return (job.source, job.destination, job.protocol.value.lower(), job.port, job.family)


def engine_denies(jobs: Sequence[Job]) -> dict[Key, dict[str, Any]]:
    """(probe, direction) → the engine's explanation, for every direction that denies."""
    out: dict[Key, dict[str, Any]] = {}
    for job in jobs:
        for verdict in (job.decision.egress, job.decision.ingress):
            if not verdict.allowed:
                record = direction_record(verdict)
                out[(probe_key(job), record["direction"])] = record
    return out


def recorded(lines: list[str]) -> dict[Key, list[dict[str, Any]]]:
    found: dict[Key, list[dict[str, Any]]] = {}
    for line in lines:
        record = json.loads(line)
        if record["kind"] != "netfence.flow":
            continue
        assert (record["mode"], record["verdict"]) == ("audit", "denied"), record
        family = 6 if ":" in record["dst"]["ip"] else 4
        kind, port = record["protocol"].lower(), record["dst"]["port"]
        if (kind, family, port) == ("sctp", 6, 0):
            port = SCTP_PORT  # ulogd 2.0.8 does not decode SCTP ports over IPv6 (said)
        probe = (record["src"]["pod"], record["dst"]["pod"], kind, port, family)
        decided = record["decided_by"]
        assert decided is not None, f"a record without attribution: {record}"
        found.setdefault((probe, decided["direction"]), []).append(decided)
    return found


def check_audit(running: Running, policies: list[dict[str, Any]], staged: bool) -> None:
    """``staged``: the policies are candidates; else they are applied, in audited
    namespaces only."""
    lab_dir, plan = running
    if staged:
        enforce.replace_all((), plan, lab_dir)
        enforce.stage(documents(policies), plan, lab_dir)
    else:
        enforce.stage((), plan, lab_dir)
        enforce.replace_all(documents(policies), plan, lab_dir)
    cluster = build_cluster(documents([*cluster_objects(), *policies])).cluster
    jobs = planned(cluster)  # the differential test's jobs: each carries the engine's decision
    before = sizes(lab_dir, plan)
    # audit never drops: every job must pass, whatever the engine says of it
    report = compare([replace(j, expected=True) for j in jobs], LabRunner(lab_dir, plan).run(jobs))
    assert not report.not_probed, report.why_not_probed()
    blocked = sorted(c.job.format() for c in report.differences)
    assert not blocked, f"audit mode dropped {len(blocked)} probes: {blocked[:10]}"
    lines = new_lines(before)
    expected = engine_denies(jobs)
    found = recorded(lines)
    missing = sorted(str(k) for k in expected.keys() - found.keys())
    extra = sorted(str(k) for k in found.keys() - expected.keys())
    assert not missing and not extra, (
        f"policies {json.dumps(policies)}\nnot recorded: {missing}\nrecorded, not denied: {extra}"
    )
    wrong = [
        (key, expected[key], seen)
        for key, records in found.items()
        for seen in records
        if seen != expected[key]
    ]
    assert not wrong, f"attribution differs from the engine: {wrong[:5]}"
    if lines:
        check_read_back(lines, sum(map(len, found.values())))


def check_read_back(lines: list[str], records: int) -> None:
    """The records read through parse/flows as would-be denies (explain-flows and
    generate read them so)."""
    read = read_flows("\n".join(lines) + "\n", "records.jsonl")
    assert len(read.flows) == records
    assert all(f.verdict is LoggedVerdict.WOULD_DENY for f in read.flows)


STAGED_SEEDS = range(6)
TIERED_SEEDS = range(4)


@pytest.mark.parametrize("seed", STAGED_SEEDS)
def test_staged_candidates_recorded_as_the_engine_denies(running: Running, seed: int) -> None:
    check_audit(running, random_policies(random.Random(seed)), staged=True)


@pytest.mark.parametrize("seed", TIERED_SEEDS)
def test_staged_tiers_recorded_as_the_engine_denies(running: Running, seed: int) -> None:
    check_audit(running, tiered_scenario(seed), staged=True)


def in_audited_namespace(policies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for policy in policies:
        policy["metadata"]["namespace"] = AUDITED_NAMESPACES[0]
    return policies


@pytest.mark.parametrize("seed", [101, 102])
def test_audited_namespace_never_drops(running: Running, seed: int) -> None:
    """NetworkPolicies applied in an audited namespace (--audit-namespace) are not
    enforced, and what they would deny is recorded with their attribution."""
    check_audit(running, in_audited_namespace(random_policies(random.Random(seed))), False)


FLOOD = 6000


def counter(lab_dir: Path, plan: LabPlan, name: str) -> int:
    """The audit table's named counter, summed over the nodes (the kernel's count)."""
    total = 0
    for node in plan.nodes:
        argv = ["nft", "-j", "list", "counter", "inet", "netfence_audit", name]
        done = subprocess.run(
            lab.exec_argv(lab_dir, plan, f"node:{node.name}", argv),
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        total += next(
            item["counter"]["packets"]
            for item in json.loads(done.stdout)["nftables"]
            if "counter" in item
        )
    return total


def test_the_rate_limit_holds_and_is_said(running: Running) -> None:
    """A flood of new UDP flows (new source ports) that a staged policy would deny:
    at most burst + rate × time are logged; every event the kernel logged is
    recorded, and every one the limit left out is counted in gap records (both
    checked against the kernel's own counters)."""
    lab_dir, plan = running
    deny = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "deny-b", "namespace": "x"},
        "spec": {"podSelector": {"matchLabels": {"pod": "b"}}, "policyTypes": ["Ingress"]},
    }  # fmt: skip
    enforce.replace_all((), plan, lab_dir)
    enforce.stage(documents([deny]), plan, lab_dir)
    forget_connections(lab_dir, plan)
    logged, over = (counter(lab_dir, plan, n) for n in ("audit_logged", "audit_over_limit"))
    before = sizes(lab_dir, plan)
    target = PODS["x/b"][0]
    code = (
        "import socket,time\n"
        "t=time.monotonic()\n"
        f"for i in range({FLOOD}):\n"
        "    s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
        f"    s.sendto(b'x',('{target}',82)); s.close()\n"
        "print(time.monotonic()-t)\n"
    )
    done = subprocess.run(
        lab.exec_argv(lab_dir, plan, "x/a", [sys.executable, "-c", code]),
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    seconds = float(done.stdout)
    records = [json.loads(line) for line in new_lines(before, settle=3.0)]
    flows = [r for r in records if r["kind"] == "netfence.flow"]
    gaps = [r for r in records if r["kind"] == "netfence.gap"]
    logged = counter(lab_dir, plan, "audit_logged") - logged
    over = counter(lab_dir, plan, "audit_over_limit") - over
    assert over > 0, "the flood did not pass the limit: the test proves nothing"
    assert len(flows) == logged, "every event the kernel logged is recorded"
    assert sum(g["not_recorded"] for g in gaps) == over, "every event left out is said"
    assert logged <= 2 * RATE + RATE * (seconds + 1)
    assert {r["decided_by"]["policies"][0] for r in flows} == {"x/deny-b"}
