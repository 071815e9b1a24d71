"""Read an expectations file."""

from __future__ import annotations

import yaml

from netfence.errors import InvalidInputError
from netfence.io.manifests import read_text
from netfence.model.diagnostics import Source, error
from netfence.model.expectation import Expectation
from netfence.parse.expectations import parse_expectations


def read_expectations(path: str) -> list[Expectation]:
    text = read_text(path)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InvalidInputError(
            [error(f"invalid YAML{where}: {problem}", Source(path, 1))]
        ) from None
    return parse_expectations(value, path)
