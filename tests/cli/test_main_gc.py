"""cli.main pauses the cyclic collector while a command that is not long-running
starts and runs (start-up cost, bench/startup.py), turns it on for the long-running
ones, and restores it after, whatever the command did."""

from __future__ import annotations

import gc
import os

import click
import pytest

from netfence.cli import main as cli_main

seen: list[bool] = []


@click.command("probe")
def probe_command() -> None:
    seen.append(gc.isenabled())


@click.command("failing-probe")
def failing_probe_command() -> None:
    seen.append(gc.isenabled())
    raise click.ClickException("no")


def run(monkeypatch: pytest.MonkeyPatch, name: str, long_running: bool = False) -> int:
    target = "failing_probe_command" if name == "failing-probe" else "probe_command"
    monkeypatch.setitem(cli_main.COMMANDS, name, f"{__name__}:{target}")
    if long_running:
        monkeypatch.setattr(cli_main, "LONG_RUNNING", frozenset({name}))
    monkeypatch.setattr("sys.argv", ["netfence", name])
    with pytest.raises(SystemExit) as exit_:
        cli_main.main()
        raise SystemExit(0)
    return int(exit_.value.code or 0)


@pytest.fixture(autouse=True)
def collector_on() -> object:
    seen.clear()
    enabled = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if enabled else gc.disable)()  # as it was, whatever the test did


def test_a_command_runs_without_the_cyclic_collector_and_it_is_on_again_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(monkeypatch, "probe") == 0
    assert seen == [False]
    assert gc.isenabled()


def test_a_long_running_command_runs_with_the_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(monkeypatch, "probe", long_running=True) == 0
    assert seen == [True]
    assert gc.isenabled()


def test_the_collector_is_on_again_after_a_failing_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(monkeypatch, "failing-probe") == 2
    assert seen == [False]
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(monkeypatch: pytest.MonkeyPatch) -> None:
    gc.disable()
    assert run(monkeypatch, "probe", long_running=True) == 0
    assert seen == [False]  # main turns on only what it turned off
    assert not gc.isenabled()


def test_main_runs_blas_single_threaded_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert run(monkeypatch, "probe") == 0
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert run(monkeypatch, "probe") == 0
    assert os.environ["OPENBLAS_NUM_THREADS"] == "2"  # the user's word stands
