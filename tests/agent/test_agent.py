"""The node agent: atomic applies, fail closed, coalescing, strict mode, real nft."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from netfence.agent.agent import Agent
from netfence.agent.sources import DirectorySource
from netfence.io.nft import Flow, NftApplier, parse_conntrack

CLUSTER = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {nodeName: node-a, containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {podIP: 10.1.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {nodeName: node-b, containers: [{name: c, ports: [{name: pg, containerPort: 5432}]}]}
status: {podIP: 10.1.0.2}
"""

DENY_DB = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
"""


@dataclass
class FakeApplier:
    applied: list[str] = field(default_factory=list)

    def apply(self, ruleset: str) -> None:
        self.applied.append(ruleset)


@dataclass
class FakeConntrack:
    entries: list[Flow]
    deleted: list[Flow] = field(default_factory=list)

    def flows(self) -> list[Flow]:
        return list(self.entries)

    def delete(self, flow: Flow) -> None:
        self.deleted.append(flow)


def make_dir(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def test_applies_once_and_only_on_change(tmp_path: Path) -> None:
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    applier = FakeApplier()
    agent = Agent(DirectorySource(root), applier)
    assert agent.sync().applied and agent.sync().applied is False
    assert len(applier.applied) == 1 and 'comment "Ingress: shop/db"' in applier.applied[0]
    (root / "policy.yaml").write_text(DENY_DB.replace("5432", "5433"))
    assert agent.sync().applied
    assert "th dport 5433 accept" in applier.applied[-1]


def test_only_the_nodes_own_pods_are_programmed(tmp_path: Path) -> None:
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    on_a, on_b = FakeApplier(), FakeApplier()
    Agent(DirectorySource(root), on_a, node="node-a").sync()
    Agent(DirectorySource(root), on_b, node="node-b").sync()
    assert "10.1.0.2 : jump" not in on_a.applied[0]  # db runs on node-b
    assert "10.1.0.2 : jump in_set_" in on_b.applied[0]


def test_broken_yaml_keeps_the_last_good_documents(tmp_path: Path) -> None:
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    applier = FakeApplier()
    agent = Agent(DirectorySource(root), applier)
    agent.sync()
    (root / "policy.yaml").write_text("kind: [broken\n")
    report = agent.sync()
    assert report.applied is False and len(applier.applied) == 1
    assert any("kept its last good documents (1)" in d.message for d in report.diagnostics)


def test_invalid_policy_keeps_its_last_good_version(tmp_path: Path) -> None:
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    applier = FakeApplier()
    agent = Agent(DirectorySource(root), applier)
    agent.sync()
    (root / "policy.yaml").write_text(DENY_DB.replace("port: 5432", "port: 5432, endPort: 10"))
    report = agent.sync()
    assert report.applied is False
    assert any("kept its last good version" in d.message for d in report.diagnostics)


def test_invalid_policy_never_valid_isolates_its_namespace(tmp_path: Path) -> None:
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB.replace("port: 5432", "port: 99999"))
    applier = FakeApplier()
    report = Agent(DirectorySource(root), applier).sync()
    text = applier.applied[0]
    assert "db.netfence-fail-closed" in text
    assert (
        "10.1.0.1 : jump eg_set_" in text and "10.1.0.1 : jump in_set_" in text
    )  # web isolated too
    assert any("fail closed" in d.message for d in report.diagnostics)


def test_strict_mode_deletes_only_denied_flows(tmp_path: Path) -> None:
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    allowed = Flow("tcp", "10.1.0.1", "10.1.0.2", 5432)
    denied = Flow("tcp", "10.1.0.1", "10.1.0.2", 22)
    outside = Flow("udp", "192.0.2.1", "198.51.100.1", 53)
    conntrack = FakeConntrack([allowed, denied, outside])
    report = Agent(DirectorySource(root), FakeApplier(), conntrack=conntrack).sync()
    assert conntrack.deleted == [denied] and report.flows_deleted == 1


def test_conntrack_listing_is_parsed() -> None:
    text = (
        "tcp      6 431999 ESTABLISHED src=10.244.1.10 dst=10.244.1.21 sport=40000 dport=3307 "
        "src=10.244.1.21 dst=10.244.1.10 sport=3307 dport=40000 [ASSURED] mark=0 use=1\n"
        "udp      17 29 src=10.0.0.1 dst=10.0.0.53 sport=5000 dport=53 [UNREPLIED] src=10.0.0.53 dst=10.0.0.1 sport=53 dport=5000\n"
        "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n"
    )
    assert parse_conntrack(text) == [
        Flow("tcp", "10.244.1.10", "10.244.1.21", 3307),
        Flow("udp", "10.0.0.1", "10.0.0.53", 53),
    ]


def test_run_coalesces_changes(tmp_path: Path) -> None:
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    applier = FakeApplier()
    agent = Agent(DirectorySource(root), applier)
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop, 0.02, 0.3), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not applier.applied and time.monotonic() < deadline:
            time.sleep(0.01)
        for port in (6001, 6002, 6003, 6004):  # four edits inside one minimum interval
            (root / "policy.yaml").write_text(DENY_DB.replace("5432", str(port)))
            time.sleep(0.03)
        time.sleep(0.8)
    finally:
        stop.set()
        thread.join(5)
    assert 2 <= len(applier.applied) <= 3
    assert "th dport 6004 accept" in applier.applied[-1]


def _can_netns() -> bool:
    if shutil.which("nft") is None or shutil.which("ip") is None:
        return False
    name = f"nf-probe-{uuid.uuid4().hex[:6]}"
    ok = (
        subprocess.run(["ip", "netns", "add", name], capture_output=True, check=False).returncode
        == 0
    )
    subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    return ok


@pytest.mark.skipif(not _can_netns(), reason="needs root, ip netns and nft")
def test_real_nft_apply_replaces_the_table_atomically(tmp_path: Path) -> None:
    name = f"nf-agent-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)

    def listed() -> str:
        argv = ["ip", "netns", "exec", name, "nft", "list", "table", "inet", "netfence"]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    try:
        root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
        agent = Agent(DirectorySource(root), NftApplier(netns=name))
        assert agent.sync().applied
        assert "Ingress: shop/db" in listed() and "10.1.0.2 : jump in_set_" in listed()
        (root / "policy.yaml").unlink()
        assert agent.sync().applied  # a second transaction replaces the first
        assert "shop/db" not in listed() and "chain forward_ingress" in listed()
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def test_agent_command_line(tmp_path: Path) -> None:
    """Through the real entry point: --dry-run prints the ruleset; usage errors exit 2."""
    from tests.conftest import run_cli

    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    printed = run_cli("agent", "--dir", str(root), "--node", "node-b", "--dry-run")
    assert printed.code == 0, printed.err
    assert printed.out.startswith("table inet netfence\ndelete table inet netfence\n")
    assert "10.1.0.2 : jump in_set_" in printed.out
    neither = run_cli("agent")
    assert neither.code == 2 and "give exactly one of --dir DIR and --kubernetes" in neither.err


def test_later_syncs_apply_only_what_changed_and_fall_back_to_a_full_replace(
    tmp_path: Path,
) -> None:
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    applier = FakeApplier()
    agent = Agent(DirectorySource(root), applier)
    agent.sync()
    assert applier.applied[0].startswith("table inet netfence\ndelete table inet netfence")
    (root / "policy.yaml").write_text(DENY_DB.replace("5432", "5433"))
    agent.sync()
    update = applier.applied[-1]
    assert "delete table" not in update and "flush chain inet netfence in_" in update

    class Refusing(FakeApplier):
        def apply(self, ruleset: str) -> None:
            if not ruleset.startswith("table "):
                from netfence.errors import EnvironmentProblem

                raise EnvironmentProblem("nft: No such file or directory")
            super().apply(ruleset)

    refusing = Refusing()
    agent.applier = refusing
    (root / "policy.yaml").write_text(DENY_DB.replace("5432", "5434"))
    agent.sync()
    assert len(refusing.applied) == 1 and refusing.applied[0].startswith("table inet netfence")


def test_syncs_keep_the_frozen_heap_bounded(tmp_path: Path) -> None:
    """After each sync the agent freezes its heap (no full-collection pauses); what a
    later sync drops is still freed, so repeated syncs do not grow it."""
    import gc

    gc.collect()
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    agent = Agent(DirectorySource(root), FakeApplier())
    counts = []
    for i in range(12):
        (root / "policy.yaml").write_text(DENY_DB + f"# edit {i}\n")  # re-read and reconverted
        os.utime(root / "policy.yaml", ns=(i * 10**9, i * 10**9))
        agent.sync()
        counts.append(gc.get_freeze_count())
    # one kept DesiredState alone is more than 20 objects (cluster, pods, rules, ...)
    assert counts[-1] > 0 and max(counts[3:]) - min(counts[3:]) <= 20, counts
