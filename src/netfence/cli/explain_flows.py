"""``netfence explain-flows FLOWS -f CLUSTER``: observed flows mapped to pods and
explained by the engine, the disagreements first."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

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

if TYPE_CHECKING:
    from netfence.analysis.flows import AddressBook
    from netfence.api import Loaded
    from netfence.model.flows import FlowFile
    from netfence.model.policy import IPNetwork

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ["netfence", "hubble", "eks", "vpc"]


def flow_options(func: F) -> F:
    """FLOWS, --format and --pod-cidr: what explain-flows and generate share."""
    func = click.option(
        "--pod-cidr",
        "pod_cidrs",
        multiple=True,
        metavar="CIDR",
        help="The cluster's pod address range (repeatable): an address in it that no pod "
        "of the snapshot has is reported as not attributed, never taken for an outside host.",
    )(func)
    func = click.option(
        "--format",
        "flow_format",
        type=click.Choice(FORMATS),
        help="The flow files' format (default: recognised from their first records).",
    )(func)
    return click.argument("flow_files", metavar="FLOWS...", nargs=-1, required=True)(func)


def read_flow_files(paths: Sequence[str], flow_format: str | None) -> list[FlowFile]:
    from netfence.io.manifests import read_text
    from netfence.model.flows import FlowFormat
    from netfence.parse.flows import read_flows

    forced = FlowFormat(flow_format) if flow_format else None
    return [read_flows(read_text(path), path, forced) for path in paths]


def address_book(loaded: Loaded, pod_cidrs: Sequence[str]) -> AddressBook:
    from netfence.analysis.flows import AddressBook

    return AddressBook(loaded.cluster, [_network(c) for c in pod_cidrs])


def _network(text: str) -> IPNetwork:
    import ipaddress

    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected a CIDR", param_hint="--pod-cidr") from None


@click.command("explain-flows")
@flow_options
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
@strict_input_option
@live_options
def explain_flows_command(
    flow_files: tuple[str, ...],
    flow_format: str | None,
    pod_cidrs: tuple[str, ...],
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """Explain observed flows: each mapped to its pods through the cluster
    (-f/-k: manifests or a `netfence snapshot`) and decided by the engine (which
    policy, rule and tier decides it now).

    FLOWS: netfence audit records, Hubble JSON (hubble observe -o json), the EKS
    network policy agent's flow log, or VPC Flow Logs (default format, or a custom
    one with its header line); see docs/flows.md. Flows whose logged verdict
    disagrees with the engine come first (drift, or an enforcement bug), then the
    rest by workload pair and port. Replies are counted, not judged. An address
    the snapshot cannot attribute to exactly one pod (reused, two owners, a
    Service IP, a pod that is gone) is listed as not attributed, never guessed.
    Exit code 0, 1 when a flow disagrees, 2 bad input (every bad line located),
    4 with --strict-input when the input was partial or a flow is not attributed.
    """
    from netfence.analysis.flows import Status, explain_flows

    flow_data = read_flow_files(flow_files, flow_format)
    loaded = load(files, kustomizations, namespace)
    book = address_book(loaded, pod_cidrs)
    flows = [f for file in flow_data for f in file.flows]
    result = explain_flows(loaded.compiled, loaded.cluster, flows, book)
    partial = loaded.completeness
    if output == "json":
        from netfence.render.completeness import with_input
        from netfence.render.flows import flows_data
        from netfence.render.json_text import json_text

        click.echo(json_text(with_input(flows_data(result, flow_data), partial)))
    else:
        from netfence.render.flows import flows_lines

        click.echo("\n".join(flows_lines(result, flow_data)))
        echo_partial(partial)
    code = EXIT_FAILED if result.disagreements else EXIT_OK
    if strict_input and result.of(Status.AMBIGUOUS):
        code = 4
    sys.exit(exit_code(code, partial, strict_input))
