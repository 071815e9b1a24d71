"""``netfence``: the command line. Heavy modules are imported inside commands so
that start-up stays light."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from netfence import __version__
from netfence.cli.common import EXIT_INPUT, EXIT_OK
from netfence.errors import EnvironmentProblem, InvalidInputError, NetfenceError
from netfence.render.terminal import install as install_safe_output

# name → "module:attribute": one module per command, imported only when that command
# runs (or when --help lists them all), so `netfence check` loads no other command.
COMMANDS = {
    "check": "netfence.cli.check:check_command",
    "matrix": "netfence.cli.matrix:matrix_command",
    "test": "netfence.cli.expectations:test_command",
    "diff": "netfence.cli.diff:diff_command",
    "lint": "netfence.cli.lint:lint_command",
    "report": "netfence.cli.report:report_command",
    "validate": "netfence.cli.validate:validate_command",
    "demo": "netfence.cli.scenario:demo_command",
    "scenario": "netfence.cli.scenario:scenario_command",
    "agent": "netfence.cli.agent:agent_command",
    "lab": "netfence.cli.lab:lab_group",
    "snapshot": "netfence.cli.snapshot:snapshot_command",
    "explain-flows": "netfence.cli.explain_flows:explain_flows_command",
    "generate": "netfence.cli.generate:generate_command",
}
# commands that run for long (the agent's loop, the lab and its agents): the cyclic
# collector is on for them as for any program (main pauses it for the others)
LONG_RUNNING = frozenset({"agent", "lab"})


class LazyGroup(click.Group):
    """A group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        if cmd_name in LONG_RUNNING and _paused:
            gc.enable()
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="netfence")
def cli() -> None:
    """Kubernetes NetworkPolicy, decided and explained before anything is applied.

    Input is manifests as kubectl takes them (-f FILE|DIR|-, -k DIR, -n NS), or a
    live cluster with --live (--kubeconfig, --context; see docs/live.md).
    Exit codes: 0 ok, 1 a check/test/validation failed, 2 invalid input, 3 environment error,
    4 partial input with --strict-input (docs/input.md).
    """


def main() -> None:
    """Entry point: the one place where netfence's exceptions become messages and exit codes."""
    name = os.path.basename(sys.argv[0]) if sys.argv else "netfence"
    prog = "kubectl netfence" if name == "kubectl-netfence" else "netfence"  # a kubectl plugin
    # Names come from manifests: no control character or lone surrogate in them
    # reaches the terminal raw, and none makes printing crash (render/terminal.py).
    install_safe_output()
    # netfence's numpy work is integer and boolean set algebra, never a BLAS product
    # worth threads; a pool of BLAS threads only costs its start when numpy is
    # imported (30-70 ms of CPU on 2 cores). Set before any command imports numpy.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        with _collector_paused():
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


_paused = False  # main() turned the cyclic collector off (get_command may turn it on)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a command that is not LONG_RUNNING starts
    and runs: importing its modules builds tens of thousands of objects and no
    garbage cycles, and the collector's passes over them were 7 % of `netfence check`
    (bench/startup.py); the loader and the analyses turn it off for their part
    anyway. Reference counting still frees whatever is dropped. Restored after."""
    global _paused
    enabled = gc.isenabled()
    gc.disable()
    _paused = enabled
    try:
        yield
    finally:
        _paused = False
        if enabled:
            gc.enable()
