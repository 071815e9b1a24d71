"""Where the agent reads desired state: a directory of manifests, or the
Kubernetes API (a thin adapter producing the same documents)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from netfence.errors import InvalidInputError
from netfence.io.manifests import manifest_files, read_text
from netfence.model.diagnostics import Diagnostic, notice
from netfence.parse.documents import RawDocument, parse_documents


@dataclass(frozen=True)
class Snapshot:
    documents: tuple[RawDocument, ...]
    diagnostics: tuple[Diagnostic, ...]
    version: object  # changes whenever the documents may have changed


def version_digest(version: object) -> str:
    """A short stable name of a snapshot's version, to compare across processes
    (the lab waits until every node's agent reports the version it wrote)."""
    return hashlib.sha256(repr(version).encode()).hexdigest()[:16]


class Source(Protocol):
    def snapshot(self) -> Snapshot: ...


@dataclass
class DirectorySource:
    """Every manifest file under ``root``. A file that no longer parses keeps its
    last good documents (fail closed: what was enforced stays enforced)."""

    root: Path
    _last_good: dict[str, tuple[RawDocument, ...]] = field(default_factory=dict)
    _cache: dict[str, tuple[tuple[int, int], tuple[RawDocument, ...]]] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        documents: list[RawDocument] = []
        diagnostics: list[Diagnostic] = []
        stamps = []
        for file in manifest_files(str(self.root)):
            stamp = _stamp(file)
            stamps.append((file, stamp))
            documents.extend(self._documents(file, stamp, diagnostics))
        return Snapshot(tuple(documents), tuple(diagnostics), tuple(stamps))

    def _documents(
        self, file: str, stamp: tuple[int, int], diagnostics: list[Diagnostic]
    ) -> Sequence[RawDocument]:
        cached = self._cache.get(file)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            docs = tuple(parse_documents(read_text(file), file))
        except InvalidInputError as exc:
            diagnostics.extend(exc.diagnostics)
            kept = self._last_good.get(file, ())
            diagnostics.append(
                notice(f"{file}: unreadable: kept its last good documents ({len(kept)})")
            )
            return kept
        self._cache[file] = (stamp, docs)
        self._last_good[file] = docs
        return docs


def _stamp(file: str) -> tuple[int, int]:
    try:
        info = os.stat(file)
    except FileNotFoundError:
        return (0, 0)
    return (info.st_mtime_ns, info.st_size)
