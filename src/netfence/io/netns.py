"""The lab's side effects behind one seam: commands (``ip``, ``nft``, ``sysctl``,
``mount``, ``unshare``), background processes and the lab directory's files.

``Runner`` is the protocol; ``SubprocessRunner`` does it for real and
``RecordingRunner`` records what would be done (unit tests). Every failure of a
command becomes ``EnvironmentProblem`` with the command and what it said on stderr.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from netfence.errors import EnvironmentProblem
from netfence.io import processes

PACKAGES = {  # Debian packages that provide the tools, for the error message
    "ip": "iproute2",
    "nft": "nftables",
    "conntrack": "conntrack",
    "curl": "curl",
    "unshare": "util-linux",
    "mount": "mount",
    "umount": "mount",
}
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class Runner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT,
    ) -> Completed:
        """Run to completion, capturing output; ``check``: failure → EnvironmentProblem."""
        ...

    def interactive(self, argv: Sequence[str]) -> int:
        """Run with this process's stdin/stdout/stderr; returns the exit code."""
        ...

    def spawn(self, argv: Sequence[str], log: Path) -> int:
        """Start in the background, detached, output to ``log``; returns the PID."""
        ...

    def start_time(self, pid: int) -> int | None:
        """When ``pid`` started (None: no such process); recorded to recognise it."""
        ...

    def stop(self, pid: int, marker: str | None, start: int | None = None) -> bool:
        """Terminate ``pid`` if its command line carries ``marker`` and (given
        ``start``) it started then; True if it did."""
        ...

    def wait_ready(self, ready: Mapping[int, Path], logs: Mapping[int, Path]) -> None:
        """Until each PID has written its ready file."""
        ...

    def alive(self, pid: int) -> bool: ...

    def is_root(self) -> bool: ...

    def mount_points(self) -> list[str]: ...


def describe(argv: Sequence[str]) -> str:
    return shlex.join(argv)


