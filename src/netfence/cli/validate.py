"""``netfence validate``: API-server validation, every problem at once."""

from __future__ import annotations

import json
import sys

import click

from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    manifest_options,
    print_diagnostics,
)
from netfence.errors import InvalidInputError


@click.command("validate")
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
def validate_command(
    output: str, files: tuple[str, ...], kustomizations: tuple[str, ...], namespace: str | None
) -> None:
    """Validate manifests as the API server would; report every problem at once.

    Exit code 0 when valid, 1 when any object is invalid.
    """
    from netfence.io.cluster import load_cluster
    from netfence.model.diagnostics import Severity
    from netfence.render.data import diagnostic_data

    if not files and not kustomizations:
        raise click.UsageError("no input: give manifests with -f PATH (or -k DIR)")
    try:
        built = load_cluster(files, kustomizations, namespace)
        diagnostics = built.diagnostics
    except InvalidInputError as exc:  # unreadable or undecodable documents
        diagnostics, built = exc.diagnostics, None
    errors = [d for d in diagnostics if d.severity is Severity.ERROR]
    if output == "json":
        click.echo(
            json.dumps(
                {"valid": not errors, "diagnostics": [diagnostic_data(d) for d in diagnostics]},
                indent=2,
            )
        )
    else:
        print_diagnostics(diagnostics)
        if built is not None and not errors:
            c = built.cluster
            click.echo(
                f"valid: {len(c.policies)} NetworkPolicies, {len(c.pods)} pods, "
                f"{len(c.services)} services, {len(c.namespaces)} namespaces"
                + (f"; skipped {_skipped(built.skipped)}" if built.skipped else "")
            )
        else:
            click.echo(f"invalid: {len(errors)} error(s)", err=True)
    sys.exit(EXIT_FAILED if errors else EXIT_OK)


def _skipped(skipped: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
