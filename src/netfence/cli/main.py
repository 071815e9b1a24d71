"""``netfence``: the command line. Heavy modules are imported inside commands so
that start-up stays light."""

from __future__ import annotations

import os
import sys

import click

from netfence import __version__
from netfence.cli.common import EXIT_INPUT, EXIT_OK
from netfence.errors import EnvironmentProblem, InvalidInputError, NetfenceError
from netfence.render.terminal import install as install_safe_output


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="netfence")
def cli() -> None:
    """Kubernetes NetworkPolicy, decided and explained before anything is applied.

    Input is manifests as kubectl takes them (-f FILE|DIR|-, -k DIR, -n NS), or a
    live cluster with --live (--kubeconfig, --context; see docs/live.md).
    Exit codes: 0 ok, 1 a check/test/validation failed, 2 invalid input, 3 environment error,
    4 partial input with --strict-input (docs/input.md).
    """


def _register_commands() -> None:
    """One module per command (each imports its heavy modules inside the command)."""
    from netfence.cli.agent import agent_command
    from netfence.cli.check import check_command
    from netfence.cli.diff import diff_command
    from netfence.cli.expectations import test_command
    from netfence.cli.lab import lab_group
    from netfence.cli.lint import lint_command
    from netfence.cli.matrix import matrix_command
    from netfence.cli.report import report_command
    from netfence.cli.scenario import demo_command, scenario_command
    from netfence.cli.snapshot import snapshot_command
    from netfence.cli.validate import validate_command

    for command in (
        check_command, matrix_command, test_command, diff_command, lint_command,
        report_command, validate_command, demo_command, scenario_command,
        agent_command, lab_group, snapshot_command,
    ):  # fmt: skip
        cli.add_command(command)


_register_commands()


def main() -> None:
    """Entry point: the one place where netfence's exceptions become messages and exit codes."""
    name = os.path.basename(sys.argv[0]) if sys.argv else "netfence"
    prog = "kubectl netfence" if name == "kubectl-netfence" else "netfence"  # a kubectl plugin
    # Names come from manifests: no control character or lone surrogate in them
    # reaches the terminal raw, and none makes printing crash (render/terminal.py).
    install_safe_output()
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
