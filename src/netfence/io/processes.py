"""Background processes of the lab: start detached, wait until ready, stop by PID;
and ``interruptible``/``critical``: signals as an exception, held back while a step
and its record are written together.

"Deleting a netns does not stop its processes. ``ip netns del`` only removes the
name/mount; a process started with ``ip netns exec`` keeps running in the
now-anonymous namespace. Kill recorded PIDs first, then delete the namespaces by
name." (the prototype's notes). ``ip netns exec`` execs, so the PID of
the spawned ``ip`` is the server's own. A PID is only signalled while its command
line still carries the caller's marker and it still has the start time recorded
when it was started, so a reused PID is never hit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from netfence.errors import EnvironmentProblem

POLL_SECONDS = 0.02


def spawn_detached(argv: Sequence[str], log: Path) -> int:
    """Start ``argv`` in its own session, output to ``log``; returns its PID."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise EnvironmentProblem(f"cannot start {argv[0]}: {exc}") from None
    _wait_for_exec(proc.pid)
    return proc.pid


def _wait_for_exec(pid: int, timeout: float = 5.0) -> None:
    """Until the child shows its own command line. Popen returns once the exec has
    passed its point of no return, but the kernel sets up the new argument area a
    little later: in between, /proc/PID/cmdline reads empty (or still the parent's),
    and a marker check made then would wrongly say the process is not ours."""
    parent = cmdline(os.getpid())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = cmdline(pid)
        if line is None or (line and line != parent):
            return
        time.sleep(POLL_SECONDS / 10)


def cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def alive(pid: int) -> bool:
    """Running (a zombie child is reaped and counts as gone)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, /proc/PID/stat field 22); None if
    there is no such process. With the PID it names one process for good."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22; the split starts at field 3
    except (OSError, IndexError, ValueError):
        return None


def stop(pid: int, marker: str | None, start: int | None = None, grace: float = 2.0) -> bool:
    """SIGTERM, then SIGKILL after ``grace`` seconds. Only if ``marker`` is in its
    command line and, given ``start``, it started then (None: the caller knows the
    process is its own). True if it was ours."""
    line = cmdline(pid)
    if line is None or (marker is not None and marker not in line):
        return False
    if start is not None and start_time(pid) != start:
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not alive(pid):
                return True
            time.sleep(POLL_SECONDS)
    raise EnvironmentProblem(f"process {pid} ({line[:80]}) survived SIGKILL")


def wait_ready(ready: Mapping[int, Path], logs: Mapping[int, Path], timeout: float) -> None:
    """Until every PID's ready file exists; a PID that dies first is an error with its log."""
    deadline = time.monotonic() + timeout
    waiting = dict(ready)
    while waiting:
        for pid, path in list(waiting.items()):
            if path.exists():
                del waiting[pid]
            elif not alive(pid):
                raise EnvironmentProblem(f"process {pid} exited early: {_tail(logs.get(pid))}")
        if waiting and time.monotonic() > deadline:
            pid = next(iter(waiting))
            raise EnvironmentProblem(
                f"{len(waiting)} process(es) not ready after {timeout:.0f} s, e.g. {pid}: "
                f"{_tail(logs.get(pid))}"
            )
        time.sleep(POLL_SECONDS)


def _tail(log: Path | None, lines: int = 8) -> str:
    if log is None:
        return "(no log)"
    try:
        text = log.read_text(errors="replace").strip()
    except OSError:
        return "(no log)"
    return " | ".join(text.splitlines()[-lines:]) or "(empty log)"


def mount_points() -> list[str]:
    """Mount points of this process's mount namespace (/proc/self/mountinfo field 5)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if len(fields) > 4:
            points.append(fields[4].replace("\\040", " "))
    return points


# --- signals -------------------------------------------------------------------------------

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class Interrupted(BaseException):
    """SIGTERM, SIGINT or SIGHUP arrived while ``interruptible()`` was in force. A
    BaseException, so that no ``except Exception`` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.name}")


class _Guard:
    """Raises ``Interrupted`` once; later signals (a second Ctrl-C during the
    clean-up) are only noted, so that the clean-up finishes."""

    def __init__(self) -> None:
        self.depth = 0  # inside critical sections
        self.pending: int | None = None
        self.raised = False

    def handle(self, signum: int, frame: object) -> None:
        if self.depth or self.raised:
            self.pending = self.pending or signum
        else:
            self.raise_now(signum)

    def raise_now(self, signum: int) -> None:
        self.raised, self.pending = True, None
        raise Interrupted(signum)


_guard: _Guard | None = None


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Within: SIGTERM, SIGINT and SIGHUP raise ``Interrupted`` (so ``finally`` and
    ``except BaseException`` clean-up runs), except inside ``critical()``, which
    delays them to its end. Only in the main thread (elsewhere: no change)."""
    global _guard
    if _guard is not None or threading.current_thread() is not threading.main_thread():
        yield
        return
    guard = _Guard()
    previous = {sig: signal.signal(sig, guard.handle) for sig in SIGNALS}
    _guard = guard
    try:
        yield
    finally:
        _guard = None
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """A step and its record together: a signal waits until both are done. Outside
    ``interruptible()`` this does nothing."""
    guard = _guard
    if guard is None:
        yield
        return
    guard.depth += 1
    try:
        yield
    finally:
        guard.depth -= 1
    if guard.depth == 0 and guard.pending is not None and not guard.raised:
        guard.raise_now(guard.pending)
