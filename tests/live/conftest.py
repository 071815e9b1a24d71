from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.live.apiserver import FIXTURES, ApiServer, serve


@pytest.fixture
def apiserver(tmp_path: Path) -> Iterator[ApiServer]:
    """The recorded workshop cluster behind a loopback API server, stopped at teardown."""
    with serve(FIXTURES / "workshop", tmp_path) as server:
        yield server
