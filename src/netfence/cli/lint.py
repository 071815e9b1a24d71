"""``netfence lint``: likely mistakes, with stable IDs."""

from __future__ import annotations

import json
import sys

import click

from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    live_options,
    load,
    manifest_options,
)


@click.command("lint")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "notice", "never"]),
    default="error",
    show_default=True,
    help="Exit 1 when a finding is at least this severe.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["text", "json", "sarif"]),
    default="text",
    show_default=True,
)
@manifest_options
@live_options
def lint_command(
    fail_on: str,
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
) -> None:
    """Check policies for likely mistakes (stable IDs; rationale and fix in docs/lint.md)."""
    from netfence.analysis.lint import lint
    from netfence.analysis.lint.findings import SEVERITY_RANK
    from netfence.model.diagnostics import Severity
    from netfence.render.lint import lint_data, lint_lines, lint_sarif

    loaded = load(files, kustomizations, namespace)
    findings = lint(loaded.cluster, loaded.compiled)
    if output == "json":
        click.echo(json.dumps(lint_data(findings), indent=2))
    elif output == "sarif":
        click.echo(json.dumps(lint_sarif(findings), indent=2))
    else:
        click.echo("\n".join(lint_lines(findings)))
    if fail_on != "never":
        threshold = SEVERITY_RANK[Severity(fail_on)]
        sys.exit(
            EXIT_FAILED
            if any(SEVERITY_RANK[f.severity] >= threshold for f in findings)
            else EXIT_OK
        )
