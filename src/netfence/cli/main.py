"""``netfence``: the command line. Heavy modules are imported inside commands so
that start-up stays light."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from netfence import __version__
from netfence.cli.common import (
    PROTOCOL_CHOICE,
    load,
    manifest_options,
    parse_port,
    parse_protocol,
    print_diagnostics,
)
from netfence.errors import EnvironmentProblem, InvalidInputError, NetfenceError, TargetError

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="netfence")
def cli() -> None:
    """Kubernetes NetworkPolicy, decided and explained before anything is applied.

    Input is manifests as kubectl takes them (-f FILE|DIR|-, -k DIR, -n NS).
    Exit codes: 0 ok, 1 a check/test/validation failed, 2 invalid input, 3 environment error.
    """


@cli.command("check")
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@click.option(
    "--port", "-p", metavar="PORT", help="Port number or name (Service port for a Service)."
)
@click.option(
    "--protocol", type=PROTOCOL_CHOICE, help="Default: TCP, or every protocol of the port."
)
@click.option(
    "--resolve",
    "resolves",
    multiple=True,
    metavar="NAME=IP",
    help="Address of a name outside the cluster.",
)
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
def check_command(
    source: str,
    destination: str,
    port: str | None,
    protocol: str | None,
    resolves: tuple[str, ...],
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
) -> None:
    """Decide one connection FROM -> TO and explain it rule by rule.

    FROM and TO: NAMESPACE/POD, NAMESPACE/KIND/NAME (deployment, statefulset,
    daemonset, replicaset, job, cronjob, service: all its pods), an IP address,
    or (TO) a Service's DNS name such as catalog.catalog, which adds the DNS
    lookup to kube-dns as a step. Exit code 0 when allowed, 1 when not.
    """
    from netfence.engine.check import check
    from netfence.engine.targets import resolve_target
    from netfence.render.data import check_data
    from netfence.render.explain import explain_check

    loaded = load(files, kustomizations, namespace)
    hosts = _parse_resolves(resolves)
    src = resolve_target(source, loaded.cluster)
    client_ns = src.pods[0].namespace if src.pods else None
    dst = resolve_target(destination, loaded.cluster, client_ns, hosts)
    report = check(
        loaded.compiled, loaded.cluster, src, dst, parse_port(port), parse_protocol(protocol)
    )
    if output == "json":
        click.echo(json.dumps(check_data(report), indent=2))
    else:
        click.echo("\n".join(explain_check(report)))
    sys.exit(EXIT_OK if report.allowed else EXIT_FAILED)


def _parse_resolves(values: tuple[str, ...]) -> dict[str, Any]:
    import ipaddress

    hosts: dict[str, Any] = {}
    for value in values:
        name, _, ip = value.partition("=")
        try:
            hosts[name.strip().lower()] = ipaddress.ip_address(ip.strip())
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: expected NAME=IP", param_hint="--resolve"
            ) from None
    return hosts


ip_family_option = click.option(
    "--ip-family",
    type=click.Choice(["4", "6"]),
    help="Judge connections in this address family (default: each destination's primary one).",
)


def _family(ip_family: str | None, whole_cluster: bool) -> int | None:
    if whole_cluster and ip_family == "6":
        raise click.BadParameter(
            "the whole-cluster analysis judges IPv4 connections only", param_hint="--ip-family"
        )
    return int(ip_family) if ip_family else None


@cli.command("matrix")
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
@ip_family_option
@manifest_options
def matrix_command(
    port: str | None,
    protocol: str | None,
    only: tuple[str, ...],
    output: str,
    summary: bool,
    ip_family: str | None,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
) -> None:
    """Who can reach whom, pods grouped by workload.

    Without --port each destination is probed on the container ports it
    declares. A cell shows all / some / none of its connections allowed.
    With --summary: for every port class the policies induce, how many ordered
    pod pairs are allowed, and how many pods are isolated per direction (IPv4).
    In a dual-stack cluster the families differ only through ipBlocks: use
    --ip-family 6 to see IPv6.
    """
    from netfence.analysis.matrix import connectivity_matrix, group_pods
    from netfence.render.data import matrix_data
    from netfence.render.matrix import matrix_csv, matrix_dot, matrix_table

    family = _family(ip_family, summary)
    loaded = load(files, kustomizations, namespace)
    if summary:
        _print_summary(loaded, output)
        return
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
        click.echo(json.dumps(matrix_data(matrix), indent=2))
    elif output == "csv":
        click.echo(matrix_csv(matrix), nl=False)
    elif output == "dot":
        click.echo(matrix_dot(matrix), nl=False)
    else:
        matrix_table(matrix)


MAX_MATRIX_GROUPS = 400


def _print_summary(loaded: Any, output: str) -> None:
    from netfence.analysis.scale.summary import ClusterAnalysis
    from netfence.cli.progress import phase
    from netfence.render.summary import summary_data, summary_lines

    if output in ("csv", "dot"):
        raise click.BadParameter("--summary prints table or json", param_hint="-o")
    with phase("analysing the whole cluster"):
        result = ClusterAnalysis(loaded.cluster, loaded.compiled).summary()
    if output == "json":
        click.echo(json.dumps(summary_data(result), indent=2))
    else:
        click.echo("\n".join(summary_lines(result)))


@cli.command("test")
@click.argument("expectations", metavar="EXPECTATIONS", type=click.Path(allow_dash=True))
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
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


@cli.command("diff")
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
    help="Use the class analysis and its incremental update (automatic past 400 workloads).",
)
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@ip_family_option
@manifest_options
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
) -> None:
    """What a change breaks: connections lost and gained, by workload and port.

    Either -f/-k BASE with --apply CHANGE, or --before DIR --after DIR. Each change
    says which policy decides it now; lost DNS (kube-dns on 53) comes first.
    """
    from netfence.analysis.diff import State, connectivity_diff, scale_diff
    from netfence.analysis.matrix import group_pods
    from netfence.render.diff import diff_data, diff_lines

    if before or after:
        if not (before and after) or changes or files or kustomizations:
            raise click.UsageError("give --before DIR and --after DIR together, and nothing else")
        old, new = load((before,), (), namespace), load((after,), (), namespace)
    else:
        if not changes:
            raise click.UsageError("give the change with --apply PATH (or --before/--after)")
        old = load(files, kustomizations, namespace)
        new = load((*files, *changes), kustomizations, namespace)
    states = State(old.cluster, old.compiled), State(new.cluster, new.compiled)
    whole_cluster = at_scale or len(group_pods(new.cluster)) > MAX_MATRIX_GROUPS
    family = _family(ip_family, whole_cluster)
    if whole_cluster:
        found = scale_diff(*states)
        if found is None:
            raise TargetError(
                "the class analysis cannot compare these states (pods or services differ, or "
                "the change brings new ipBlocks or port boundaries); compare up to "
                f"{MAX_MATRIX_GROUPS} workloads without --at-scale"
            )
        diff = found
    else:
        diff = connectivity_diff(*states, family)
    if output == "json":
        click.echo(json.dumps(diff_data(diff), indent=2))
    else:
        click.echo("\n".join(diff_lines(diff)))
    sys.exit(EXIT_FAILED if fail_on_loss and diff.lost else EXIT_OK)


def _refuse_huge(cluster: Any) -> None:
    from netfence.analysis.matrix import group_pods

    groups = len(group_pods(cluster))
    if groups > MAX_MATRIX_GROUPS:
        raise TargetError(
            f"{groups:,} workloads: diff compares at most {MAX_MATRIX_GROUPS} workloads today"
        )


@cli.command("lint")
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


@cli.command("report")
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
    _refuse_huge(loaded.cluster)
    with phase("computing the report"):
        data = report_data(loaded.compiled, loaded.cluster, _family(ip_family, False))
    try:
        Path(path).write_text(report_html(data, title), encoding="utf-8")
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot write: {exc.strerror}") from exc
    click.echo(f"wrote {path}: {len(data.groups)} workloads, {len(data.findings)} lint findings")


@cli.command("validate")
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


@cli.command("demo")
@click.option("--scenario", default="eks-retail", show_default=True, help="A bundled scenario.")
@click.option("--explain", is_flag=True, help="Full rule-by-rule explanations, as check prints.")
def demo_command(scenario: str, explain: bool) -> None:
    """Replay a bundled scenario step by step: the EKS workshop "Egress control"."""
    from netfence.cli.demo import run_demo

    run_demo(scenario, explain)


@cli.command("scenario")
@click.argument("name", required=False)
def scenario_command(name: str | None) -> None:
    """Print the directory of a bundled scenario (or list them), to use its files with -f/-k."""
    from netfence.io.scenarios import bundled_names, scenario_dir

    if name is None:
        click.echo("\n".join(bundled_names()))
    else:
        click.echo(str(scenario_dir(name)))


def _register_commands() -> None:
    from netfence.cli.agent import agent_command
    from netfence.cli.lab import lab_group

    cli.add_command(agent_command)
    cli.add_command(lab_group)


_register_commands()


def main() -> None:
    """Entry point: the one place where netfence's exceptions become messages and exit codes."""
    name = os.path.basename(sys.argv[0]) if sys.argv else "netfence"
    prog = "kubectl netfence" if name == "kubectl-netfence" else "netfence"  # a kubectl plugin
    try:
        cli.main(standalone_mode=False, prog_name=prog)
    except InvalidInputError as exc:
        for d in exc.diagnostics:
            click.echo(f"error: {d.format()}", err=True)
        sys.exit(exc.exit_code)
    except NetfenceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_INPUT)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.exit(EXIT_OK)
    except MemoryError:  # the input bounds (docs/limits.md) keep inputs far below this
        click.echo("error: out of memory (see docs/limits.md for the input bounds)", err=True)
        sys.exit(EnvironmentProblem.exit_code)
    except Exception as exc:  # a bug: say so briefly, unless debugging
        if os.environ.get("NETFENCE_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc} (set NETFENCE_DEBUG=1 for details)",
            err=True,
        )
        sys.exit(70)
