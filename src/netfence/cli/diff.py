"""``netfence diff``: what a change breaks and what it opens."""

from __future__ import annotations

import sys
from typing import Any

import click

from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    MAX_MATRIX_GROUPS,
    echo_partial,
    exit_code,
    family_of,
    ip_family_option,
    live_options,
    live_requested,
    load,
    load_change,
    manifest_options,
    strict_input_option,
)
from netfence.errors import TargetError
from netfence.render.json_text import json_text


@click.command("diff")
@click.option(
    "--apply",
    "changes",
    multiple=True,
    metavar="PATH",
    type=click.Path(allow_dash=True),
    help="Policies applied on top of -f/-k (as kubectl apply: same name replaces). Repeatable.",
)
@click.option(
    "--before", type=click.Path(exists=True), help="A directory of manifests: the state before."
)
@click.option(
    "--after", type=click.Path(exists=True), help="A directory of manifests: the state after."
)
@click.option("--fail-on-loss", is_flag=True, help="Exit 1 when any connection is lost.")
@click.option(
    "--at-scale",
    is_flag=True,
    help="Group the changes by port class instead of declared port (the class analysis' view).",
)
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@ip_family_option
@manifest_options
@strict_input_option
@live_options
def diff_command(
    changes: tuple[str, ...],
    before: str | None,
    after: str | None,
    fail_on_loss: bool,
    at_scale: bool,
    output: str,
    ip_family: str | None,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """What a change breaks: connections lost and gained, by workload and port.

    Either -f/-k BASE (or --live: the cluster as it is) with --apply CHANGE, or
    --before DIR --after DIR. Each change says which policy decides it now; lost
    DNS (kube-dns on 53) comes first. With --strict-input: exit 4 when either
    state's input was partial.

    Computed through the class analysis and its incremental update at any size;
    where it cannot judge (pods or services differ between the states, IPv6, or
    new ipBlocks or port boundaries), pod pair by pair up to 400 workloads, and
    a notice says so.
    """
    from netfence.analysis.diff import State, scale_diff
    from netfence.model.completeness import merged
    from netfence.render.completeness import with_input
    from netfence.render.diff import diff_data, diff_lines

    if before or after:
        if not (before and after) or changes or files or kustomizations or live_requested():
            raise click.UsageError("give --before DIR and --after DIR together, and nothing else")
        old, new = load((before,), (), namespace), load((after,), (), namespace)
    else:
        if not changes:
            raise click.UsageError("give the change with --apply PATH (or --before/--after)")
        old, new = load_change(files, changes, kustomizations, namespace)
    states = State(old.cluster, old.compiled), State(new.cluster, new.compiled)
    family = family_of(ip_family, at_scale)
    if at_scale:
        found = scale_diff(*states)
        if found is None:
            raise TargetError(
                "the class analysis cannot compare these states (pods or services differ, or "
                "the change brings new ipBlocks, networks, nodes peers or port boundaries); "
                "compare them by workload and port without --at-scale"
            )
        diff = found
    else:
        diff = _by_workload_and_port(states, family)
    partial = merged(old.completeness, new.completeness)
    if output == "json":
        click.echo(json_text(with_input(diff_data(diff, partial), partial)))
    else:
        click.echo("\n".join(diff_lines(diff, partial)))
        echo_partial(partial)
    code = EXIT_FAILED if fail_on_loss and diff.lost else EXIT_OK
    sys.exit(exit_code(code, partial, strict_input))


def _by_workload_and_port(states: tuple[Any, Any], family: int | None) -> Any:
    """The changes by workload and declared port: through the class analysis, or
    pod pair by pair (the same answer, quadratic) where it cannot judge."""
    from netfence.analysis.diff import class_diff, class_diff_obstacle, connectivity_diff
    from netfence.analysis.matrix import group_pods
    from netfence.cli.progress import phase

    with phase("comparing the states"):
        found = class_diff(*states, family)
    if found is not None:
        return found
    reason = (
        class_diff_obstacle(*states, family)
        or "the change brings new ipBlocks or port boundaries that split classes"
    )
    workloads = len(group_pods(states[1].cluster))
    if workloads > MAX_MATRIX_GROUPS:
        raise TargetError(
            f"the class analysis cannot compare these states ({reason}), and {workloads:,} "
            f"workloads are more than the {MAX_MATRIX_GROUPS} compared pod pair by pair"
        )
    click.echo(f"notice: compared pod pair by pair: {reason}", err=True)
    with phase("comparing the states pod pair by pair"):
        return connectivity_diff(*states, family)
