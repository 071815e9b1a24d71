"""Issue 9 section 3 without packets: each fault of the node agent, at its mechanism.

The same faults run with real packets in test_fault_injection.py; here each is
checked on the ruleset the agent would apply (a fake applier), fast.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.agent.test_agent import FakeApplier

from netfence.agent.agent import Agent
from netfence.agent.sources import DirectorySource
from netfence.errors import EnvironmentProblem
from netfence.io import manifest_dir
from netfence.io.agent_store import StateStore, StoredState

CLUSTER = """
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: 10.1.0.1}
"""
DB = """
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, ports: [{containerPort: 5432, protocol: TCP}]}]}
status: {phase: Running, podIP: 10.1.0.2}
"""
DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-db, namespace: shop}
spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}
"""
INVALID_DENY = DENY.replace("policyTypes: [Ingress]", "ingress: [{ports: [{port: 99999}]}]")
DB_ISOLATED = "10.1.0.2 : jump in_set_"


def make(tmp_path: Path, **files: str) -> Path:
    root = tmp_path / "manifests"
    root.mkdir(exist_ok=True)
    for name, text in files.items():
        (root / name.replace("_", ".")).write_text(text)
    return root


def agent_on(root: Path, tmp_path: Path, settle: float = 0.0) -> tuple[Agent, FakeApplier]:
    applier = FakeApplier()
    store = StateStore(tmp_path / "last-good.json")
    return Agent(DirectorySource(root, settle=settle), applier, store=store), applier


def programmed(applier: FakeApplier) -> str:
    return applier.applied[-1] if applier.applied else ""


def restart(root: Path, tmp_path: Path) -> tuple[Agent, FakeApplier]:
    agent, applier = agent_on(root, tmp_path)
    agent.sync()
    return agent, applier


# --- A1, A6: the last good state survives a restart -----------------------------------------

BROKEN_EDITS = {
    "broken YAML": "kind: [broken\n",
    "JSON nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
    "!!timestamp not-a-date": "kind: Namespace\nmetadata: {name: !!timestamp not-a-date}\n",
    "not UTF-8": "\udcff",
    "truncated to zero bytes": "",
}


@pytest.mark.parametrize("edit", list(BROKEN_EDITS))
def test_a_broken_file_keeps_its_last_good_documents_across_a_restart(
    tmp_path: Path, edit: str
) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent, applier = agent_on(root, tmp_path)
    agent.sync()
    assert DB_ISOLATED in programmed(applier)
    (root / "deny.yaml").write_bytes(BROKEN_EDITS[edit].encode("utf-8", "surrogateescape"))
    report = agent.sync()
    assert report.applied is False  # nothing changed in the kernel
    assert any("kept its last good documents (1)" in d.message for d in report.diagnostics)
    _, after = restart(root, tmp_path)  # a new process: only the disk remembers
    assert DB_ISOLATED in programmed(after)


