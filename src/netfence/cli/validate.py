"""``netfence validate``: API-server validation, every problem at once."""

from __future__ import annotations

import sys

import click

from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    echo_partial,
    exit_code,
    manifest_options,
    print_diagnostics,
    strict_input_option,
)
from netfence.errors import InvalidInputError
from netfence.render.json_text import json_text


@click.command("validate")
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
@strict_input_option
def validate_command(
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """Validate manifests as the API server would; report every problem at once.

    Exit code 0 when valid, 1 when any object is invalid, 4 with --strict-input
    when valid but partial (objects or fields that netfence does not evaluate).
    """
    from netfence.io.cluster import load_cluster
    from netfence.model.diagnostics import Severity
    from netfence.render.completeness import with_input
    from netfence.render.data import diagnostic_data

    if not files and not kustomizations:
        raise click.UsageError("no input: give manifests with -f PATH (or -k DIR)")
    try:
        built = load_cluster(files, kustomizations, namespace)
        diagnostics = built.diagnostics
    except InvalidInputError as exc:  # unreadable or undecodable documents
        diagnostics, built = exc.diagnostics, None
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    partial = None if built is None else built.completeness
    if output == "json":
        data = {"valid": not errors, "diagnostics": [diagnostic_data(d) for d in diagnostics]}
        click.echo(json_text(with_input(data, partial)))
    else:
        print_diagnostics(diagnostics)
        if built is not None and not errors:
            c = built.cluster
            click.echo(
                f"valid: {len(c.policies)} NetworkPolicies, {len(c.pods)} pods, "
                f"{len(c.services)} services, {len(c.namespaces)} namespaces"
                + (f"; skipped {_skipped(built.skipped)}" if built.skipped else "")
                + (
                    f"; {len(c.other_policies)} policies of other kinds, not evaluated"
                    if c.other_policies
                    else ""
                )
            )
            echo_partial(partial)
        else:
            click.echo(f"invalid: {len(errors)} error(s)", err=True)
    sys.exit(EXIT_FAILED if errors else exit_code(EXIT_OK, partial, strict_input))


def _skipped(skipped: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
