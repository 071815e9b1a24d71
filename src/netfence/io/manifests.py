"""Read manifests as kubectl takes them: ``-f`` files, directories (recursive) and
``-`` for stdin; ``-k`` kustomization directories.

Within bounds (``netfence.parse.limits``, reasons in docs/limits.md): a file is
read only when it is a regular file (a FIFO would block forever, ``/dev/zero``
never ends), never past ``MAX_FILE_BYTES``; a directory walk never follows a
symbolic link to a directory (no loops), survives entries that vanish while it
runs, and stops at ``MAX_DIRECTORY_ENTRIES``; one command reads at most
``MAX_FILES`` files and ``MAX_TOTAL_BYTES``.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from netfence.errors import EnvironmentProblem, InvalidInputError
from netfence.io import kustomize
from netfence.io.paths import path_kind
from netfence.io.streams import read_limited
from netfence.model.diagnostics import Diagnostic, Source, error
from netfence.parse.documents import (
    RawDocument,
    helm_template_line,
    parse_ascii_json,
    parse_documents,
    parse_manifest_file,
    too_many_objects,
)
from netfence.parse.limits import (
    MAX_DIRECTORY_ENTRIES,
    MAX_FILE_BYTES,
    MAX_FILES,
    MAX_OBJECTS,
    MAX_TOTAL_BYTES,
    MIB,
)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class ManifestSet:
    documents: list[RawDocument] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def read_text(path: str) -> str:
    """The UTF-8 text of a regular file (or ``-``: stdin), at most MAX_FILE_BYTES."""
    return _decode_utf8(read_bytes(path), path)


def read_bytes(path: str) -> bytes:
    if path == "-":
        return _read_stdin()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        raise _problem(path, "no such file or directory") from None
    except ValueError:
        raise _problem(path, "not a valid path (it contains a NUL character)") from None
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP):
            raise _problem(path, exc.strerror or "not a valid path") from None
        raise EnvironmentProblem(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        # Opened without blocking (a FIFO would wait for a writer), then judged by
        # what was opened, so that nothing can swap the file in between.
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _problem(path, f"not a regular file: {_file_type(info.st_mode)}")
        if info.st_size > MAX_FILE_BYTES:
            raise _too_large(path)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            return _bounded(stream, path, info.st_size)
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot read: {exc.strerror}") from exc
    finally:
        os.close(fd)


def _read_stdin() -> bytes:
    buffer: BinaryIO | None = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # replaced by a text stream (tests, embedding)
        text = sys.stdin.read(MAX_FILE_BYTES + 1)
        data = text.encode("utf-8", "surrogateescape")
        if len(data) > MAX_FILE_BYTES:
            raise _too_large("-")
        return data
    return _bounded(buffer, "-")


def _bounded(stream: BinaryIO, path: str, size: int = 0) -> bytes:
    """At most MAX_FILE_BYTES of a stream (see read_limited), or an input error."""
    data = read_limited(stream, size)
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(path)
    return data


def _too_large(path: str) -> InvalidInputError:
    return _problem(
        path, f"larger than {MAX_FILE_BYTES // MIB} MiB, the limit of one input (docs/limits.md)"
    )


def _decode_utf8(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8")) + 1
        raise _problem(
            path,
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line}, column {column}",
        ) from None


def _file_type(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _problem(path: str, message: str) -> InvalidInputError:
    return InvalidInputError([error(message, Source(path, 0))])


def manifest_files(path: str, charts: list[str] | None = None) -> list[str]:
    """A file as is; a directory's manifest files, recursively, in name order.
    Helm charts (directories with a ``Chart.yaml``) are not manifests: they are
    not walked, and their directories are added to ``charts``."""
    if path == "-":
        return ["-"]
    kind = path_kind(path)
    if kind == "directory":
        return _walk(path, [] if charts is None else charts)
    if kind == "file":
        return [path]  # read_text refuses what is not a regular file, with its own message
    raise _problem(path, kind)


def _walk(root: str, charts: list[str]) -> list[str]:
    """Depth first in name order (the order of the paths sorted part by part).
    Symbolic links to files are read; links to directories are not followed (so
    there are no loops), nor are dangling links; entries named ``..*`` (kubelet's
    staging directories in a ConfigMap volume, whose files the volume also links
    by name) are skipped; an entry that vanishes during the walk is skipped.
    A directory holding a ``Chart.yaml`` is a Helm chart: listed in ``charts``,
    not walked."""
    found: list[str] = []
    listing = _listing(root)
    if _is_chart(listing):
        charts.append(root)
        return found
    entries = len(listing)
    stack: list[Iterator[os.DirEntry[str]]] = [iter(listing)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        if entry.name.startswith(".."):
            continue
        kind = _kind(entry)
        if kind == "directory":
            listing = _listing(entry.path)
            entries += len(listing)
            if entries > MAX_DIRECTORY_ENTRIES:
                raise _problem(
                    root,
                    f"more than {MAX_DIRECTORY_ENTRIES:,} entries in this directory tree: "
                    "give the directories that hold the manifests (docs/limits.md)",
                )
            if _is_chart(listing):
                charts.append(entry.path)
            else:
                stack.append(iter(listing))
        elif kind == "file" and entry.name.endswith(MANIFEST_SUFFIXES):
            found.append(entry.path)
            if len(found) > MAX_FILES:
                raise _too_many_files(root)
    return found


def _is_chart(listing: list[os.DirEntry[str]]) -> bool:
    return any(e.name == "Chart.yaml" and _kind(e) == "file" for e in listing)


def helm_chart_error(chart: str) -> Diagnostic:
    """A Helm chart in a directory given to ``-f``: its templates are no manifests."""
    return error(
        "a Helm chart (Chart.yaml): its templates are not manifests until rendered: "
        f"run `helm template NAME {chart}` and pass its output (`-f -`, or a file), "
        "or give -f the directories that hold plain manifests",
        Source(os.path.join(chart, "Chart.yaml"), 0),
    )


def _listing(directory: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as entries:
            return sorted(entries, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return []  # removed (or replaced) while the walk ran
    except OSError as exc:
        raise EnvironmentProblem(f"{directory}: cannot read: {exc.strerror}") from exc


def _kind(entry: os.DirEntry[str]) -> str:
    """ "directory" (a real one), "file" (anything to read: special files are
    refused when read, with their own message) or "skip"."""
    try:
        if entry.is_dir(follow_symlinks=False):
            return "directory"
        if not entry.is_symlink():
            return "file"
        target = os.stat(entry.path)
    except OSError:
        return "skip"  # vanished, or a dangling link
    return "skip" if stat.S_ISDIR(target.st_mode) else "file"


def _too_many_files(where: str) -> InvalidInputError:
    return _problem(
        where, f"more than {MAX_FILES:,} manifest files in one command (docs/limits.md)"
    )


class _Reader:
    """What one command has read so far, against MAX_FILES, MAX_TOTAL_BYTES and
    MAX_OBJECTS."""

    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0
        self.objects = 0

    def text(self, path: str) -> str:
        return _decode_utf8(self.data(path), path)

    def data(self, path: str) -> bytes:
        self.files += 1
        if self.files > MAX_FILES:
            raise _too_many_files(path)
        data = read_bytes(path)
        self.bytes += len(data)
        if self.bytes > MAX_TOTAL_BYTES:
            raise _problem(
                path,
                f"the inputs of one command exceed {MAX_TOTAL_BYTES // MIB} MiB together "
                "(docs/limits.md)",
            )
        return data

    def exhausted(self) -> bool:
        return self.files > MAX_FILES or self.bytes > MAX_TOTAL_BYTES

    def documents(self, path: str) -> list[RawDocument]:
        return self._counted(parse_documents(self.text(path), path), path)

    def _counted(self, documents: list[RawDocument], path: str) -> list[RawDocument]:
        """MAX_OBJECTS for all files together (each file's own count is bounded
        before its objects are made: parse.documents)."""
        self.objects += len(documents)
        if self.objects > MAX_OBJECTS:
            raise too_many_objects(Source(path, 0), MAX_OBJECTS)
        return documents

    def manifest_file(
        self, path: str, notices: list[Diagnostic], in_walk: bool = False
    ) -> list[RawDocument]:
        """A file given with ``-f`` (or found in a directory, ``in_walk``): one that is
        not a manifest is skipped with a notice (parse_manifest_file). A plain JSON file
        in ASCII is read from its bytes (parse_ascii_json: the same answer, without
        a copy as a str)."""
        data = self.data(path)
        plain = parse_ascii_json(data, path)
        if plain is not None:
            documents, skipped = plain
            notices.extend(skipped)
            return self._counted(documents, path)
        text = _decode_utf8(data, path)
        del data
        line = helm_template_line(text)
        if line is not None and _in_chart(path):
            raise InvalidInputError(
                [
                    error(
                        f"a Helm template ({{{{ ... }}}} at line {line}), not a manifest: "
                        "run `helm template` on its chart and pass the output (`-f -`, or a file)",
                        Source(path, 0),
                    )
                ]
            )
        documents, skipped = parse_manifest_file(text, path, undecodable_skipped=in_walk)
        notices.extend(skipped)
        return self._counted(documents, path)


def _in_chart(path: str) -> bool:
    """In a chart's templates/ directory, or beside (or below) a Chart.yaml."""
    parent = Path(path).parent
    return parent.name == "templates" or any(
        (d / "Chart.yaml").is_file() for d in (parent, parent.parent)
    )


def load_manifests(files: Iterable[str] = (), kustomizations: Iterable[str] = ()) -> ManifestSet:
    """Read everything; report every broken file at once."""
    result = ManifestSet()
    problems: list[Diagnostic] = []
    reader = _Reader()
    for path in files:
        charts: list[str] = []
        try:
            found = manifest_files(path, charts)
        except InvalidInputError as exc:
            problems.extend(exc.diagnostics)
            continue
        problems.extend(helm_chart_error(chart) for chart in charts)
        for file in found:
            try:
                in_walk = file != path  # found in a directory, not named by the user
                result.documents.extend(reader.manifest_file(file, result.diagnostics, in_walk))
            except InvalidInputError as exc:
                problems.extend(exc.diagnostics)
    for directory in kustomizations:
        try:
            result.documents.extend(
                kustomize.build(
                    directory,
                    kustomize.Files(
                        reader.text, reader.documents, reader.exhausted, result.diagnostics
                    ),
                )
            )
        except InvalidInputError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise InvalidInputError(problems)
    return result