def test_an_invalid_policy_keeps_its_last_good_version_across_a_restart(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent, _ = agent_on(root, tmp_path)
    agent.sync()
    (root / "deny.yaml").write_text(INVALID_DENY)
    assert agent.sync().applied is False
    _, after = restart(root, tmp_path)
    text = programmed(after)
    assert DB_ISOLATED in text and "netfence-fail-closed" not in text
    assert "10.1.0.1 : jump" not in text  # web is not isolated: no outage


@pytest.mark.parametrize(
    ("file", "edit"), [("deny.yaml", INVALID_DENY), ("db.yaml", DB.replace("TCP", "tcp"))]
)
def test_an_object_made_invalid_while_the_agent_is_down_keeps_its_stored_version(
    tmp_path: Path, file: str, edit: str
) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent_on(root, tmp_path)[0].sync()
    (root / file).write_text(edit)  # no agent running meanwhile
    agent, after = restart(root, tmp_path)
    text = programmed(after)
    assert DB_ISOLATED in text and "netfence-fail-closed" not in text
    assert "10.1.0.1 : jump" not in text  # web untouched
    assert agent.state is not None and agent.state.kept  # stood in for, and stored as such
    stored = StateStore(tmp_path / "last-good.json").load()
    assert set(stored.objects) == set(agent.state.kept)
    (root / file).write_text(DENY if file == "deny.yaml" else DB)  # fixed: nothing kept
    agent.sync()
    assert StateStore(tmp_path / "last-good.json").load().objects == {}


def test_a_deleted_file_is_forgotten_also_on_disk(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent, _ = agent_on(root, tmp_path)
    agent.sync()
    (root / "deny.yaml").unlink()
    agent.sync()
    stored = StateStore(tmp_path / "last-good.json").load()
    assert not any(f.endswith("deny.yaml") for f in stored.files)
    assert "NetworkPolicy/shop/deny-db" not in stored.objects
    _, after = restart(root, tmp_path)
    assert DB_ISOLATED not in programmed(after)


def test_the_store_is_replaced_atomically_and_a_bad_one_is_not_trusted(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    assert store.load() == StoredState()
    store.save(StoredState({"a.yaml": "x: 1\n"}, {"Pod/ns/p": {"kind": "Pod"}}))
    assert store.load().files == {"a.yaml": "x: 1\n"}
    assert os.listdir(tmp_path) == ["state.json"]  # no temporary left behind
    (tmp_path / "state.json").write_text('{"format": 1, "files": ')
    with pytest.raises(EnvironmentProblem, match="not a last good state"):
        store.load()
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    lines: list[str] = []
    agent = Agent(DirectorySource(root), FakeApplier(), store=store, log=lines.append)
    assert agent.sync().applied  # starts without it, and says so
    assert any("not a last good state" in line for line in lines)
    assert store.load().files  # and replaced it with a good one


def test_with_the_store_lost_a_broken_file_holds_back_the_first_apply(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml="kind: [broken\n")
    (tmp_path / "last-good.json").write_text("garbage")  # the stored state, damaged
    agent, applier = agent_on(root, tmp_path)
    report = agent.sync()
    assert not applier.applied and report.waiting == (str(root / "deny.yaml"),)
    assert agent.metrics.ready is False  # not ready: the kernel table is left as it is
    (root / "deny.yaml").write_text(DENY)
    assert agent.sync().applied and DB_ISOLATED in programmed(applier)


def test_a_store_that_cannot_be_written_is_counted_and_enforcement_goes_on(
    tmp_path: Path,
) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    lines: list[str] = []
    store = StateStore(tmp_path / "missing-dir" / "last-good.json")
    agent = Agent(DirectorySource(root), FakeApplier(), store=store, log=lines.append)
    assert agent.sync().applied and agent.metrics.store_failures == 1
    assert any("the last good state was not stored" in line for line in lines)


# --- A2: empty, truncated, mid-write ----------------------------------------------------------


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_changed_file_is_read_only_once_it_has_settled(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    clock = Clock()
    source = DirectorySource(root, settle=0.5, clock=clock)
    first = source.snapshot()
    assert first.waiting  # nothing known yet: the agent would not make a first apply
    clock.now += 0.6
    settled = source.snapshot()
    assert not settled.waiting and len(settled.documents) == 4
    assert settled.version != first.version  # the agent syncs when a file settles
    # a comment-only first half: it parses, to nothing; read now it would drop the policy
    (root / "deny.yaml").write_text("# deny-db: written by a config manager\n")
    clock.now += 0.1
    assert len(source.snapshot().documents) == 4  # kept: not settled yet
    (root / "deny.yaml").write_text(DENY)
    os.utime(root / "deny.yaml", ns=(1, 1))  # the rest arrives (a new stamp)
    clock.now += 0.4
    assert len(source.snapshot().documents) == 4
    clock.now += 0.6
    assert len(source.snapshot().documents) == 4 and not source.snapshot().waiting


def test_a_file_deleted_before_it_settled_is_forgotten(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER)
    clock = Clock()
    source = DirectorySource(root, settle=0.5, clock=clock)
    source.snapshot()
    clock.now += 1
    settled = source.snapshot().version
    (root / "brief.yaml").write_text(DENY)
    assert source.snapshot().version[1]  # pending
    (root / "brief.yaml").unlink()
    assert source.snapshot().version == settled  # as a fresh source sees it (the lab compares)
    assert source.snapshot().version == DirectorySource(root).snapshot().version


def test_a_file_written_while_it_is_read_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    source = DirectorySource(root)
    source.snapshot()
    original = manifest_dir.read
    (root / "deny.yaml").write_text("# half\n")

    def read_then_written(file: str, limit: int) -> str:
        text = original(file, limit)
        if file.endswith("deny.yaml"):
            (root / "deny.yaml").write_text(DENY)  # the writer goes on meanwhile
        return text

    monkeypatch.setattr(manifest_dir, "read", read_then_written)
    during = source.snapshot()
    assert "deny-db" in repr(during.documents) and during.version[1]  # kept; pending
    monkeypatch.setattr(manifest_dir, "read", original)
    after = source.snapshot()  # then the complete file
    assert "deny-db" in repr(after.documents) and not after.version[1]


def test_a_broken_file_is_read_again_only_when_it_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml="kind: [broken\n")
    source = DirectorySource(root)
    reads: list[str] = []
    original = manifest_dir.read

    def counted(file: str, limit: int) -> str:
        reads.append(Path(file).name)
        return original(file, limit)

    monkeypatch.setattr(manifest_dir, "read", counted)
    first, second = source.snapshot(), source.snapshot()
    assert reads.count("deny.yaml") == 1  # not parsed again at every poll
    assert first.diagnostics == second.diagnostics and first.diagnostics  # still reported
    (root / "deny.yaml").chmod(0o600)  # a change of mode alone is a change
    source.snapshot()
    assert reads.count("deny.yaml") == 2


def test_truncating_a_file_never_removes_its_policies_for_one_sync(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent, applier = agent_on(root, tmp_path)
    agent.sync()
    (root / "deny.yaml").write_text("")  # ': > deny.yaml'
    assert agent.sync().applied is False
    (root / "deny.yaml").write_text(DENY[: DENY.index("namespace: shop}")])  # a half: not YAML
    assert agent.sync().applied is False
    _, after = restart(root, tmp_path)
    assert DB_ISOLATED in programmed(after)
    (root / "deny.yaml").write_text("# nothing here any more\n")  # emptied on purpose
    assert agent.sync().applied and DB_ISOLATED not in programmed(applier)


# --- A3: finished pods, shared addresses ---------------------------------------------------------

ALLOW_ALL = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: batch}
spec: {podSelector: {}, ingress: [{}], egress: [{}]}
"""


def job(phase: str, ip: str = "10.1.0.2") -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: job, namespace: batch, labels: {{app: job}}}}
spec: {{containers: [{{name: c}}]}}
status: {{phase: {phase}, podIP: {ip}}}
"""


@pytest.mark.parametrize("phase", ["Succeeded", "Failed"])
def test_a_finished_pod_is_no_endpoint(tmp_path: Path, phase: str) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY, job_yaml=job(phase))
    (root / "allow.yaml").write_text(ALLOW_ALL)
    agent, applier = agent_on(root, tmp_path)
    report = agent.sync()
    text = programmed(applier)
    assert text.count("10.1.0.2 :") == 1 and DB_ISOLATED in text  # db's own (ingress)
    assert any(f"phase {phase}: not an endpoint" in d.message for d in report.diagnostics)
    assert agent.state is not None and "batch/job" not in {p.key for p in agent.state.cluster.pods}


def test_a_finished_pod_is_no_endpoint_for_any_command(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, job_yaml=job("Succeeded"))
    by_address = run_cli("check", "-f", str(root), "10.1.0.2", "shop/web", "--port", "80")
    assert by_address.code == 0 and by_address.out.startswith("pod shop/db -> shop/web")
    assert "Pod batch/job: phase Succeeded: not an endpoint" in by_address.err
    by_name = run_cli("check", "-f", str(root), "batch/job", "shop/web", "--port", "80")
    assert by_name.code == 2 and "namespace 'batch' not found" in by_name.err


def test_two_live_pods_with_one_address_are_both_isolated_and_reported(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, job_yaml=job("Running"))
    (root / "allow.yaml").write_text(ALLOW_ALL)
    agent, applier = agent_on(root, tmp_path)
    report = agent.sync()
    text = programmed(applier)
    assert text.count("10.1.0.2 :") == 2  # one element per map, never two with one key
    deny_only = [line for line in text.splitlines() if "10.1.0.2 : jump" in line]
    chains = {line.split("jump ")[1].rstrip(",") for line in deny_only}
    for chain in chains:  # the chain it jumps to only denies
        body = text.split(f"chain {chain} {{")[1].split("}")[0]
        assert "accept" not in body and "drop" in body
    assert any("claimed by pods batch/job, shop/db" in d.message for d in report.diagnostics)


# --- A4: an object with an error keeps the strictest safe treatment ------------------------------

BAD_PROTOCOL = DB.replace("protocol: TCP", "protocol: tcp")


def test_a_pod_with_an_error_keeps_its_last_good_version(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent, applier = agent_on(root, tmp_path)
    agent.sync()
    (root / "db.yaml").write_text(BAD_PROTOCOL)
    report = agent.sync()
    assert report.applied is False and DB_ISOLATED in programmed(applier)
    assert any("invalid: kept its last good version" in d.message for d in report.diagnostics)
    _, after = restart(root, tmp_path)
    assert DB_ISOLATED in programmed(after)


PEER_POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-shop, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {}}]}]
"""


@pytest.mark.parametrize(
    "broken",
    [BAD_PROTOCOL, DB.replace("10.1.0.2", "fe80::2%eth0").replace("Running", "Running")],
    ids=["protocol tcp", "zone id"],
)
def test_a_pod_with_an_error_and_no_last_good_version_is_quarantined(
    tmp_path: Path, broken: str
) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=broken, peer_yaml=PEER_POLICY)
    agent, applier = agent_on(root, tmp_path)
    report = agent.sync()
    text = programmed(applier)
    address = "10.1.0.2" if "10.1.0.2" in broken else "fe80::2"
    lines = [line.strip() for line in text.splitlines() if f"{address} : jump" in line]
    assert len(lines) == 2, text  # egress and ingress, both to a chain that only denies
    assert "%" not in text
    assert f"{address}," not in text and f"{address} }}" not in text  # in no peer set
    assert any("denied both ways (fail closed)" in d.message for d in report.diagnostics)


def test_a_finished_pod_with_an_error_quarantines_nothing(tmp_path: Path) -> None:
    """Its address may already be a live pod's: that pod keeps its own treatment."""
    broken_job = job("Succeeded", "10.1.0.1").replace(
        "name: c}", "name: c, ports: [{containerPort: 0}]}"
    )
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY, job_yaml=broken_job)
    agent, applier = agent_on(root, tmp_path)
    report = agent.sync()
    assert any(d.severity.value == "error" for d in report.diagnostics)
    assert "10.1.0.1 : jump" not in programmed(applier)  # web stays open
    assert any("invalid, and finished" in d.message for d in report.diagnostics)


