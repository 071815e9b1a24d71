"""``netfence report``: one self-contained HTML page."""

from __future__ import annotations

import sys

import click

from netfence.cli.common import (
    EXIT_OK,
    echo_partial,
    exit_code,
    family_of,
    ip_family_option,
    live_options,
    load,
    manifest_options,
    strict_input_option,
)
from netfence.errors import EnvironmentProblem


@click.command("report")
@click.option(
    "-o",
    "--output",
    "path",
    required=True,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The HTML file to write (self-contained: opens without network access).",
)
@click.option("--title", default="netfence report", show_default=True)
@click.option(
    "--namespace-filter",
    "only",
    multiple=True,
    metavar="NS",
    help="Show only these namespaces (the policies of all still apply). Repeatable.",
)
@ip_family_option
@manifest_options
@strict_input_option
@live_options
def report_command(
    path: str,
    title: str,
    only: tuple[str, ...],
    ip_family: str | None,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """One HTML page: heatmap by workload, graph of allowed flows, filters, lint findings,
    and the explanation of any cell. A partial input shows as a banner at the top
    (and exits 4 with --strict-input).

    Past 60 workloads the page aggregates by namespace (and says so): a
    namespace × namespace heatmap from the whole-cluster analysis (IPv4), with
    the workload cells of as many namespace pairs as the page embeds (within a
    namespace first); --namespace-filter shows chosen namespaces only.
    """
    from pathlib import Path

    from netfence.analysis.matrix import group_pods
    from netfence.analysis.report import MAX_WORKLOADS, report_data
    from netfence.analysis.scale.summary import without_cyclic_gc
    from netfence.cli.progress import phase
    from netfence.render.report import report_html

    loaded = load(files, kustomizations, namespace)
    present = {p.namespace for p in loaded.cluster.pods}
    missing = [n for n in only if n not in present]
    if missing:
        raise click.BadParameter(
            f"no pod in namespace(s) {', '.join(missing)}", param_hint="--namespace-filter"
        )
    workloads = len(group_pods(loaded.cluster, only))
    family = family_of(ip_family, workloads > MAX_WORKLOADS)
    # the report makes no reference cycles: the collector would only walk the loaded
    # cluster again and again (a quarter of the command at 1k pods)
    with without_cyclic_gc():
        with phase("computing the report"):
            data = report_data(loaded.compiled, loaded.cluster, family, only)
        partial = loaded.completeness  # both views evaluate the cluster-wide tiers
        page = report_html(data, title, partial)
    try:
        Path(path).write_text(page, encoding="utf-8")
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot write: {exc.strerror}") from exc
    agg = data.aggregated
    shown = (
        f"{workloads:,} workloads"
        if agg is None
        else f"{workloads:,} workloads aggregated by namespace ({len(agg.namespaces):,} "
        f"namespaces, workloads embedded for {len(agg.drill):,} namespace pairs)"
    )
    click.echo(
        f"wrote {path}: {shown}, {len(data.findings)} lint findings"
        + (" (PARTIAL INPUT: see the banner at the top)" if partial.partial else "")
    )
    echo_partial(partial)
    sys.exit(exit_code(EXIT_OK, partial, strict_input))
