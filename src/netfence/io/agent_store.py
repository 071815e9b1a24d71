"""The node agent's last good state on disk: one JSON file, replaced atomically.

It holds what the agent needs to stay at least as strict after a restart: the
last text of each manifest file that parsed, and the raw document of the last
valid version of each Pod and NetworkPolicy. It is written to a temporary file
in the same directory, flushed to disk (fsync), renamed over the old one, and
the directory is synced, so a crash at any point leaves either the old or the
new state, never a mixture.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netfence.errors import EnvironmentProblem

FORMAT = 1


@dataclass(frozen=True)
class StoredState:
    files: Mapping[str, str] = field(default_factory=dict)  # manifest file → last good text
    objects: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # Kind/ns/name → object


@dataclass(frozen=True)
class StateStore:
    path: Path

    def load(self) -> StoredState:
        """The stored state; empty when there is none yet. A file that is not a state
        this version wrote is an environment problem (the agent reports it and starts
        without, rather than guess)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return StoredState()
        except (OSError, UnicodeDecodeError) as exc:
            raise EnvironmentProblem(
                f"{self.path}: cannot read the last good state: {exc}"
            ) from exc
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise EnvironmentProblem(f"{self.path}: not a last good state: {exc}") from None
        if not (isinstance(data, dict) and data.get("format") == FORMAT):
            raise EnvironmentProblem(f"{self.path}: not a last good state of format {FORMAT}")
        files, objects = data.get("files"), data.get("objects")
        if not (isinstance(files, dict) and isinstance(objects, dict)):
            raise EnvironmentProblem(f"{self.path}: not a last good state of format {FORMAT}")
        return StoredState(
            {k: v for k, v in files.items() if isinstance(k, str) and isinstance(v, str)},
            {k: v for k, v in objects.items() if isinstance(k, str) and isinstance(v, dict)},
        )

    def save(self, state: StoredState) -> None:
        data = {"format": FORMAT, "files": dict(state.files), "objects": dict(state.objects)}
        # values a YAML document may hold that JSON has not (e.g. !!binary) are kept as text
        text = json.dumps(data, default=str, sort_keys=True)
        write_atomically(self.path, text)


def write_atomically(path: Path, text: str) -> None:
    """``path`` holds ``text`` afterwards, or (after a crash) what it held before."""
    # one writer per file: a temporary left by a crash is simply written over
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise EnvironmentProblem(f"{path}: cannot write: {exc.strerror or exc}") from exc
