"""``netfence report``: one self-contained HTML page."""

from __future__ import annotations

import click

from netfence.cli.common import (
    family_of,
    ip_family_option,
    live_options,
    load,
    manifest_options,
    refuse_huge,
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
@ip_family_option
@manifest_options
@live_options
def report_command(
    path: str,
    title: str,
    ip_family: str | None,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
) -> None:
    """One HTML page: heatmap by workload, graph of allowed flows, filters, lint findings,
    and the explanation of any cell."""
    from pathlib import Path

    from netfence.analysis.report import report_data
    from netfence.cli.progress import phase
    from netfence.render.report import report_html

    loaded = load(files, kustomizations, namespace)
    refuse_huge(loaded.cluster)
    with phase("computing the report"):
        data = report_data(loaded.compiled, loaded.cluster, family_of(ip_family, False))
    try:
        Path(path).write_text(report_html(data, title), encoding="utf-8")
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot write: {exc.strerror}") from exc
    click.echo(f"wrote {path}: {len(data.groups)} workloads, {len(data.findings)} lint findings")
