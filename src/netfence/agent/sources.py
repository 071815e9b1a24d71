"""Where the agent reads desired state: a directory of manifests, or the
Kubernetes API (a thin adapter producing the same documents)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from netfence.errors import InvalidInputError
from netfence.io import manifest_dir
from netfence.model.diagnostics import Diagnostic, error, notice
from netfence.model.diagnostics import Source as Origin
from netfence.parse.documents import RawDocument, parse_documents

TAKEN, KEPT, PENDING = "taken", "kept", "pending"
MAX_FILE_BYTES = 64 << 20  # a manifest file larger than this is not read (kept as it was)


@dataclass(frozen=True)
class Snapshot:
    documents: tuple[RawDocument, ...]
    diagnostics: tuple[Diagnostic, ...]
    version: object  # changes whenever the documents may have changed
    # files whose current content is not taken yet and that have no last good
    # version to stand in for it (the agent does not make its first apply then)
    waiting: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()  # files whose last good documents stand in for them
    # the documents in groups (one a file), each the very same tuple object from
    # one snapshot to the next while none of its documents changed (None: not known)
    parts: tuple[tuple[RawDocument, ...], ...] | None = None


def version_digest(version: object) -> str:
    """A short stable name of a snapshot's version, to compare across processes
    (the lab waits until every node's agent reports the version it wrote)."""
    return hashlib.sha256(repr(version).encode()).hexdigest()[:16]


class Source(Protocol):
    def snapshot(self) -> Snapshot: ...


@dataclass
class DirectorySource:
    """Every manifest file under ``root``; fail closed: what was enforced stays
    enforced. A file keeps its last good documents (the last version that
    parsed) while it

    - does not parse, cannot be read, or its directory cannot be listed;
    - is empty (zero bytes) after having had documents: every non-atomic writer
      (``>``, editors, config managers) truncates first; to empty a file on
      purpose, delete it or leave a comment in it;
    - is mid-write: its stamp (modification time, size, inode, change time) changed less than
      ``settle`` seconds ago, or changed while it was being read.

    ``seed`` gives last good versions from before a restart."""

    root: str | os.PathLike[str]
    settle: float = 0.0
    clock: Callable[[], float] = time.monotonic
    # file → its last good text, and its documents (None: not parsed yet)
    _last_good: dict[str, tuple[str, tuple[RawDocument, ...] | None]] = field(default_factory=dict)
    _cache: dict[str, tuple[manifest_dir.Stamp, tuple[RawDocument, ...]]] = field(
        default_factory=dict
    )
    _pending: dict[str, tuple[manifest_dir.Stamp, float]] = field(default_factory=dict)
    _failed: dict[str, tuple[manifest_dir.Stamp, tuple[Diagnostic, ...]]] = field(
        default_factory=dict
    )

    def __post_init__(self) -> None:
        self._root = os.fspath(self.root)

    def seed(self, texts: Mapping[str, str]) -> None:
        """Last good versions of files (from the agent's stored state); parsed only
        if they are needed (the file cannot be taken as it is now)."""
        for file, text in texts.items():
            self._last_good.setdefault(file, (text, None))

    def last_good_documents(self, file: str) -> tuple[RawDocument, ...]:
        text, docs = self._last_good.get(file, ("", ()))
        if docs is None:
            try:
                docs = tuple(parse_documents(text, file))
            except Exception:  # a stored text this version refuses: nothing to keep
                docs = ()
            self._last_good[file] = (text, docs)
        return docs

    def last_good_texts(self) -> dict[str, str]:
        """The last good text of every file now in the directory (what to store)."""
        return {file: text for file, (text, _) in self._last_good.items()}

    def snapshot(self) -> Snapshot:
        documents: list[RawDocument] = []
        parts: list[tuple[RawDocument, ...]] = []
        diagnostics: list[Diagnostic] = []
        stamps: list[tuple[str, manifest_dir.Stamp | None]] = []
        waiting: list[str] = []
        kept: list[str] = []
        listing = manifest_dir.scan(self._root)
        files = list(listing.files)
        for directory, why in listing.unreadable:
            diagnostics.append(error(f"cannot list: {why}", Origin(directory, 0)))
            below = directory.rstrip("/") + "/"
            files.extend(f for f in self._last_good if f.startswith(below) and f not in files)
        listed = set(listing.files)
        for file in sorted(files):
            try:
                stamp = manifest_dir.stamp(file) if file in listed else None
            except OSError:
                stamp = None  # there, but cannot be looked at: keep what it was
            else:
                if file in listed and stamp is None:
                    continue  # deleted since the listing
            stamps.append((file, stamp))
            docs, state = self._documents(file, stamp, diagnostics)
            documents.extend(docs)
            parts.append(docs)
            if state == PENDING and file not in self._last_good:
                waiting.append(file)
            elif state != TAKEN and file in self._last_good:
                kept.append(file)
        present = set(files)
        for known in (self._last_good, self._cache, self._pending, self._failed):
            for file in [f for f in known if f not in present]:
                del known[file]  # deleted files: forget them
        pending = tuple(sorted(self._pending))
        return Snapshot(
            tuple(documents),
            tuple(diagnostics),
            (tuple(stamps), pending),
            tuple(waiting),
            tuple(kept),
            tuple(parts),
        )

    def _documents(
        self, file: str, stamp: manifest_dir.Stamp | None, diagnostics: list[Diagnostic]
    ) -> tuple[tuple[RawDocument, ...], str]:
        """The file's documents now, and whether they are its current content
        (TAKEN), its last good ones kept (KEPT) or kept until it settles (PENDING).
        A file that failed is not read again until its stamp changes (a broken
        large file must not be parsed at every poll); its problems are repeated."""
        failed = self._failed.get(file)
        if stamp is not None and failed is not None and failed[0] == stamp:
            diagnostics.extend(failed[1])
            return self.last_good_documents(file), KEPT
        mark = len(diagnostics)
        docs, state = self._read(file, stamp, diagnostics)
        if state == KEPT and stamp is not None:
            self._failed[file] = (stamp, tuple(diagnostics[mark:]))
        else:
            self._failed.pop(file, None)
        return docs, state

    def _read(
        self, file: str, stamp: manifest_dir.Stamp | None, diagnostics: list[Diagnostic]
    ) -> tuple[tuple[RawDocument, ...], str]:
        cached = self._cache.get(file)
        if stamp is not None and cached is not None and cached[0] == stamp:
            return cached[1], TAKEN
        if stamp is None:
            return self._keep(file, "cannot be read", diagnostics), KEPT
        if self.settle > 0:
            seen = self._pending.get(file)
            if seen is None or seen[0] != stamp:
                self._pending[file] = (stamp, self.clock())
                return self.last_good_documents(file), PENDING
            if self.clock() - seen[1] < self.settle:
                return self.last_good_documents(file), PENDING
        try:
            text = manifest_dir.read(file, MAX_FILE_BYTES)
        except UnicodeDecodeError:
            diagnostics.append(error("not UTF-8 text", Origin(file, 0)))
            return self._keep(file, "unreadable", diagnostics), KEPT
        except OSError as exc:
            why = exc.strerror or str(exc)
            return self._keep(file, f"cannot read: {why}", diagnostics), KEPT
        if manifest_dir.stamp(file) != stamp:  # written while it was read: settle again
            self._pending[file] = (stamp, self.clock())
            return self.last_good_documents(file), PENDING
        self._pending.pop(file, None)
        if not text and self.last_good_documents(file):
            return self._keep(file, "empty (truncated, mid-write?)", diagnostics), KEPT
        try:
            docs = tuple(parse_documents(text, file))
        except InvalidInputError as exc:
            diagnostics.extend(exc.diagnostics)
            return self._keep(file, "unreadable", diagnostics), KEPT
        except (RecursionError, MemoryError):
            diagnostics.append(error("nested too deeply to decode", Origin(file, 0)))
            return self._keep(file, "unreadable", diagnostics), KEPT
        except Exception as exc:  # e.g. ValueError from !!timestamp
            diagnostics.append(error(f"cannot be decoded: {exc}", Origin(file, 0)))
            return self._keep(file, "unreadable", diagnostics), KEPT
        self._cache[file] = (stamp, docs)
        self._last_good[file] = (text, docs)
        return docs, TAKEN

    def _keep(self, file: str, why: str, diagnostics: list[Diagnostic]) -> tuple[RawDocument, ...]:
        kept = self.last_good_documents(file)
        diagnostics.append(
            notice(f"{why}: kept its last good documents ({len(kept)})", Origin(file, 0))
        )
        return kept
