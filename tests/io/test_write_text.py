"""io.write_text leaves nothing behind, even when a signal lands inside it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from netfence.errors import EnvironmentProblem
from netfence.io import netns
from netfence.io.processes import Interrupted


def test_a_signal_just_after_the_temporary_is_made_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python runs a signal handler on the way out of ``open``: the temporary file is
    made and the handler's exception comes out of ``open`` itself (seen in CI: a
    ``lab up`` interrupted by SIGTERM left its lab directory behind)."""
    real_open = Path.open

    def open_then_signal(self: Path, *args: Any, **kwargs: Any) -> Any:
        real_open(self, *args, **kwargs).close()
        raise Interrupted(15)

    monkeypatch.setattr(Path, "open", open_then_signal)
    target = tmp_path / "record.json"
    with pytest.raises(Interrupted):
        netns.write_text(target, "{}")
    assert list(tmp_path.iterdir()) == []


def test_someone_elses_temporary_is_refused_and_kept(tmp_path: Path) -> None:
    target = tmp_path / "record.json"
    theirs = tmp_path / f".record.json.{os.getpid()}.tmp"
    theirs.write_text("theirs")
    with pytest.raises(EnvironmentProblem, match="cannot write"):
        netns.write_text(target, "{}")
    assert theirs.read_text() == "theirs" and not target.exists()
