"""Expectation files: a YAML list of ``{from, to, port, protocol, allowed}``."""

from __future__ import annotations

from typing import Any

from netfence.errors import InvalidInputError
from netfence.model.diagnostics import Diagnostic, Source, error
from netfence.model.expectation import Expectation
from netfence.model.ports import Protocol
from netfence.parse.documents import type_name
from netfence.parse.fields import FieldReader

_FIELDS = {"name", "from", "to", "port", "protocol", "allowed", "resolve"}


def parse_expectations(value: object, file: str) -> list[Expectation]:
    """Every entry checked at once; InvalidInputError lists all problems."""
    source = Source(file, 1)
    if isinstance(value, dict) and "expectations" in value:
        value = value["expectations"]
    if not isinstance(value, list):
        raise InvalidInputError(
            [error(f"expected a list of expectations, got {type_name(value)}", source)]
        )
    problems: list[Diagnostic] = []
    out: list[Expectation] = []
    for index, raw in enumerate(value):
        reader = FieldReader(source, None)
        item = _entry(raw, index, source, reader)
        problems.extend(reader.problems)
        if item is not None and not reader.problems:
            out.append(item)
    if problems:
        raise InvalidInputError(problems)
    return out


def _entry(raw: object, index: int, source: Source, reader: FieldReader) -> Expectation | None:
    path = f"[{index}]"
    item: dict[str, Any] = reader.mapping(raw, path)
    if not item:
        reader.fail(path, "expected an object with from, to and allowed")
        return None
    for key in sorted(set(item) - _FIELDS):
        reader.fail(f"{path}.{key}", f'unknown field "{key}" (known: {", ".join(sorted(_FIELDS))})')
    for key in ("from", "to", "allowed"):
        if item.get(key) is None:
            reader.fail(f"{path}.{key}", "Required value")
    port = item.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int | str)):
        reader.fail(f"{path}.port", f"expected a port number or name, got {type_name(port)}")
        port = None
    if isinstance(port, int) and not 1 <= port <= 65535:
        reader.fail(
            f"{path}.port", f"Invalid value: {port}: must be between 1 and 65535, inclusive"
        )
    return Expectation(
        source=source,
        index=index,
        from_=_text(item.get("from"), f"{path}.from", reader),
        to=_text(item.get("to"), f"{path}.to", reader),
        port=port,
        protocol=_protocol(item.get("protocol"), f"{path}.protocol", reader),
        allowed=reader.boolean(item.get("allowed"), f"{path}.allowed"),
        name=reader.string(item.get("name"), f"{path}.name") or None,
        resolve=reader.ip(item.get("resolve"), f"{path}.resolve"),
    )


def _text(value: object, path: str, reader: FieldReader) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return reader.string(value, path)


def _protocol(value: object, path: str, reader: FieldReader) -> Protocol:
    """The protocol defaults to TCP, as in NetworkPolicyPort."""
    if value is None:
        return Protocol.TCP
    text = reader.string(value, path)
    try:
        return Protocol(text.upper())
    except ValueError:
        reader.fail(path, f'Unsupported value: "{text}": supported values: "SCTP", "TCP", "UDP"')
        return Protocol.TCP
