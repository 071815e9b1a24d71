"""``netfence lint``: likely mistakes, with stable IDs."""

from __future__ import annotations

import sys

import click

from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    echo_partial,
    exit_code,
    live_options,
    load,
    manifest_options,
    strict_input_option,
)
from netfence.render.json_text import json_text


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
@strict_input_option
@live_options
def lint_command(
    fail_on: str,
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """Check policies for likely mistakes (stable IDs; rationale and fix in docs/lint.md).

    Without pods in the input (a policy repository), checks that need them are
    skipped and named on one line; DNS (NF101, NF113) is judged for the pods
    the policies name and the conventional kube-dns pods. With --strict-input:
    exit 4 when the input was partial.
    """
    from netfence.analysis.lint import lint_report
    from netfence.analysis.lint.findings import SEVERITY_RANK
    from netfence.model.diagnostics import Severity
    from netfence.render.completeness import with_input
    from netfence.render.lint import lint_data, lint_lines, lint_sarif

    loaded = load(files, kustomizations, namespace)
    report = lint_report(loaded.cluster, loaded.compiled)
    findings, skipped = report.findings, report.skipped
    partial = loaded.completeness
    if output == "json":
        click.echo(json_text(with_input(lint_data(findings, skipped), partial)))
    elif output == "sarif":
        click.echo(json_text(lint_sarif(findings, skipped, partial)))
    else:
        click.echo("\n".join(lint_lines(findings, skipped)))
        echo_partial(partial)
    code = EXIT_OK
    if fail_on != "never":
        threshold = SEVERITY_RANK[Severity(fail_on)]
        if any(SEVERITY_RANK[f.severity] >= threshold for f in findings):
            code = EXIT_FAILED
    sys.exit(exit_code(code, partial, strict_input))
