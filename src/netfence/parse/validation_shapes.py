"""Shapes of raw manifests, and the problems found in them.

Shared by ``netfence.parse.validation`` and ``netfence.parse.validation_meta``::

    FieldError(field, message, severity=ERROR)    one problem at a field path
        .diagnostic(source, obj) -> Diagnostic
    invalid / required / forbidden / not_supported / wrong_type / warning
                                                  FieldError in the API server's words
    Obj / ListOf / StringMap / Scalar / ANYTHING  a schema
    check_shape(value, schema, path)              wrong types and unknown fields
    unknown_fields(value, schema, path)           unknown fields of one object only
    as_map / list_at / objects_at / str_at / string_items
                                                  read values after the shape check

``check_shape`` reports what ``kubectl apply`` rejects before validation runs:
values of the wrong type (Go: "json: cannot unmarshal string into Go struct
field ... of type []...") and unknown fields (strict field validation:
``unknown field "spec.egres"``). The readers never fail: they return a neutral
value for what has the wrong type, which the shape check has already reported.

Decoding follows the API server's Go JSON decoding: ``null`` is the same as an
absent field (a null list is no list, a null selector is no selector, a null
string is ""); map keys that YAML gives as integers or booleans become strings,
as kubectl's YAML-to-JSON conversion does.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from netfence.model.diagnostics import Diagnostic, ObjectRef, Severity, Source
from netfence.parse.documents import type_name

# --- problems ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem at a field path such as ``spec.ingress[0].from[1].ipBlock.cidr``."""

    field: str
    message: str
    severity: Severity = Severity.ERROR

    def diagnostic(self, source: Source | None, obj: ObjectRef | None) -> Diagnostic:
        return Diagnostic(self.severity, self.message, source, obj, self.field or None)


def child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def show(value: object) -> str:
    """A value as the API server quotes it in messages (strings quoted, numbers bare).
    Characters that cannot be shown as themselves (control and format characters,
    lone surrogates, which no terminal can print) are escaped as ``\\uXXXX``."""
    if isinstance(value, int) and value.bit_length() > _SHOWN_BITS:
        return f"<an integer of {value.bit_length()} bits>"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):  # e.g. a nested integer too long to print
        return f"<{type_name(value)}>"
    text = "".join(_escape(c) for c in text)
    return text if len(text) <= 80 else text[:77] + "..."


_SHOWN_BITS = 256  # longer integers (77 digits and more) are shown by their size


def _escape(char: str) -> str:
    if char.isprintable() or char == " ":
        return char
    return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"


def invalid(path: str, value: object, detail: str) -> FieldError:
    return FieldError(path, f"Invalid value: {show(value)}: {detail}")


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, f"Required value: {detail}" if detail else "Required value")


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, f"Forbidden: {detail}")


def not_supported(path: str, value: object, supported: Sequence[str]) -> FieldError:
    listed = ", ".join(show(s) for s in supported)
    return FieldError(path, f"Unsupported value: {show(value)}: supported values: {listed}")


def wrong_type(path: str, expected: str, value: object) -> FieldError:
    """Go's "json: cannot unmarshal string into Go struct field ... of type []...", in words."""
    got = type_name(value)
    if isinstance(value, str | int | float):  # bool is an int
        got = f"{got} {show(value)}"
    return FieldError(path, f"expected {expected}, got {got}")


def warning(path: str, message: str) -> FieldError:
    return FieldError(path, message, Severity.WARNING)


# --- shapes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scalar:
    """A JSON scalar of one of ``types`` (a boolean is never an integer here)."""

    types: tuple[type, ...]
    expected: str


@dataclass(frozen=True, slots=True)
class ListOf:
    item: Schema


@dataclass(frozen=True, slots=True)
class StringMap:
    """``map[string]string``: labels, annotations, matchLabels."""


@dataclass(frozen=True, slots=True)
class Obj:
    """A struct: only ``fields`` may appear. ``hints`` explain likely mistakes by name."""

    fields: Mapping[str, Schema]
    hints: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Anything:
    """Not checked (status, managedFields, ...)."""


Schema: TypeAlias = Scalar | ListOf | StringMap | Obj | Anything

ANYTHING = Anything()
STRING = Scalar((str,), "a string")
INTEGER = Scalar((int,), "an integer")
INT_OR_STRING = Scalar((int, str), "an integer or a string")
STRING_MAP = StringMap()