class SubprocessRunner:
    """The real thing."""

    def __init__(self, ready_timeout: float = 20.0) -> None:
        self.ready_timeout = ready_timeout

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT,
    ) -> Completed:
        try:
            proc = subprocess.run(
                list(argv),
                input=stdin,
                capture_output=True,
                text=True,
                check=False,
                timeout=timeout,
                stdin=None if stdin is not None else subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise _missing(argv[0]) from None
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(f"{describe(argv)}: timed out after {timeout:.0f} s") from None
        done = Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise failed(done)
        return done

    def interactive(self, argv: Sequence[str]) -> int:
        try:
            return subprocess.run(list(argv), check=False).returncode
        except FileNotFoundError:
            raise _missing(argv[0]) from None

    def spawn(self, argv: Sequence[str], log: Path) -> int:
        return processes.spawn_detached(argv, log)

    def start_time(self, pid: int) -> int | None:
        return processes.start_time(pid)

    def stop(self, pid: int, marker: str | None, start: int | None = None) -> bool:
        return processes.stop(pid, marker, start)

    def wait_ready(self, ready: Mapping[int, Path], logs: Mapping[int, Path]) -> None:
        processes.wait_ready(ready, logs, self.ready_timeout)

    def alive(self, pid: int) -> bool:
        return processes.alive(pid)

    def is_root(self) -> bool:
        return os.geteuid() == 0

    def mount_points(self) -> list[str]:
        return processes.mount_points()


def failed(done: Completed) -> EnvironmentProblem:
    said = (done.stderr or done.stdout).strip() or "(no output)"
    return EnvironmentProblem(
        f"{describe(done.argv)} failed (exit {done.returncode}): {said[:2000]}"
    )


def _missing(tool: str) -> EnvironmentProblem:
    package = PACKAGES.get(Path(tool).name)
    hint = f" (apt-get install {package})" if package else ""
    return EnvironmentProblem(f"{tool}: command not found{hint}")


@dataclass(frozen=True, slots=True)
class Call:
    """One recorded side effect: ``kind`` is run, interactive, spawn or stop."""

    kind: str
    argv: tuple[str, ...]
    stdin: str | None = None


Responder = Callable[[tuple[str, ...], str | None], Completed | None]  # (argv, stdin)


@dataclass
class RecordingRunner:
    """Records calls instead of making them. ``respond`` may answer a command (e.g.
    ``ip netns list``); otherwise commands succeed with no output. PIDs are fake."""

    respond: Responder | None = None
    root: bool = True
    mounts: list[str] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    next_pid: int = 40000

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = COMMAND_TIMEOUT,
    ) -> Completed:
        self.calls.append(Call("run", tuple(argv), stdin))
        answer = self.respond(tuple(argv), stdin) if self.respond else None
        done = answer or Completed(tuple(argv), 0, "", "")
        if check and done.returncode != 0:
            raise failed(done)
        return done

    def interactive(self, argv: Sequence[str]) -> int:
        self.calls.append(Call("interactive", tuple(argv)))
        return 0

    def spawn(self, argv: Sequence[str], log: Path) -> int:
        self.calls.append(Call("spawn", tuple(argv)))
        self.next_pid += 1
        return self.next_pid

    def start_time(self, pid: int) -> int | None:
        return 1000 + pid

    def stop(self, pid: int, marker: str | None, start: int | None = None) -> bool:
        self.calls.append(Call("stop", (str(pid), marker or "")))
        return True

    def wait_ready(self, ready: Mapping[int, Path], logs: Mapping[int, Path]) -> None:
        self.calls.append(Call("wait_ready", tuple(str(pid) for pid in ready)))

    def alive(self, pid: int) -> bool:
        return True

    def is_root(self) -> bool:
        return self.root

    def mount_points(self) -> list[str]:
        return list(self.mounts)

    def commands(self) -> list[str]:
        """The calls as one line each (stdin shown after ``<<``), for assertions."""
        return [
            f"{c.kind}: {describe(c.argv)}" + (f" << {c.stdin!r}" if c.stdin else "")
            for c in self.calls
        ]


# --- the lab directory ---------------------------------------------------------------------


def write_text(path: Path, text: str) -> None:
    """Write atomically (a reader never sees half a file), through a temporary file
    of this process's own that is removed if anything fails."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        out = partial.open("x")  # never someone else's file
    except OSError as exc:
        raise EnvironmentProblem(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        # a signal handled just after the file was made (on the way out of open):
        # "x" succeeded, so the file is this call's own
        partial.unlink(missing_ok=True)
        raise
    try:
        with out:
            out.write(text)
        partial.replace(path)
    except BaseException as exc:
        partial.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise EnvironmentProblem(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def read_text(path: Path) -> str | None:
    """The file's text, or None if it does not exist."""
    try:
        return path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvironmentProblem(f"cannot read {path}: {getattr(exc, 'strerror', exc)}") from None


def make_dir(path: Path) -> bool:
    """Create one directory; False if it is already there."""
    try:
        path.mkdir()
    except FileExistsError:
        if path.is_symlink() or not path.is_dir():
            raise EnvironmentProblem(f"{path} exists and is not a directory") from None
        return False
    except OSError as exc:
        raise EnvironmentProblem(f"cannot create {path}: {exc.strerror or exc}") from None
    return True


def exists(path: Path) -> bool:
    """There is something at ``path`` (a dangling symbolic link counts)."""
    return os.path.lexists(path)


def remove_file(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot remove {path}: {exc.strerror or exc}") from None


def remove_empty_dir(path: Path) -> bool:
    """Remove the directory if it is empty; False if it is not (or not there)."""
    try:
        path.rmdir()
    except (FileNotFoundError, OSError):
        return False
    return True


def remove_tree(path: Path) -> None:
    """Remove a directory and everything in it (symbolic links, not their targets)."""
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise EnvironmentProblem(f"cannot remove {path}: {exc.strerror or exc}") from None
