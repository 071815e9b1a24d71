"""Options and the load step that every command shares."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from netfence.api import Loaded, compiled
from netfence.errors import InvalidInputError, TargetError
from netfence.model.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from netfence.model.completeness import Completeness
    from netfence.model.ports import Protocol
    from netfence.parse.build import BuildResult

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2
EXIT_PARTIAL = 4  # --strict-input: the answer was computed from a partial input


def strict_input_option(func: F) -> F:
    return click.option(
        "--strict-input",
        is_flag=True,
        help="Exit 4 when anything in the input was not evaluated (skipped kinds, "
        "other policy kinds, kustomize fields not applied): see docs/input.md.",
    )(func)


_LIVE = "netfence.live"  # ctx.meta key: the live options, then what was read (read once)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    ctx.meta.setdefault(_LIVE, {})[param.name] = value
    return value


def live_options(func: F) -> F:
    """--live, --kubeconfig, --context: kept on the click context for load(), so the
    commands' signatures do not change (see docs/live.md)."""
    for option in (
        click.option(
            "--context",
            "live_context",
            metavar="NAME",
            expose_value=False,
            callback=_remember,
            help="With --live: the kubeconfig context to use (default: its current-context).",
        ),
        click.option(
            "--kubeconfig",
            metavar="PATH",
            expose_value=False,
            callback=_remember,
            help="With --live: the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).",
        ),
        click.option(
            "--live",
            is_flag=True,
            expose_value=False,
            callback=_remember,
            help="Read the cluster of the kubeconfig context (the base; -f/-k apply on top).",
        ),
    ):
        func = option(func)
    return func


def live_requested() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.meta.get(_LIVE, {}).get("live"))


def _live_read() -> Any:
    """What --live read (once per command), or None without --live."""
    ctx = click.get_current_context(silent=True)
    options = ctx.meta.get(_LIVE, {}) if ctx else {}
    if not options.get("live"):
        for name, flag in (("kubeconfig", "--kubeconfig"), ("live_context", "--context")):
            if options.get(name):
                raise click.UsageError(f"{flag} reads a cluster only with --live")
        return None
    if "read" not in options:
        from netfence.cli.progress import phase
        from netfence.io.live import read_live

        with phase("reading the cluster"):
            options["read"] = read_live(options.get("kubeconfig"), options.get("live_context"))
    return options["read"]


def _live_said(live: Any) -> tuple[Any, ...]:
    """The read's own notices when an earlier load() of this command printed them."""
    ctx = click.get_current_context(silent=True)
    if live is None or ctx is None:
        return ()
    options = ctx.meta[_LIVE]
    said = tuple(live.diagnostics) if options.get("said") else ()
    options["said"] = True
    return said


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


def _kustomize_engine(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    from netfence.io.kustomize import ENGINE

    ENGINE.set(value)
    return value


def load(
    files: Sequence[str],
    kustomizations: Sequence[str],
    namespace: str | None,
    leave_out_invalid: bool = True,
) -> Loaded:
    """Load and compile. Objects with errors are reported (every error at once) and
    left out: the answer says so where it is printed and the command exits 2, as
    kubectl apply goes on with the valid objects and fails. ``leave_out_invalid``
    False (the lab): any error stops here."""
    from netfence.cli.progress import phase
    from netfence.io.cluster import load_cluster

    live = _live_read()
    if not files and not kustomizations and live is None:
        raise click.UsageError("no input: give manifests with -f PATH (or -k DIR), or --live")
    with phase("loading manifests"):
        if live is None:
            built = load_cluster(files, kustomizations, namespace)
        else:
            from netfence.io.live import load_with_live

            built = load_with_live(live, files, kustomizations, namespace)
    said = _live_said(live)  # what the read itself reports, once per command (diff loads twice)
    return _compiled_leaving_out(
        built, [d for d in built.diagnostics if d not in said], leave_out_invalid
    )


def load_change(
    files: Sequence[str],
    changes: Sequence[str],
    kustomizations: Sequence[str],
    namespace: str | None,
) -> tuple[Loaded, Loaded]:
    """The states before and after ``changes`` are applied over the input (diff):
    read and converted once (``io.cluster.load_cluster_change``), with --live over
    the objects read from the cluster."""
    from netfence.cli.progress import phase
    from netfence.io.cluster import load_cluster_change

    live = _live_read()
    if live is None and not (files or kustomizations):
        raise click.UsageError("no input: give manifests with -f PATH (or -k DIR), or --live")
    with phase("loading manifests"):
        before, after = load_cluster_change(
            files,
            changes,
            kustomizations,
            namespace,
            () if live is None else live.documents,
            () if live is None else live.diagnostics,
        )
    both = list(dict.fromkeys([*before.diagnostics, *after.diagnostics]))  # each said once
    return _compiled_leaving_out(before, both), _compiled_leaving_out(after, [])


class _Run:
    """What loading learned that sets the command's exit code (exit_code reads it)."""

    invalid_left_out = False


RUN = _Run()


def _compiled_leaving_out(
    built: BuildResult, shown: Sequence[Diagnostic], leave_out_invalid: bool = True
) -> Loaded:
    """``built`` compiled without its invalid objects, after printing ``shown``
    (errors first, each with ``error:``). The build already left them out of the
    cluster; the completeness names them."""
    from netfence.model.completeness import with_invalid_left_out

    errors = [d for d in built.diagnostics if d.severity is Severity.ERROR]
    if errors and not leave_out_invalid:
        raise InvalidInputError(errors)
    print_diagnostics(sorted(shown, key=lambda d: d.severity is not Severity.ERROR))
    if not errors:
        return compiled(built)
    RUN.invalid_left_out = True
    loaded = compiled(built, leave_out_invalid=True)
    return dataclasses.replace(
        loaded, completeness=with_invalid_left_out(loaded.completeness, errors)
    )


def echo_partial(completeness: Completeness | None) -> None:
    """The PARTIAL INPUT block on stdout, beside the answer (nothing when complete)."""
    from netfence.render.completeness import partial_lines

    lines = partial_lines(completeness)
    if lines:
        click.echo("\n".join(lines))


def exit_code(code: int, completeness: Completeness | None, strict_input: bool) -> int:
    """``code``, unless objects with errors were left out (2: the input is invalid)
    or --strict-input was given and the input was partial (4: the answer itself is
    not to be trusted)."""
    if RUN.invalid_left_out:
        return EXIT_INPUT
    if strict_input and completeness is not None and completeness.partial:
        return EXIT_PARTIAL
    return code


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
