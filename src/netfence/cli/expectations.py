"""``netfence test EXPECTATIONS``: connectivity tests as code."""

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


@click.command("test")
@click.argument("expectations", metavar="EXPECTATIONS", type=click.Path(allow_dash=True))
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
@strict_input_option
@live_options
def test_command(
    expectations: str,
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """Connectivity tests as code, for CI.

    EXPECTATIONS is a YAML list of {from, to, port, protocol, allowed} (protocol
    defaults to TCP; optional name, resolve). fromLabels/toLabels ({namespace,
    labels, ports}) describe an end without pod manifests (docs/expectations.md).
    Exit code 0 when every expectation holds, 1 when any fails, 2 for invalid
    input (4 with --strict-input when the input was partial).
    """
    from netfence.analysis.expectations import run_expectations
    from netfence.io.expectations import read_expectations
    from netfence.render.completeness import with_input
    from netfence.render.data import expectations_data
    from netfence.render.expectations import expectations_text

    items = read_expectations(expectations)
    loaded = load(files, kustomizations, namespace)
    results = run_expectations(loaded.compiled, loaded.cluster, items)
    partial = loaded.completeness
    if output == "json":
        click.echo(json_text(with_input(expectations_data(results), partial)))
    else:
        click.echo("\n".join(expectations_text(results)))
        echo_partial(partial)
    code = EXIT_OK if all(r.ok for r in results) else EXIT_FAILED
    sys.exit(exit_code(code, partial, strict_input))