# --- A5: the agent never exits ------------------------------------------------------------------


@dataclass
class FlakyApplier(FakeApplier):
    failures: int = 3
    attempts: list[float] = field(default_factory=list)

    def apply(self, ruleset: str) -> None:
        self.attempts.append(time.monotonic())
        if len(self.attempts) <= self.failures:
            raise EnvironmentProblem("nft -f - failed (exit 1): Error: syntax error")
        super().apply(ruleset)


def test_a_failing_sync_is_retried_with_back_off_and_the_loop_goes_on(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    applier = FlakyApplier()
    lines: list[str] = []
    agent = Agent(DirectorySource(root), applier, log=lines.append, backoff=(0.05, 0.2))
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop, 0.01, 0.0), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not applier.applied and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join(5)
    assert len(applier.applied) == 1 and DB_ISOLATED in applier.applied[0]
    gaps = [b - a for a, b in zip(applier.attempts, applier.attempts[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2 * 0.99  # doubling, capped
    assert sum("sync failed, the kernel table is left as it is" in line for line in lines) == 3
    assert agent.metrics.syncs["failed"] == 3 and agent.metrics.ready


def test_an_unreadable_file_keeps_its_documents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent, _ = agent_on(root, tmp_path)
    agent.sync()
    original = manifest_dir.read

    def denied(file: str, limit: int) -> str:
        if file.endswith("deny.yaml"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return original(file, limit)

    monkeypatch.setattr(manifest_dir, "read", denied)
    os.utime(root / "deny.yaml", ns=(5, 5))
    report = agent.sync()
    assert report.applied is False
    assert any("cannot read: Permission denied" in d.message for d in report.diagnostics)


def test_a_directory_vanishing_or_unreadable_during_the_walk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB)
    (root / "sub").mkdir()
    (root / "sub" / "deny.yaml").write_text(DENY)
    (root / "gone").mkdir()
    agent, applier = agent_on(root, tmp_path)
    agent.sync()
    assert DB_ISOLATED in programmed(applier)
    original = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("gone"):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
        if str(path).endswith("sub"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return original(path)

    monkeypatch.setattr(manifest_dir.os, "scandir", scandir)
    report = agent.sync()
    assert report.applied is False  # sub's files kept while it cannot be listed
    assert any("cannot list: Permission denied" in d.message for d in report.diagnostics)


def test_hidden_entries_are_skipped_as_kubelet_volumes_need(tmp_path: Path) -> None:
    """A ConfigMap volume: ..<timestamp>/deny.yaml, ..data -> it, deny.yaml -> ..data/deny.yaml."""
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB)
    (root / "..2026_11_26").mkdir()
    (root / "..2026_11_26" / "deny.yaml").write_text(DENY)
    (root / "..data").symlink_to("..2026_11_26")
    (root / "deny.yaml").symlink_to("..data/deny.yaml")
    source = DirectorySource(root)
    names = [d.source.file for d in source.snapshot().documents]
    assert names.count(str(root / "deny.yaml")) == 1 and len(names) == 4


def test_the_agent_command_line_survives_what_used_to_stop_it(tmp_path: Path) -> None:
    """--once through the real entry point: a zone id, deep JSON and a bad tag are
    reported and the rest is still enforced (exit 0, not 3 or 70)."""
    from tests.conftest import run_cli

    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    (root / "zoned.yaml").write_text(DB.replace("db", "zoned").replace("10.1.0.2", "fe80::1%eth0"))
    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (root / "stamp.yaml").write_text("kind: Namespace\nmetadata: {name: !!timestamp x}\n")
    done = run_cli("agent", "--dir", str(root), "--dry-run")
    assert done.code == 0, done.err
    assert DB_ISOLATED in done.out and "fe80::1 : jump" in done.out and "%" not in done.out
    assert (
        "Traceback" not in done.err and "deep.json: doc 1: invalid JSON: nested deeper" in done.err
    )


def test_one_document_that_breaks_conversion_does_not_stop_every_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netfence.parse import build

    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent, applier = agent_on(root, tmp_path)
    agent.sync()
    original = build._convert

    def convert(doc: object, namespace: str) -> object:
        if "db" in repr(doc) and "Pod" in repr(doc):
            raise RecursionError("maximum recursion depth exceeded")
        return original(doc, namespace)  # type: ignore[arg-type]

    monkeypatch.setattr(build, "_convert", convert)
    # changed (a document re-read with the same content is no change: not converted again)
    (root / "db.yaml").write_text(DB.replace("labels: {app: db}", "labels: {app: db, v: '2'}"))
    (root / "deny-web.yaml").write_text(DENY.replace("db", "web"))
    report = agent.sync()  # the other change still goes through, db kept as it was
    assert report.applied and DB_ISOLATED in programmed(applier)
    assert "10.1.0.1 : jump in_set_" in programmed(applier)
    assert any("cannot be converted: RecursionError" in d.message for d in report.diagnostics)


def test_workloads_are_not_expanded_by_the_agent(tmp_path: Path) -> None:
    """Only pods with addresses are programmed: a Deployment's template is not a pod,
    and replicas: 2147483648 must not cost a thing."""
    huge = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: huge, namespace: shop}
spec:
  replicas: 2147483648
  selector: {matchLabels: {app: huge}}
  template: {metadata: {labels: {app: huge}}, spec: {containers: [{name: c}]}}
"""
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY, huge_yaml=huge)
    agent, applier = agent_on(root, tmp_path)
    start = time.monotonic()
    report = agent.sync()
    assert time.monotonic() - start < 5 and DB_ISOLATED in programmed(applier)
    assert any("1 workload object(s) not expanded" in d.message for d in report.diagnostics)


LABELLED = """
apiVersion: v1
kind: Namespace
metadata: {name: ops, labels: {team: ops}}
---
apiVersion: v1
kind: Pod
metadata: {name: probe, namespace: ops}
spec: {containers: [{name: c}]}
status: {podIP: 10.1.0.9}
"""
FROM_OPS = DENY.replace(
    "policyTypes: [Ingress]",
    "ingress: [{from: [{namespaceSelector: {matchLabels: {team: ops}}}]}]",
)


def test_an_invalid_namespace_keeps_its_labels(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=FROM_OPS, ops_yaml=LABELLED)
    agent, applier = agent_on(root, tmp_path)
    agent.sync()
    assert "10.1.0.9" in programmed(applier)  # ops's pod may reach db
    (root / "ops.yaml").write_text(LABELLED.replace("team: ops", "team: [ops]"))
    report = agent.sync()
    assert report.applied is False
    assert any("invalid: kept its last good version" in d.message for d in report.diagnostics)


# --- health -------------------------------------------------------------------------------------


def test_health_readiness_and_metrics_over_http(tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    from netfence.cli.agent import _health_handlers
    from netfence.io.health import HealthServer

    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    agent, _ = agent_on(root, tmp_path)
    server = HealthServer("127.0.0.1", 0, _health_handlers(agent, stall_seconds=60))
    server.start()
    host, port = server.address

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{path}", timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        assert get("/readyz")[0] == 503 and get("/healthz") == (200, "ok\n")
        agent.sync()
        assert get("/readyz") == (200, "ready\n")
        status, text = get("/metrics")
        samples = {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }
        assert status == 200
        assert samples['netfence_agent_syncs_total{outcome="applied"}'] == 1
        assert samples["netfence_agent_ready"] == 1
        assert samples["netfence_agent_ruleset_map_elements"] == 1  # db's ingress
        assert samples["netfence_agent_ruleset_rules"] > 0
        assert abs(samples["netfence_agent_last_success_timestamp_seconds"] - time.time()) < 60
        assert samples["netfence_agent_files_kept_last_good"] == 0
        (root / "deny.yaml").write_text("")  # truncated: deny-db stands on its last good
        (root / "db.yaml").write_text(BAD_PROTOCOL)  # db stands on its last good version
        agent.sync()
        kept = {
            line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1]
            for line in get("/metrics")[1].splitlines()
            if line.startswith("netfence_agent_") and "kept" in line
        }
        assert kept == {
            "netfence_agent_files_kept_last_good": "1",
            "netfence_agent_objects_kept_last_good": "1",
        }
        agent.metrics.heartbeat -= 61  # the loop stuck for a minute
        assert get("/healthz")[0] == 503 and get("/nothing")[0] == 404
    finally:
        server.stop()


def test_the_status_file_says_what_was_enforced(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    status = tmp_path / "run" / "status.json"
    status.parent.mkdir()
    done = run_cli("agent", "--dir", str(root), "--dry-run", "--status-file", str(status))
    assert done.code == 0 and json.loads(status.read_text())["applied"] is True
