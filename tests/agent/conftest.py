"""The agent freezes the collector's generations after each sync (agent._settle_heap);
in the test process that would also freeze pytest's garbage, so thaw after each test."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def thaw_heap() -> Iterator[None]:
    yield
    gc.unfreeze()
