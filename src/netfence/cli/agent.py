"""``netfence agent``: keep a node's nftables ruleset equal to the desired state."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import click


@click.command("agent")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory of manifests (namespaces, pods, services, policies), watched.",
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
