"""Background processes of the lab: start detached, wait until ready, stop by PID.

"Deleting a netns does not stop its processes. ``ip netns del`` only removes the
name/mount; a process started with ``ip netns exec`` keeps running in the
now-anonymous namespace. Kill recorded PIDs first, then delete the namespaces by
name." (../shared/notes/dataplane.md §5). ``ip netns exec`` execs, so the PID of
the spawned ``ip`` is the server's own. A PID is only signalled while its command
line still carries the caller's marker (the lab id), so a reused PID is never hit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
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
    return proc.pid


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


def stop(pid: int, marker: str | None, grace: float = 2.0) -> bool:
    """SIGTERM, then SIGKILL after ``grace`` seconds. Only if ``marker`` is in its
    command line (None: the caller knows the process is its own). True if it was ours."""
    line = cmdline(pid)
    if line is None or (marker is not None and marker not in line):
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
