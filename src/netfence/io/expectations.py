"""Read an expectations file (through the same bounded reader and decoder as manifests)."""

from __future__ import annotations

from netfence.io.manifests import read_text
from netfence.model.expectation import Expectation
from netfence.parse.documents import decode_single
from netfence.parse.expectations import parse_expectations


def read_expectations(path: str) -> list[Expectation]:
    return parse_expectations(decode_single(read_text(path), path), path)
