"""Reading within MAX_FILE_BYTES without reserving it: in one piece when the size is
known, in chunks when it is not (stdin) or when the file grew since it was sized."""

from __future__ import annotations

import io

import pytest

from netfence.errors import InvalidInputError
from netfence.io import manifests, streams


@pytest.mark.parametrize("size_hint", [0, 5, 10, 11])
@pytest.mark.parametrize("length", [0, 1, 10, 11, 40])
def test_bounded_reads_all_or_refuses(
    monkeypatch: pytest.MonkeyPatch, size_hint: int, length: int
) -> None:
    monkeypatch.setattr(manifests, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr(streams, "MAX_FILE_BYTES", 10)
    monkeypatch.setattr(streams, "_CHUNK", 3)
    data = bytes(range(length))
    stream = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    if length > 10:
        with pytest.raises(InvalidInputError, match="the limit of one input"):
            manifests._bounded(stream, "x", size_hint)
    else:
        assert manifests._bounded(stream, "x", size_hint) == data


def test_a_file_larger_than_the_bound_is_refused_before_it_is_read(
    tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.json"  # type: ignore[operator]
    path.write_bytes(b"{}" * 10)
    monkeypatch.setattr(manifests, "MAX_FILE_BYTES", 19)
    reads: list[int] = []
    monkeypatch.setattr(manifests, "_bounded", lambda *args: reads.append(1) or b"")
    with pytest.raises(InvalidInputError, match="larger than 0 MiB"):
        manifests.read_bytes(str(path))
    assert reads == []
