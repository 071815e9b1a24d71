"""``netfence matrix``: who reaches whom, by workload or as whole-cluster counts."""

from __future__ import annotations

import gc
import sys
from typing import TYPE_CHECKING, Any

import click

from netfence.cli.common import (
    EXIT_OK,
    MAX_MATRIX_GROUPS,
    PROTOCOL_CHOICE,
    echo_partial,
    exit_code,
    family_of,
    ip_family_option,
    live_options,
    load,
    manifest_options,
    parse_port,
    parse_protocol,
    strict_input_option,
)
from netfence.errors import TargetError

if TYPE_CHECKING:
    from netfence.model.completeness import Completeness
from netfence.render.json_text import json_text


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
@click.option(
    "--endpoint",
    "endpoints",
    multiple=True,
    metavar="NS:KEY=VALUE,...",
    help="Add a described endpoint (a hypothetical pod of NS with exactly these labels) "
    "as a row and column; needs a numeric --port. Repeatable.",
)
@ip_family_option
@manifest_options
@strict_input_option
@live_options
def matrix_command(
    port: str | None,
    protocol: str | None,
    only: tuple[str, ...],
    output: str,
    summary: bool,
    endpoints: tuple[str, ...],
    ip_family: str | None,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """Who can reach whom, pods grouped by workload.

    Without --port each destination is probed on the container ports it
    declares. A cell shows all / some / none of its connections between
    distinct pods allowed; a pod reaching itself is always allowed and not
    counted (↺: a cell with nothing else, such as a one-pod workload to itself).
    With --summary: for every port class the policies induce, how many ordered
    pod pairs are allowed (cluster-wide tiers included), and how many pods
    NetworkPolicies isolate per direction (IPv4).
    In a dual-stack cluster the families differ only through ipBlocks: use
    --ip-family 6 to see IPv6. Without pods in the input (a policy repository),
    add described endpoints with --endpoint, or it is an error (exit 2).
    With --strict-input: exit 4 when the input was partial.
    """
    family = family_of(ip_family, summary)
    loaded = load(files, kustomizations, namespace)
    if endpoints:
        loaded = _with_endpoints(loaded, endpoints, port, summary, ip_family)
    _require_pods(loaded.cluster, only)
    partial = loaded.completeness
    if summary:
        sys.exit(exit_code(EXIT_OK, _print_summary(loaded, output), strict_input))
    from netfence.analysis.matrix import connectivity_matrix, group_pods
    from netfence.render.data import matrix_data
    from netfence.render.matrix import matrix_csv, matrix_dot, matrix_table

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
        click.echo(json_text(matrix_data(matrix, partial)))
    elif output == "csv":
        click.echo(matrix_csv(matrix), nl=False)
        _partial_comments(partial, "", err=True)  # CSV has no comments
    elif output == "dot":
        click.echo(matrix_dot(matrix), nl=False)
        _partial_comments(partial, "// ", err=False)
    else:
        matrix_table(matrix)
        echo_partial(partial)
    sys.exit(exit_code(EXIT_OK, partial, strict_input))


def _partial_comments(partial: Any, prefix: str, err: bool) -> None:
    """The PARTIAL INPUT block as DOT comments after the graph; CSV has no comments,
    so there it goes to stderr."""
    from netfence.render.completeness import partial_lines

    for line in partial_lines(partial)[1:]:
        click.echo(f"{prefix}{line}", err=err)


def _with_endpoints(
    loaded: Any,
    endpoints: tuple[str, ...],
    port: str | None,
    summary: bool,
    ip_family: str | None,
) -> Any:
    """The input's cluster with the described pods added."""
    from dataclasses import replace

    from netfence.engine.targets import resolve_target

    if summary or ip_family:
        raise click.BadParameter(
            "described endpoints have no address: not with --summary or --ip-family",
            param_hint="--endpoint",
        )
    if not isinstance(parse_port(port), int):
        raise click.BadParameter(
            "described endpoints declare no container ports: give a port number with --port",
            param_hint="--endpoint",
        )
    pods = list(loaded.cluster.pods)
    for text in endpoints:
        target = resolve_target(text, loaded.cluster)
        if not target.described:
            raise TargetError(f"--endpoint {text!r}: expected NAMESPACE:key=value,...")
        if target.pods[0] not in pods:
            pods.append(target.pods[0])
    return replace(loaded, cluster=replace(loaded.cluster, pods=tuple(pods)))


def _require_pods(cluster: Any, only: tuple[str, ...]) -> None:
    """A matrix of nothing is no answer: say what is missing (exit 2)."""
    if not cluster.pods:
        raise TargetError(
            "no pods in the input, so no matrix: give the pods the policies apply to "
            "(Pod or workload manifests such as Deployments, or kubectl get pods -A -o yaml); "
            "or describe endpoints by namespace and labels: "
            "--endpoint 'NS:key=value' --port N (also in check and test)"
        )
    if only and not any(p.namespace in only for p in cluster.pods):
        raise TargetError(
            f"no pods in namespace(s) {', '.join(only)} (--namespace-filter): nothing to show"
        )


def _print_summary(loaded: Any, output: str) -> Completeness:
    from netfence.analysis.scale.summary import FREEZE_AT, ClusterAnalysis
    from netfence.cli.progress import phase
    from netfence.render.completeness import with_input
    from netfence.render.summary import summary_data, summary_lines

    if output in ("csv", "dot"):
        raise click.BadParameter("--summary prints table or json", param_hint="-o")
    with phase("analysing the whole cluster"):
        analysis = ClusterAnalysis(loaded.cluster, loaded.compiled)
        result = analysis.summary()
    partial: Completeness = loaded.completeness  # the analysis evaluates the tiers too
    if output == "json":
        click.echo(json_text(with_input(summary_data(result), partial)))
    else:
        click.echo("\n".join(summary_lines(result)))
        echo_partial(partial)
    if len(loaded.cluster.pods) >= FREEZE_AT:
        _kept_until_exit(loaded, analysis)
    return partial


def _kept_until_exit(*objects: object) -> None:
    """The command ends once its answer is printed: a large cluster and its
    analysis (millions of objects) are not freed one by one on the way out
    (0.2 s of CPU at 100k pods), the operating system takes the memory back at
    once. They are kept by a reference cycle moved out of the collector's
    generations (gc.freeze), which no collection ever looks at."""
    kept: list[object] = [*objects]
    kept.append(kept)
    gc.freeze()
