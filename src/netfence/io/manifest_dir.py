"""A watched directory of manifests, read so that nothing in it can stop the reader:
files and directories may vanish, turn unreadable or change while they are read.

Hidden entries (names starting with ``.``) are skipped: kubelet's ConfigMap and
Secret volumes keep each version in a hidden ``..<timestamp>`` directory and
swap a ``..data`` link to it; the visible names are links through ``..data``, so
reading only them sees each version whole, and each file once.
"""

from __future__ import annotations

import os
import stat as st
from dataclasses import dataclass, field

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_DEPTH = 32  # directory levels below the root (and a bound on link loops)

# modification time (ns), size, inode, change time (ns: a chmod changes it too)
Stamp = tuple[int, int, int, int]


@dataclass(frozen=True)
class Scan:
    files: tuple[str, ...]  # manifest files, in name order
    unreadable: tuple[tuple[str, str], ...] = field(default=())  # (directory, why)


def scan(root: str) -> Scan:
    """Every manifest file under ``root``, recursively. A directory that vanishes
    during the walk is simply gone; one that cannot be read is reported, so that
    the caller keeps what it knew of the files below it."""
    files: list[str] = []
    unreadable: list[tuple[str, str]] = []
    _walk(root, 0, files, unreadable)
    return Scan(tuple(sorted(files)), tuple(unreadable))


def _walk(directory: str, depth: int, files: list[str], unreadable: list[tuple[str, str]]) -> None:
    if depth > MAX_DEPTH:
        unreadable.append((directory, f"more than {MAX_DEPTH} levels deep"))
        return
    try:
        with os.scandir(directory) as entries:
            listed = sorted(entries, key=lambda e: e.name)
    except FileNotFoundError:
        return
    except OSError as exc:
        unreadable.append((directory, exc.strerror or str(exc)))
        return
    for entry in listed:
        if entry.name.startswith("."):
            continue
        try:
            if entry.is_dir():
                _walk(entry.path, depth + 1, files, unreadable)
            elif entry.is_file() and entry.name.endswith(MANIFEST_SUFFIXES):
                files.append(entry.path)
        except OSError as exc:  # vanished or unreadable between the listing and here
            if not isinstance(exc, FileNotFoundError):
                unreadable.append((entry.path, exc.strerror or str(exc)))


def stamp(file: str) -> Stamp | None:
    """What changes when the file's content may have changed; None: it is gone."""
    try:
        info = os.stat(file)
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino, info.st_ctime_ns)


def read(file: str, limit: int) -> str:
    """The file's text. Raises OSError (also for more than ``limit`` bytes, or
    anything but a regular file) and UnicodeDecodeError."""
    fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not st.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > limit:
                raise OSError(0, f"larger than {limit} bytes")
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8")
