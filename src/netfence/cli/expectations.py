"""``netfence test EXPECTATIONS``: connectivity tests as code."""

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


@click.command("test")
@click.argument("expectations", metavar="EXPECTATIONS", type=click.Path(allow_dash=True))
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
@live_options
def test_command(
    expectations: str,
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
) -> None:
    """Connectivity tests as code, for CI.

    EXPECTATIONS is a YAML list of {from, to, port, protocol, allowed} (protocol
    defaults to TCP; optional name, resolve). Exit code 0 when every expectation
    holds, 1 when any fails, 2 for invalid input.
    """
    from netfence.analysis.expectations import run_expectations
    from netfence.io.expectations import read_expectations
    from netfence.render.data import expectations_data
    from netfence.render.expectations import expectations_text

    items = read_expectations(expectations)
    loaded = load(files, kustomizations, namespace)
    results = run_expectations(loaded.compiled, loaded.cluster, items)
    if output == "json":
        click.echo(json.dumps(expectations_data(results), indent=2))
    else:
        click.echo("\n".join(expectations_text(results)))
    sys.exit(EXIT_OK if all(r.ok for r in results) else EXIT_FAILED)
