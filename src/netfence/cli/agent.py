"""``netfence agent``: keep a node's nftables ruleset equal to the desired state."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from netfence.agent.agent import Agent, Metrics, SyncReport
    from netfence.agent.audit import AuditStats


@click.command("agent")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of manifests (namespaces, pods, services, policies), watched.",
)
@click.option(
    "--kubernetes",
    is_flag=True,
    help="Read the cluster through the Kubernetes API (list + watch) instead of --dir.",
)
@click.option("--node", help="Program only this node's pods (spec.nodeName). Default: every pod.")
@click.option("--netns", help="Apply inside this network namespace (ip netns exec).")
@click.option("--deny", type=click.Choice(["drop", "reject"]), default="drop", show_default=True)
@click.option("--strict", is_flag=True, help="Delete conntrack entries of connections now denied.")
@click.option("--once", is_flag=True, help="Sync once and exit.")
@click.option(
    "--dry-run", is_flag=True, help="Print the ruleset instead of applying it (implies --once)."
)
@click.option("--poll", default=1.0, show_default=True, help="Seconds between checks for changes.")
@click.option(
    "--min-interval", default=0.5, show_default=True, help="Least seconds between two syncs."
)
@click.option(
    "--status-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="After each sync, write its outcome here as JSON (the lab waits on it).",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Store the last good state here (loaded on start). "
    "Default: <status file without .json>.last-good.json beside --status-file; "
    "without either, nothing is stored.",
)
@click.option(
    "--settle",
    default=0.3,
    show_default=True,
    help="Seconds a changed file must stay unchanged before it is read (mid-write guard).",
)
@click.option(
    "--health-address",
    default="127.0.0.1:9808",
    show_default=True,
    help="HOST:PORT of the HTTP server for /healthz, /readyz and /metrics; 'off': none.",
)
@click.option(
    "--stall-seconds",
    default=120.0,
    show_default=True,
    help="/healthz fails when the loop has shown no sign of life for this long.",
)
@click.option(
    "--audit-log",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Audit mode: write would-be denies here (JSON lines, docs/flows.md); "
    "needs ulogd2 (NFLOG). See docs/agent.md, 'Audit mode'.",
)
@click.option(
    "--audit-namespace",
    multiple=True,
    help="Audit (record, never enforce) the NetworkPolicies of this namespace. Repeatable.",
)
@click.option(
    "--audit-policy",
    multiple=True,
    help="Audit this policy: NAMESPACE/NAME (NetworkPolicy) or KIND/NAME. Repeatable.",
)
@click.option(
    "--candidates",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory of staged candidate policies: audited beside the enforced ones.",
)
@click.option(
    "--audit-rate",
    type=click.IntRange(1, 1_000_000),
    default=200,
    show_default=True,
    help="Most would-be denies logged a second (burst twice that); the rest are counted.",
)
@click.option(
    "--audit-group",
    type=click.IntRange(0, 65535),
    default=7,
    show_default=True,
    help="NFLOG group of audit mode.",
)
@click.option(
    "--audit-log-bytes",
    type=click.IntRange(4096),
    default=64 << 20,
    show_default=True,
    help="The audit log is rotated (to FILE.1) past this size.",
)
def agent_command(
    directory: Path | None,
    kubernetes: bool,
    node: str | None,
    netns: str | None,
    deny: str,
    strict: bool,
    once: bool,
    dry_run: bool,
    poll: float,
    min_interval: float,
    status_file: Path | None,
    state_file: Path | None,
    settle: float,
    health_address: str,
    stall_seconds: float,
    audit_log: Path | None = None,
    audit_namespace: tuple[str, ...] = (),
    audit_policy: tuple[str, ...] = (),
    candidates: Path | None = None,
    audit_rate: int = 200,
    audit_group: int = 7,
    audit_log_bytes: int = 64 << 20,
) -> None:
    """Watch manifests and keep this node's nftables ruleset equal to them.

    Each sync is one atomic nft transaction; nothing is flushed first. It fails
    closed: a file that does not parse (or is empty, or mid-write) keeps its
    last good documents; a Pod or NetworkPolicy that fails validation keeps its
    last good version, or, when it never had one, the pod's address is denied
    both ways (a policy isolates its namespace). The last good state is stored
    (--state-file) and loaded on start. A failed sync keeps the kernel table,
    is logged and retried with back-off; the agent exits only on SIGTERM/SIGINT.
    """
    from netfence.agent.agent import Agent
    from netfence.agent.sources import DirectorySource, Source
    from netfence.errors import EnvironmentProblem
    from netfence.io.agent_store import StateStore
    from netfence.io.health import HealthServer, parse_address
    from netfence.io.nft import ConntrackTool, NftApplier
    from netfence.nft.compiler import NftOptions

    class Printer:
        def apply(self, ruleset: str) -> None:
            click.echo(ruleset, nl=False)

    if (directory is None) == (not kubernetes):
        raise click.UsageError("give exactly one of --dir DIR and --kubernetes")
    stop = threading.Event()
    source: Source
    wait_for_api: Callable[[float], None] | None = None
    if kubernetes:
        from netfence.agent.kubernetes import KubernetesSource, OfficialClient

        api = KubernetesSource(OfficialClient())
        api.start(stop)
        if once or dry_run:
            api.wait_synced()
        else:
            wait_for_api = api.wait_synced
        source = api
    else:
        assert directory is not None
        source = DirectorySource(directory, settle=0.0 if once or dry_run else settle)
    if state_file is None and status_file is not None:
        state_file = status_file.with_name(status_file.stem + ".last-good.json")
    log = _logger()
    applier = Printer() if dry_run else NftApplier(netns)
    agent = Agent(
        source,
        applier,
        node=node,
        options=NftOptions(deny=deny),
        conntrack=ConntrackTool(netns) if strict and not dry_run else None,
        log=log,
        on_sync=_status_writer(status_file, log),
        store=StateStore(state_file) if state_file is not None and not dry_run else None,
    )
    if audit_log is None and (audit_namespace or audit_policy or candidates):
        raise click.UsageError(
            "--audit-namespace, --audit-policy and --candidates need --audit-log"
        )
    audit = None
    if audit_log is not None:
        from netfence.agent.audit import AuditMode

        audit = AuditMode.create(
            audit_log, audit_log_bytes, audit_namespace, audit_policy, candidates,
            (audit_rate, audit_group), applier, node, log,
        )  # fmt: skip
        agent.audit = audit.auditor
    if once or dry_run:
        report = agent.sync()
        stop.set()
        if not dry_run:
            click.echo(
                f"{'applied' if report.applied else 'unchanged'} in {report.seconds:.3f} s",
                err=True,
            )
        return
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = None
    if health_address != "off":
        try:
            host, port = parse_address(health_address)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--health-address") from None
        try:
            server = HealthServer(host, port, _health_handlers(agent, stall_seconds))
        except EnvironmentProblem as exc:  # enforcing matters more than being probed
            log(f"error: no /healthz, /readyz or /metrics: {exc}")
        else:
            server.start()
            shown_host, shown_port = server.address
            log(f"health: listening on {shown_host}:{shown_port} (/healthz /readyz /metrics)")
    if audit is not None:
        audit.start(stop, netns)
    try:
        while wait_for_api is not None and not stop.is_set():
            try:  # no sync, and the kernel table untouched, until every kind is listed
                wait_for_api(5.0)
                break
            except EnvironmentProblem as exc:
                agent.metrics.heartbeat = time.monotonic()  # waiting is no stall
                log(f"warning: {exc}; the kernel table is left as it is; still waiting")
        agent.run(stop, poll_interval=poll, min_interval=min_interval)
    finally:
        if server is not None:
            server.stop()
        if audit is not None:
            audit.stop()


def _logger() -> Callable[[str], None]:
    def log(line: str) -> None:
        with contextlib.suppress(OSError):  # a closed stderr must not stop enforcement
            click.echo(line, err=True)

    return log


def _health_handlers(
    agent: Agent, stall_seconds: float
) -> dict[str, Callable[[], tuple[int, str, str]]]:
    metrics = agent.metrics

    def healthz() -> tuple[int, str, str]:
        quiet = time.monotonic() - metrics.heartbeat
        if quiet > stall_seconds:
            return 503, "text/plain", f"stuck: no sign of life for {quiet:.0f} s\n"
        return 200, "text/plain", "ok\n"

    def readyz() -> tuple[int, str, str]:
        if metrics.ready:
            return 200, "text/plain", "ready\n"
        return 503, "text/plain", "not ready: no complete sync applied yet\n"

    def prometheus() -> tuple[int, str, str]:
        text = _prometheus_text(metrics)
        if agent.audit is not None:
            text += _audit_text(agent.audit.stats)
        return 200, "text/plain; version=0.0.4", text

    return {"/healthz": healthz, "/readyz": readyz, "/metrics": prometheus}


def _prometheus_text(m: Metrics) -> str:
    """The Prometheus text exposition format."""
    out: list[str] = []

    def metric(name: str, kind: str, text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP netfence_agent_{name} {text}")
        out.append(f"# TYPE netfence_agent_{name} {kind}")
        out.extend(f"netfence_agent_{name}{labels} {_number(value)}" for labels, value in samples)

    outcomes = ("applied", "unchanged", "waiting", "failed")
    metric(
        "syncs_total",
        "counter",
        "Syncs by outcome (applied, unchanged, waiting for files to settle, failed).",
        [(f'{{outcome="{o}"}}', m.syncs[o]) for o in outcomes],
    )
    metric("sync_failures_total", "counter", "Syncs that failed.", [("", m.syncs["failed"])])
    metric(
        "consecutive_failures",
        "gauge",
        "Syncs failed in a row since the last success (the table is kept meanwhile).",
        [("", m.consecutive_failures)],
    )
    metric(
        "last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last successful sync (0: none yet).",
        [("", m.last_success)],
    )
    metric(
        "last_sync_duration_seconds", "gauge", "Seconds the last successful sync took.",
        [("", m.last_sync_seconds)],
    )  # fmt: skip
    metric("ready", "gauge", "1 once a first complete sync is applied.", [("", m.ready)])
    metric("ruleset_rules", "gauge", "Rules in the programmed table.", [("", m.rules)])
    metric("ruleset_chains", "gauge", "Chains in the programmed table.", [("", m.chains)])
    metric("ruleset_sets", "gauge", "Address and port sets in the table.", [("", m.sets)])
    metric(
        "ruleset_set_elements", "gauge", "Elements of all sets.", [("", m.set_elements)]
    )  # fmt: skip
    metric(
        "ruleset_map_elements",
        "gauge",
        "Verdict-map elements (pod addresses dispatched).",
        [("", m.map_elements)],
    )
    metric(
        "quarantined_addresses",
        "gauge",
        "Addresses of unreadable pods denied both ways (fail closed).",
        [("", m.quarantined)],
    )
    metric(
        "files_kept_last_good",
        "gauge",
        "Files standing on their last good documents (unreadable, broken, empty, mid-write).",
        [("", m.files_kept)],
    )
    metric(
        "objects_kept_last_good",
        "gauge",
        "Pods, NetworkPolicies and Namespaces standing on their last good version.",
        [("", m.objects_kept)],
    )
    metric(
        "rules_not_enforced",
        "gauge",
        "Rules (of cluster-wide policies and EKS ApplicationNetworkPolicies) whose "
        "domainNames peers the agent leaves out.",
        [("", m.rules_not_enforced)],
    )
    metric(
        "diagnostics",
        "gauge",
        "Diagnostics of the last sync by severity.",
        [(f'{{severity="{s}"}}', m.diagnostics[s]) for s in ("error", "warning", "notice")],
    )
    metric(
        "conntrack_flows_deleted_total",
        "counter",
        "Conntrack entries deleted in strict mode.",
        [("", m.flows_deleted)],
    )
    metric(
        "state_store_failures_total",
        "counter",
        "Times the last good state could not be stored.",
        [("", m.store_failures)],
    )
    return "\n".join(out) + "\n"


def _audit_text(stats: AuditStats) -> str:
    """Audit mode's counters (docs/agent.md, "Audit mode")."""
    rows = (
        ("events_total", "NFLOG events read from the audit table.", stats.events),
        ("records_total", "Would-be denies recorded.", stats.records),
        ("not_recorded_total", "Would-be denies the rate limit left out.", stats.over_limit),
        ("unknown_total", "Events whose deny id no audit table had.", stats.unknown),
        ("other_protocol_total", "Events of other protocols (ICMP): not recorded.", stats.other),
        ("table_failures_total", "Audit tables not applied.", stats.failures),
        (
            "queue_dropped_total",
            "Events read but dropped: the queue was full.",
            stats.queue_dropped,
        ),
    )
    out = []
    for name, text, value in rows:
        out += [f"# HELP netfence_agent_audit_{name} {text}",
                f"# TYPE netfence_agent_audit_{name} counter",
                f"netfence_agent_audit_{name} {value}"]  # fmt: skip
    return "\n".join(out) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _status_writer(path: Path | None, log: Callable[[str], None]) -> Callable[[SyncReport], None]:
    """Each sync's outcome, replaced atomically (write, then rename)."""
    from netfence.errors import EnvironmentProblem
    from netfence.io.agent_store import write_atomically

    def write(report: SyncReport) -> None:
        if path is None:
            return
        errors = [d.format() for d in report.diagnostics if d.severity.value == "error"]
        data = {
            "version": report.version,
            "applied": report.applied,
            "seconds": report.seconds,
            "errors": errors,
            "time": time.time(),
        }
        try:
            write_atomically(path, json.dumps(data))
        except EnvironmentProblem as exc:
            log(f"warning: status not written: {exc}")

    return write
