"""``netfence agent``: keep a node's nftables ruleset equal to the desired state."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from netfence.agent.agent import SyncReport


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
) -> None:
    """Watch manifests and keep this node's nftables ruleset equal to them.

    Each sync is one atomic nft transaction; nothing is flushed first. A policy
    that fails validation keeps its last good version, or isolates its
    namespace when it never had one (fail closed).
    """
    from netfence.agent.agent import Agent
    from netfence.agent.sources import DirectorySource, Source
    from netfence.io.nft import ConntrackTool, NftApplier
    from netfence.nft.compiler import NftOptions

    class Printer:
        def apply(self, ruleset: str) -> None:
            click.echo(ruleset, nl=False)

    if (directory is None) == (not kubernetes):
        raise click.UsageError("give exactly one of --dir DIR and --kubernetes")
    stop = threading.Event()
    source: Source
    if kubernetes:
        from netfence.agent.kubernetes import KubernetesSource, OfficialClient

        source = KubernetesSource(OfficialClient())
        source.start(stop)
        source.wait_synced()
    else:
        assert directory is not None
        source = DirectorySource(directory)
    applier = Printer() if dry_run else NftApplier(netns)
    agent = Agent(
        source,
        applier,
        node=node,
        options=NftOptions(deny=deny),
        conntrack=ConntrackTool(netns) if strict and not dry_run else None,
        log=lambda line: click.echo(line, err=True),
        on_sync=_status_writer(status_file),
    )
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
    agent.run(stop, poll_interval=poll, min_interval=min_interval)


def _status_writer(path: Path | None) -> Callable[[SyncReport], None]:
    """Each sync's outcome, replaced atomically (write, then rename)."""

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
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(data))
        os.replace(temporary, path)

    return write
