"""io/streams.read_limited: a stream of unknown length is read in chunks and stops
just past the limit (external kustomize output, stdin)."""

from __future__ import annotations

import io

import pytest

from netfence.io import streams


class CountingStream(io.RawIOBase):
    """An endless stream of b"x" that records how much any one read asked for."""

    def __init__(self, length: int) -> None:
        self.left = length
        self.largest_request = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.largest_request = max(self.largest_request, size)
        n = self.left if size < 0 else min(size, self.left)
        self.left -= n
        return b"x" * n


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, 0), (10, 10), (100, 100), (101, 101), (5000, 101)],
)
def test_read_limited_stops_just_past_the_limit(
    monkeypatch: pytest.MonkeyPatch, length: int, expected: int
) -> None:
    monkeypatch.setattr(streams, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(streams, "_CHUNK", 7)
    stream = CountingStream(length)
    assert len(streams.read_limited(stream)) == expected  # type: ignore[arg-type]
    assert stream.largest_request <= 7  # never the whole limit at once


def test_a_known_size_is_read_in_one_piece(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(streams, "MAX_FILE_BYTES", 100)
    stream = CountingStream(40)
    assert streams.read_limited(stream, 40) == b"x" * 40  # type: ignore[arg-type]
    assert stream.largest_request == 41
