"""``netfence snapshot``: save what a live read sees, to analyse it offline with -f."""

from __future__ import annotations

import click

from netfence.errors import EnvironmentProblem


@click.command("snapshot")
@click.option(
    "-o",
    "--output",
    "path",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The file to write, or - for stdout.",
)
@click.option(
    "--format",
    "form",
    type=click.Choice(["yaml", "list", "json"]),
    default="yaml",
    show_default=True,
    help="yaml: one document per object; list: one v1 List in YAML; json: a v1 List in JSON.",
)
@click.option(
    "--kubeconfig",
    metavar="PATH",
    help="The kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).",
)
@click.option(
    "--context",
    "context",
    metavar="NAME",
    help="The kubeconfig context to read (default: its current-context).",
)
def snapshot_command(path: str, form: str, kubeconfig: str | None, context: str | None) -> None:
    """Read the cluster (as --live does) and save it, so that an incident can be
    analysed offline (-f FILE) and attached to a ticket.

    Saved: Namespaces, Nodes, Pods, Services, workloads, NetworkPolicies and the
    policy CRDs the cluster serves. Left out of every object: managedFields, the
    last-applied-configuration annotation and the containers' env, envFrom,
    command and args.
    """
    import sys
    from pathlib import Path

    from netfence.cli.common import print_diagnostics
    from netfence.cli.progress import phase
    from netfence.io.live import read_live
    from netfence.io.snapshot import snapshot_text

    with phase("reading the cluster"):
        read = read_live(kubeconfig, context)
    print_diagnostics(read.diagnostics)
    text = snapshot_text(read, form)
    if path == "-":
        sys.stdout.write(text)
    else:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise EnvironmentProblem(f"{path}: cannot write: {exc.strerror}") from exc
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(read.counts().items()))
    where = "stdout" if path == "-" else path
    click.echo(
        f"wrote {where}: {len(read.documents)} objects from context {read.context}"
        + (f" ({counts})" if counts else ""),
        err=True,
    )
