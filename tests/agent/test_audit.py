"""Audit mode in the agent (agent/audit.py, io/nflog.py): which policies are audited,
the enforced table never holds them, a bad candidate directory changes nothing,
events become flow records that parse/flows reads back, the record file is
bounded, and ulogd's JSON lines are read."""

from __future__ import annotations

import json
from pathlib import Path

from tests.agent.test_agent import CLUSTER, DENY_DB, FakeApplier, make_dir

from netfence.agent.agent import Agent
from netfence.agent.audit import AuditOptions, Auditor, AuditSelection, flow_record
from netfence.agent.sources import DirectorySource
from netfence.analysis.flows_record import audit_record
from netfence.compile import compile_policies
from netfence.engine.evaluate import evaluate
from netfence.io.nflog import NflogEvent, RecordFile, parse_ulogd_json
from netfence.model.diagnostics import Source
from netfence.model.flows import LoggedVerdict
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint
from netfence.nft.audit import PREFIX
from netfence.parse import RawDocument, build_cluster, parse_documents
from netfence.parse.flows import read_flows

AUDITED_NS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, annotations: {netfence.io/audit: "true"}}
"""


def fresh(path: Path) -> Path:
    path.mkdir()
    return path


def docs(text: str) -> list[RawDocument]:
    return parse_documents(text, "test.yaml")


def policy(name: str, namespace: str = "shop", annotated: bool = False) -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "namespace": namespace}
    if annotated:
        meta["annotations"] = {"netfence.io/audit": "true"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta,
            "spec": {"podSelector": {}}}  # fmt: skip


def raw(*objects: dict[str, object]) -> tuple[RawDocument, ...]:
    return tuple(RawDocument(Source("t", i + 1), o) for i, o in enumerate(objects))


def names(documents: tuple[RawDocument, ...]) -> list[str]:
    return [str(d.obj["metadata"]["name"]) for d in documents]  # type: ignore[index]


def test_selection_by_option_annotation_and_namespace() -> None:
    cnp = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
           "metadata": {"name": "t0"}, "spec": {}}  # fmt: skip
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}}
    documents = raw(
        policy("by-option", "a"), policy("annotated", "b", annotated=True),
        policy("in-audited-ns", "c"), policy("enforced", "d"), cnp, pod,
    )  # fmt: skip
    selection = AuditSelection(frozenset({"c"}), frozenset({"a/by-option"}))
    enforced, audited = selection.split(documents)
    assert names(audited) == ["by-option", "annotated", "in-audited-ns"]
    assert names(enforced) == ["enforced", "t0", "p"]
    by_kind = AuditSelection(policies=frozenset({"ClusterNetworkPolicy/t0"}))
    assert names(by_kind.split(documents)[1]) == ["annotated", "t0"]
    namespace = raw({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": "d", "annotations": {"netfence.io/audit": "true"}}})  # fmt: skip
    assert "enforced" in names(AuditSelection().split(documents + namespace)[1])


def test_audited_policies_are_in_the_audit_table_only(tmp_path: Path) -> None:
    root = make_dir(fresh(tmp_path / "desired"), cluster=CLUSTER.replace(
        "kind: Namespace\nmetadata: {name: shop}", AUDITED_NS.strip().split("\n", 1)[1]
    ), policy=DENY_DB)  # fmt: skip
    enforced, audit = FakeApplier(), FakeApplier()
    auditor = Auditor(AuditOptions(), AuditSelection(), audit)
    agent = Agent(DirectorySource(root), enforced, node="node-b", audit=auditor)
    agent.sync()
    assert "10.1.0.2" not in enforced.applied[-1]  # the policy isolates db: audited only
    assert "table inet netfence_audit" in audit.applied[-1]
    assert "10.1.0.2 : jump in_set_" in audit.applied[-1]
    assert 'log prefix "nfa:' in audit.applied[-1]


def test_a_bad_candidate_directory_changes_nothing(tmp_path: Path) -> None:
    root = make_dir(fresh(tmp_path / "desired"), cluster=CLUSTER)
    staged = tmp_path / "candidates"
    staged.mkdir()
    (staged / "db.yaml").write_text(DENY_DB)
    enforced, audit, lines = FakeApplier(), FakeApplier(), []
    auditor = Auditor(AuditOptions(), AuditSelection(), audit, "node-b",
                      DirectorySource(staged), lines.append)  # fmt: skip
    agent = Agent(DirectorySource(root), enforced, node="node-b", audit=auditor)
    agent.sync()
    assert "10.1.0.2" not in enforced.applied[-1] and "10.1.0.2 :" in audit.applied[-1]
    kept = (len(enforced.applied), len(audit.applied))
    (staged / "db.yaml").write_text(DENY_DB.replace("port: 5432", "port: 99999"))
    auditor.refresh()
    assert (len(enforced.applied), len(audit.applied)) == kept
    assert any("candidates not taken" in line for line in lines)
    (staged / "db.yaml").write_text("")  # no candidates: nothing isolates db
    (staged / "db.yaml").unlink()
    auditor.refresh()
    assert "10.1.0.2 :" not in audit.applied[-1]


def test_a_refused_audit_table_leaves_enforcement_alone(tmp_path: Path) -> None:
    class Refusing(FakeApplier):
        def apply(self, ruleset: str) -> None:
            raise RuntimeError("nft refused it")

    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    enforced, lines = FakeApplier(), []
    auditor = Auditor(AuditOptions(), AuditSelection(), Refusing(), log=lines.append)
    agent = Agent(DirectorySource(root), enforced, audit=auditor)
    report = agent.sync()
    assert report.applied and "10.1.0.2 : jump" in enforced.applied[-1]
    assert auditor.stats.failures == 1 and "enforcement unchanged" in lines[-1]


def event_of(prefix: str, src: str, dst: str, dport: int, protocol: int = 6) -> NflogEvent:
    return NflogEvent(prefix, protocol, src, dst, 40001, dport, 1_795_730_385.5)


def test_records_carry_the_engines_explanation_and_read_back(tmp_path: Path) -> None:
    """web → db:22 would be denied by ``shop/db`` (no rule matched): the record of
    the event equals the engine's record of that direction, and reads back through
    parse/flows as a would-be deny with the same pods and attribution."""
    root = make_dir(tmp_path, cluster=CLUSTER, policy=DENY_DB)
    audit = FakeApplier()
    auditor = Auditor(AuditOptions(), AuditSelection(), audit, "node-b")
    Agent(DirectorySource(root), FakeApplier(), node="node-b", audit=auditor).sync()
    table = auditor._current
    assert table is not None
    (key,) = [k for k, e in table.table.entries.items() if e.policies == ("shop/db",)]
    record = auditor.record(event_of(f"{PREFIX}{key}", "10.1.0.1", "10.1.0.2", 22))
    assert record is not None
    cluster = build_cluster(docs(CLUSTER + "---" + DENY_DB)).cluster
    web, db = (next(p for p in cluster.pods if p.name == n) for n in ("web", "db"))
    conn = Connection(Endpoint(web.ips[0], web), Endpoint(db.ips[0], db), 22, Protocol.TCP)
    decision = evaluate(compile_policies(cluster.policies), cluster, conn)
    engine = audit_record(decision, 40001, record["time"], "audit")
    assert record["decided_by"] == engine["decided_by"] == engine["ingress"]
    for field in ("src", "dst", "protocol", "verdict", "mode", "ingress"):
        assert record[field] == engine[field], field
    text = json.dumps(record) + "\n" + json.dumps(auditor.gap(5, 1_795_730_386.0)) + "\n"
    read = read_flows(text, "audit.jsonl")
    (flow,) = read.flows
    assert flow.verdict is LoggedVerdict.WOULD_DENY
    assert flow.attribution is not None and flow.attribution.policies == ("shop/db",)
    assert flow.src.pod is not None and flow.src.pod.name == "web"
    assert [s.count for s in read.skipped] == [1]  # the gap line: skipped, counted


def test_unknown_ids_and_other_protocols() -> None:
    auditor = Auditor(AuditOptions(), AuditSelection(), FakeApplier())
    assert auditor.record(event_of("something else", "10.0.0.1", "10.0.0.2", 80)) is None
    assert auditor.record(event_of(f"{PREFIX}abc", "10.0.0.1", "10.0.0.2", 0, 58)) is None
    record = auditor.record(event_of(f"{PREFIX}0123456789", "10.0.0.1", "10.0.0.2", 80))
    assert record is not None and record["decided_by"] is None
    assert (auditor.stats.unknown, auditor.stats.other, auditor.stats.events) == (1, 1, 3)


def test_gaps_say_what_the_limit_left_out() -> None:
    lines: list[str] = []
    auditor = Auditor(AuditOptions(), AuditSelection(), FakeApplier(), log=lines.append)
    assert auditor.gap(0, 0.0) is None
    first = auditor.gap(7, 1.0)
    assert first is not None and first["not_recorded"] == 7 and first["kind"] == "netfence.gap"
    assert auditor.gap(7, 2.0) is None
    second = auditor.gap(10, 3.0)
    assert second is not None and second["not_recorded"] == 3
    restarted = auditor.gap(2, 4.0)  # a counter that went back restarted at 0
    assert restarted is not None and restarted["not_recorded"] == 2
    assert auditor.stats.over_limit == 12 and len(lines) == 3


def test_a_new_audit_table_says_the_gap_of_the_one_it_replaces(tmp_path: Path) -> None:
    """The table's counters restart with each table applied: what the old one
    counted is said just before it is replaced, and counting starts again at 0."""
    root = make_dir(fresh(tmp_path / "desired"), cluster=CLUSTER)
    kernel = {"count": 0}
    gaps: list[int] = []
    auditor = Auditor(AuditOptions(), AuditSelection(), FakeApplier())
    auditor.counter = lambda: kernel["count"]
    auditor.on_gap = lambda record: gaps.append(record["not_recorded"])
    agent = Agent(DirectorySource(root), FakeApplier(), audit=auditor)
    agent.sync()
    kernel["count"] = 5
    auditor.check_gap()
    kernel["count"] = 8
    (root / "policy.yaml").write_text(DENY_DB)  # a new audit table
    agent.sync()
    kernel["count"] = 1  # the new table's counter
    auditor.check_gap()
    assert gaps == [5, 3, 1] and auditor.stats.over_limit == 9


def test_the_record_file_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    records = RecordFile(path, max_bytes=1000)
    for i in range(100):
        records.write({"kind": "netfence.flow", "n": i, "pad": "x" * 40})
    records.close()
    rotated = path.with_name("audit.jsonl.1")
    assert path.stat().st_size <= 1000 and rotated.stat().st_size <= 1000
    last = [json.loads(line)["n"] for line in path.read_text().splitlines()]
    older = [json.loads(line)["n"] for line in rotated.read_text().splitlines()]
    assert last[-1] == 99 and older[-1] + 1 == last[0]  # nothing lost at the rotation


ULOGD_IPV4_UDP = (
    '{"timestamp": "2026-11-26T21:59:45.973558", "dvc": "Netfilter", "raw.pktlen": 31, '
    '"oob.prefix": "nfa:abc123", "oob.time.sec": 1795730385, "oob.time.usec": 973558, '
    '"oob.family": 2, "oob.protocol": 2048, "ip.protocol": 17, "src_port": 36565, '
    '"dest_port": 5555, "udp.len": 11, "src_ip": "10.244.0.11", "dest_ip": "10.244.0.12"}'
)
ULOGD_IPV6_SCTP = (
    '{"oob.prefix": "nfa:abc123", "oob.time.sec": 1795730661, "oob.time.usec": 397578, '
    '"oob.family": 10, "ip.protocol": 132, "ip6.nexthdr": 132, "src_ip": "::1", '
    '"dest_ip": "::1"}'
)


def test_ulogd_json_lines_are_read() -> None:
    """Lines as ulogd2 2.0.8's JSON output writes them (NFLOG, BASE, IP2STR)."""
    event = parse_ulogd_json(ULOGD_IPV4_UDP)
    assert event == NflogEvent(
        "nfa:abc123", 17, "10.244.0.11", "10.244.0.12", 36565, 5555, 1795730385.973558
    )
    sctp6 = parse_ulogd_json(ULOGD_IPV6_SCTP)
    assert sctp6 is not None and (sctp6.protocol, sctp6.dst_port) == (132, 0)
    for bad in ("not json", "[]", '{"oob.prefix": "x"}', '{"src_ip": 1}'):
        assert parse_ulogd_json(bad) is None