def check_shape(value: object, schema: Schema, path: str) -> list[FieldError]:
    """Wrong types and unknown fields under ``path``; null is always allowed (absent)."""
    if value is None or isinstance(schema, Anything):
        return []
    if isinstance(schema, Scalar):
        if isinstance(value, schema.types) and not isinstance(value, bool):
            return []
        return [wrong_type(path, schema.expected, value)]
    if isinstance(schema, ListOf):
        if not isinstance(value, list):
            return [wrong_type(path, "a list", value)]
        return [e for i, v in enumerate(value) for e in check_shape(v, schema.item, index(path, i))]
    if isinstance(schema, StringMap):
        return _check_string_map(value, path)
    return _check_object(value, schema, path)


def _check_object(value: object, schema: Obj, path: str) -> list[FieldError]:
    """kubectl: ``strict decoding error: unknown field "spec.egres"``."""
    if not isinstance(value, Mapping):
        return [wrong_type(path, "an object", value)]
    errors: list[FieldError] = []
    for key, item in value.items():
        name = map_key(key) or str(key)
        if name in schema.fields:
            errors.extend(check_shape(item, schema.fields[name], child(path, name)))
        else:
            errors.append(_unknown(name, schema, path))
    return errors


def unknown_fields(value: object, schema: Obj, path: str) -> list[FieldError]:
    """The fields of an object at ``path`` that ``schema`` does not know, one level
    deep (types are checked elsewhere): a typo such as ``targetport`` would
    otherwise leave the field at its default without a word."""
    if not isinstance(value, Mapping):
        return []
    return [
        _unknown(name, schema, path)
        for name in (map_key(key) or str(key) for key in value)
        if name not in schema.fields
    ]


def _unknown(name: str, schema: Obj, path: str) -> FieldError:
    where = child(path, "".join(_escape(c) for c in name))
    return FieldError(where, f'unknown field "{where}"{_hint(name, schema)}')


def _hint(name: str, schema: Obj) -> str:
    if name in schema.hints:
        return f" ({schema.hints[name]})"
    by_lower = {known.lower(): known for known in schema.fields}
    close = difflib.get_close_matches(name, list(schema.fields), n=1, cutoff=0.7)
    match = by_lower.get(name.lower()) or (close[0] if close else None)
    return f' (did you mean "{match}"?)' if match else ""


def _check_string_map(value: object, path: str) -> list[FieldError]:
    if not isinstance(value, Mapping):
        return [wrong_type(path, "an object of strings", value)]
    errors: list[FieldError] = []
    for key, item in value.items():
        name = map_key(key)
        if name is None:
            errors.append(wrong_type(path, "string keys", key))
        elif item is not None and not isinstance(item, str):
            errors.append(wrong_type(child(path, name), "a string", item))
    return errors


def map_key(key: object) -> str | None:
    """A decoded map key as the API server sees it; None when no JSON key can stand for it.

    kubectl converts YAML to JSON before sending it, turning ``80: x`` into ``"80"`` and
    ``true: x`` into ``"true"``.
    """
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    return None


# --- reading checked values -------------------------------------------------------------


def as_map(value: object) -> Mapping[str, Any]:
    """A list item or field as an object; {} for null and for wrong types."""
    return value if isinstance(value, Mapping) else {}


def list_at(obj: Mapping[str, Any], key: str) -> list[Any] | None:
    """[] when absent or null; None when of the wrong type."""
    value = obj.get(key)
    if value is None:
        return []
    return value if isinstance(value, list) else None


def objects_at(obj: Mapping[str, Any], key: str) -> list[tuple[int, Mapping[str, Any]]]:
    """The object items of a list field with their indexes. A null item is an empty
    object (Go's zero value); an item of the wrong type is left out."""
    items = list_at(obj, key) or []
    return [
        (i, as_map(item))
        for i, item in enumerate(items)
        if item is None or isinstance(item, Mapping)
    ]


def str_at(obj: Mapping[str, Any], key: str, default: str) -> str | None:
    """``default`` when absent or null; None when of the wrong type."""
    value = obj.get(key)
    if value is None:
        return default
    return value if isinstance(value, str) else None


def string_items(value: object) -> list[tuple[str, str]]:
    """The well-typed entries of a string map; a null value is "" as in Go."""
    pairs: list[tuple[str, str]] = []
    for key, item in as_map(value).items():
        name = map_key(key)
        if name is not None and (item is None or isinstance(item, str)):
            pairs.append((name, item or ""))
    return pairs
