"""Options and the load step that every command shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import click

from netfence.errors import InvalidInputError, TargetError

if TYPE_CHECKING:
    from netfence.compile.compiled import CompiledPolicySet
    from netfence.model.cluster import Cluster
    from netfence.model.diagnostics import Diagnostic
    from netfence.model.ports import Protocol

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def manifest_options(func: F) -> F:
    func = click.option(
        "-n",
        "--namespace",
        metavar="NS",
        help="Namespace of objects that have none (as kubectl apply -n). Default: default.",
    )(func)
    func = click.option(
        "--kustomize-engine",
        type=click.Choice(["builtin", "kubectl", "kustomize"]),
        default="builtin",
        show_default=True,
        expose_value=False,
        callback=_kustomize_engine,
        help="Who builds -k: netfence's own kustomize, `kubectl kustomize` or "
        "`kustomize build` (installed, on PATH).",
    )(func)
    func = click.option(
        "-k",
        "--kustomize",
        "kustomizations",
        multiple=True,
        metavar="DIR",
        type=click.Path(),
        help="A kustomization directory, built as kubectl kustomize does "
        "(docs/kustomize.md). Repeatable.",
    )(func)
    func = click.option(
        "-f",
        "--filename",
        "files",
        multiple=True,
        metavar="PATH",
        type=click.Path(allow_dash=True),
        help="Manifest file, directory (recursive) or - for stdin. Repeatable.",
    )(func)
    return func


@dataclass(frozen=True)
class Loaded:
    cluster: Cluster
    compiled: CompiledPolicySet
    diagnostics: tuple[Diagnostic, ...]


def _kustomize_engine(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from netfence.io.kustomize import ENGINE

    ENGINE.set(value)
    return value


def load(files: Sequence[str], kustomizations: Sequence[str], namespace: str | None) -> Loaded:
    """Load and compile; invalid input stops here with every error at once."""
    from netfence.cli.progress import phase
    from netfence.compile import compile_policies
    from netfence.io.cluster import load_cluster
    from netfence.model.diagnostics import Severity

    if not files and not kustomizations:
        raise click.UsageError("no input: give manifests with -f PATH (or -k DIR)")
    with phase("loading manifests"):
        built = load_cluster(files, kustomizations, namespace)
    errors = [d for d in built.diagnostics if d.severity is Severity.ERROR]
    if errors:
        raise InvalidInputError(errors)
    print_diagnostics(d for d in built.diagnostics if d.severity is not Severity.ERROR)
    return Loaded(built.cluster, compile_policies(built.cluster.policies), built.diagnostics)


def print_diagnostics(diagnostics: Any) -> None:
    for d in diagnostics:
        click.echo(f"{d.severity.value}: {d.format()}", err=True)


def parse_port(value: str | None) -> int | str | None:
    if value is None:
        return None
    if value.isdigit():
        number = int(value)
        if not 1 <= number <= 65535:
            raise TargetError(f"--port {value}: must be between 1 and 65535")
        return number
    return value


def parse_protocol(value: str | None) -> Protocol | None:
    from netfence.model.ports import Protocol

    return None if value is None else Protocol(value.upper())


PROTOCOL_CHOICE = click.Choice(["TCP", "UDP", "SCTP"], case_sensitive=False)


ip_family_option = click.option(
    "--ip-family",
    type=click.Choice(["4", "6"]),
    help="Judge connections in this address family (default: each destination's primary one).",
)


def family_of(ip_family: str | None, whole_cluster: bool) -> int | None:
    if whole_cluster and ip_family == "6":
        raise click.BadParameter(
            "the whole-cluster analysis judges IPv4 connections only", param_hint="--ip-family"
        )
    return int(ip_family) if ip_family else None


MAX_MATRIX_GROUPS = 400


def refuse_huge(cluster: Any) -> None:
    from netfence.analysis.matrix import group_pods

    groups = len(group_pods(cluster))
    if groups > MAX_MATRIX_GROUPS:
        raise TargetError(
            f"{groups:,} workloads: diff compares at most {MAX_MATRIX_GROUPS} workloads today"
        )