def test_flow_record_of_an_event_without_a_cluster() -> None:
    record = flow_record(event_of(f"{PREFIX}k", "192.0.2.1", "10.0.0.2", 80), None, None, "n", "k")
    assert record["src"] == {"ip": "192.0.2.1", "port": 40001, "pod": None, "workload": None}
    assert record["audit_id"] == "k" and record["node"] == "n"


def test_audit_counters_are_in_the_metrics(tmp_path: Path) -> None:
    from netfence.cli.agent import _health_handlers

    root = make_dir(tmp_path, cluster=CLUSTER)
    auditor = Auditor(AuditOptions(), AuditSelection(), FakeApplier())
    agent = Agent(DirectorySource(root), FakeApplier(), audit=auditor)
    auditor.record(event_of(f"{PREFIX}0123456789", "10.0.0.1", "10.0.0.2", 80))
    status, _, text = _health_handlers(agent, 120.0)["/metrics"]()
    assert status == 200
    assert "netfence_agent_audit_records_total 1" in text
    assert "netfence_agent_audit_unknown_total 1" in text


def test_audit_options_need_the_audit_log(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from netfence.cli.agent import agent_command

    done = CliRunner().invoke(
        agent_command, ["--dir", str(tmp_path), "--dry-run", "--candidates", str(tmp_path)]
    )
    assert done.exit_code == 2 and "need --audit-log" in done.output


def test_dry_run_prints_the_audit_table_too(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from netfence.cli.agent import agent_command

    root = make_dir(fresh(tmp_path / "desired"), cluster=CLUSTER, policy=DENY_DB)
    argv = ["--dir", str(root), "--dry-run", "--audit-log", str(tmp_path / "a.jsonl"),
            "--audit-policy", "shop/db"]  # fmt: skip
    done = CliRunner().invoke(agent_command, argv)
    assert done.exit_code == 0, done.output
    enforced, _, audit = done.output.partition("table inet netfence_audit")
    assert "10.1.0.2 : jump" not in enforced and "10.1.0.2 : jump" in audit


def test_a_staged_version_replaces_the_policy_in_the_audit_table(tmp_path: Path) -> None:
    """A candidate named as an enforced policy is its staged version: the audit
    table holds the candidate instead of it; the enforced table keeps it."""
    root = make_dir(fresh(tmp_path / "desired"), cluster=CLUSTER, policy=DENY_DB)
    staged = fresh(tmp_path / "candidates")
    (staged / "db.yaml").write_text(
        DENY_DB.replace("ports: [{port: 5432}]", "ports: [{port: 6432}]")
    )
    enforced, audit = FakeApplier(), FakeApplier()
    auditor = Auditor(AuditOptions(), AuditSelection(), audit, "node-b", DirectorySource(staged))
    Agent(DirectorySource(root), enforced, node="node-b", audit=auditor).sync()
    assert "th dport 5432 accept" in enforced.applied[-1]
    assert "th dport 6432 accept" in audit.applied[-1]
    assert "th dport 5432 accept" not in audit.applied[-1]


def test_audit_numbers_are_checked(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from netfence.cli.agent import agent_command

    base = ["--dir", str(tmp_path), "--dry-run", "--audit-log", str(tmp_path / "a.jsonl")]
    for bad in (["--audit-rate", "0"], ["--audit-group", "70000"], ["--audit-log-bytes", "10"]):
        done = CliRunner().invoke(agent_command, base + bad)
        assert done.exit_code == 2 and bad[0] in done.output, (bad, done.output)
