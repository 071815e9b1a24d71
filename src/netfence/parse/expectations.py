"""Expectation files: a YAML list of ``{from, to, port, protocol, allowed}``; an end
may be described by namespace and labels instead (``fromLabels``/``toLabels``)."""

from __future__ import annotations

from typing import Any

from netfence.errors import InvalidInputError
from netfence.model.diagnostics import Diagnostic, Source, error
from netfence.model.expectation import DescribedEndpoint, Expectation
from netfence.model.ports import ContainerPort, Protocol
from netfence.parse.documents import type_name
from netfence.parse.fields import FieldReader
from netfence.parse.validation_meta import (
    dns1123_label_errors,
    iana_svc_name_errors,
    validate_label_map,
)

_FIELDS = {
    "name", "from", "to", "port", "protocol", "allowed", "resolve", "fromLabels", "toLabels",
}  # fmt: skip
_DESCRIBED_FIELDS = {"namespace", "labels", "ports"}
_PORT_FIELDS = {"name", "containerPort", "protocol"}


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
    if item.get("allowed") is None:
        reader.fail(f"{path}.allowed", "Required value")
    ends: dict[str, DescribedEndpoint | None] = {}
    for end in ("from", "to"):
        described = f"{end}Labels"
        if item.get(end) is None and item.get(described) is None:
            reader.fail(f"{path}.{end}", f"Required value: {end} or {described}")
        if item.get(end) is not None and item.get(described) is not None:
            reader.fail(f"{path}.{described}", f"Forbidden: {end} and {described} are exclusive")
        ends[end] = (
            _described(item[described], f"{path}.{described}", reader)
            if item.get(described) is not None
            else None
        )
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
        from_=_end_text(item.get("from"), ends["from"], f"{path}.from", reader),
        to=_end_text(item.get("to"), ends["to"], f"{path}.to", reader),
        port=port,
        protocol=_protocol(item.get("protocol"), f"{path}.protocol", reader),
        allowed=reader.boolean(item.get("allowed"), f"{path}.allowed"),
        name=reader.string(item.get("name"), f"{path}.name") or None,
        resolve=reader.ip(item.get("resolve"), f"{path}.resolve"),
        from_labels=ends["from"],
        to_labels=ends["to"],
    )


def _end_text(
    value: object, described: DescribedEndpoint | None, path: str, reader: FieldReader
) -> str:
    return described.format() if described is not None else _text(value, path, reader)


def _described(raw: object, path: str, reader: FieldReader) -> DescribedEndpoint | None:
    """``{namespace, labels, ports}``: labels and ports as a Pod writes them."""
    item: dict[str, Any] = reader.mapping(raw, path)
    for key in sorted(set(item) - _DESCRIBED_FIELDS):
        known = ", ".join(sorted(_DESCRIBED_FIELDS))
        reader.fail(f"{path}.{key}", f'unknown field "{key}" (known: {known})')
    namespace = reader.string(item.get("namespace"), f"{path}.namespace")
    if not namespace:
        reader.fail(f"{path}.namespace", "Required value")
    for message in dns1123_label_errors(namespace) if namespace else ():
        reader.fail(f"{path}.namespace", f'Invalid value: "{namespace}": {message}')
    for problem in validate_label_map(item.get("labels"), f"{path}.labels"):
        reader.fail(problem.field, problem.message)
    labels = reader.labels(item.get("labels"), f"{path}.labels")
    ports = tuple(
        port
        for i, raw_port in enumerate(reader.listing(item.get("ports"), f"{path}.ports"))
        if (port := _container_port(raw_port, f"{path}.ports[{i}]", reader)) is not None
    )
    return DescribedEndpoint(namespace, labels, ports)


def _container_port(raw: object, path: str, reader: FieldReader) -> ContainerPort | None:
    item: dict[str, Any] = reader.mapping(raw, path)
    for key in sorted(set(item) - _PORT_FIELDS):
        reader.fail(
            f"{path}.{key}", f'unknown field "{key}" (known: {", ".join(sorted(_PORT_FIELDS))})'
        )
    number = item.get("containerPort")
    if number is None:
        reader.fail(f"{path}.containerPort", "Required value")
        return None
    number = reader.integer(number, f"{path}.containerPort", 0)
    if not 1 <= number <= 65535:
        reader.fail(
            f"{path}.containerPort",
            f"Invalid value: {number}: must be between 1 and 65535, inclusive",
        )
        return None
    name = reader.string(item.get("name"), f"{path}.name") or None
    for message in iana_svc_name_errors(name) if name else ():
        reader.fail(f"{path}.name", f'Invalid value: "{name}": {message}')
    protocol = _protocol(item.get("protocol"), f"{path}.protocol", reader)
    return ContainerPort(number, protocol, name)


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
