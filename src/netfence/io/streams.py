"""Reading a stream without trusting its length."""

from __future__ import annotations

from typing import IO

from netfence.parse.limits import MAX_FILE_BYTES, MIB

_CHUNK = 16 * MIB


def read_limited(stream: IO[bytes], size: int = 0) -> bytes:
    """A stream's bytes, stopping past MAX_FILE_BYTES (the caller refuses a result
    longer than that). Read in one piece when its size is known (a regular file) and
    in chunks otherwise (or when the file grew since): a read of MAX_FILE_BYTES at
    once would reserve that much memory for any input."""
    size = min(size, MAX_FILE_BYTES)
    data = stream.read(size + 1)
    if len(data) <= size:
        return data
    chunks = [data]
    total = len(data)
    while total <= MAX_FILE_BYTES:
        chunk = stream.read(min(_CHUNK, MAX_FILE_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)
