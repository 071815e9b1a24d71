"""``netfence matrix``: who reaches whom, by workload or as whole-cluster counts."""

from __future__ import annotations

import json
from typing import Any

import click

from netfence.cli.common import (
    MAX_MATRIX_GROUPS,
    PROTOCOL_CHOICE,
    family_of,
    ip_family_option,
    live_options,
    load,
    manifest_options,
    parse_port,
    parse_protocol,
)
from netfence.errors import TargetError


@click.command("matrix")
@click.option("--port", "-p", metavar="PORT", help="Probe this port (number or name) on every pod.")
@click.option("--protocol", type=PROTOCOL_CHOICE)
@click.option(
    "--namespace-filter",
    "only",
    multiple=True,
    metavar="NS",
    help="Show only these namespaces. Repeatable.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "csv", "dot"]),
    default="table",
    show_default=True,
)
@click.option("--summary", is_flag=True, help="Whole-cluster counts per port class (any size).")
@ip_family_option
@manifest_options
@live_options
def matrix_command(
    port: str | None,
    protocol: str | None,
    only: tuple[str, ...],
    output: str,
    summary: bool,
    ip_family: str | None,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
) -> None:
    """Who can reach whom, pods grouped by workload.

    Without --port each destination is probed on the container ports it
    declares. A cell shows all / some / none of its connections allowed.
    With --summary: for every port class the policies induce, how many ordered
    pod pairs are allowed, and how many pods are isolated per direction (IPv4).
    In a dual-stack cluster the families differ only through ipBlocks: use
    --ip-family 6 to see IPv6.
    """
    from netfence.analysis.matrix import connectivity_matrix, group_pods
    from netfence.render.data import matrix_data
    from netfence.render.matrix import matrix_csv, matrix_dot, matrix_table

    family = family_of(ip_family, summary)
    loaded = load(files, kustomizations, namespace)
    if summary:
        _print_summary(loaded, output)
        return
    groups = len(group_pods(loaded.cluster, only))
    if groups > MAX_MATRIX_GROUPS:
        raise TargetError(
            f"{groups:,} workloads make a {groups:,}×{groups:,} matrix: use --summary, "
            f"or --namespace-filter to show at most {MAX_MATRIX_GROUPS} workloads"
        )
    matrix = connectivity_matrix(
        loaded.compiled, loaded.cluster, parse_port(port), parse_protocol(protocol), only, family
    )
    if output == "json":
        click.echo(json.dumps(matrix_data(matrix), indent=2))
    elif output == "csv":
        click.echo(matrix_csv(matrix), nl=False)
    elif output == "dot":
        click.echo(matrix_dot(matrix), nl=False)
    else:
        matrix_table(matrix)


def _print_summary(loaded: Any, output: str) -> None:
    from netfence.analysis.scale.summary import ClusterAnalysis
    from netfence.cli.progress import phase
    from netfence.render.summary import summary_data, summary_lines

    if output in ("csv", "dot"):
        raise click.BadParameter("--summary prints table or json", param_hint="-o")
    with phase("analysing the whole cluster"):
        result = ClusterAnalysis(loaded.cluster, loaded.compiled).summary()
    if output == "json":
        click.echo(json.dumps(summary_data(result), indent=2))
    else:
        click.echo("\n".join(summary_lines(result)))
