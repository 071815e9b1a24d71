"""A CustomResourceDefinition's structural schema, as the API server applies it.

The cluster-wide policy kinds are CRDs: the API server checks them against the
CRD's OpenAPI v3 schema (types, required fields, enums, minimum/maximum,
maxLength, pattern, minItems/maxItems, minProperties/maxProperties, list-type
``set``) and then its CEL rules (``x-kubernetes-validations``). This module is
that machinery, with the schema as data (``tier_crds`` holds the schemas)::

    Str / Int / Arr / Struct / Selector / IntOrStr   schema nodes
    Cel(holds, message)                               one CEL rule, as a predicate
    schema_errors(value, node, path) -> list[FieldError]

Messages are the API server's (apiextensions-apiserver's conversion of
kube-openapi results to field errors), e.g.::

    spec.priority: Invalid value: 1001: spec.priority in body should be less than or equal to 1000
    spec.ingress: Too many: 26: must have at most 25 items
    spec.subject: Invalid value: 0: spec.subject in body should have at least 1 properties
    spec.egress[0]: Invalid value: "object": <the rule's message>

Unknown fields are reported as ``kubectl apply``'s strict field validation does
(``unknown field "spec.foo"``). A null field is an absent one (the API
server prunes it), as elsewhere in netfence; a null list item is of the wrong
type.

Deliberate difference: the API server does not run CEL rules at all when the
schema pass found a Required, Unsupported (enum), Too long, Too many or wrong-type
error ("some validation rules were not checked because the object was invalid;
correct the existing errors to complete validation"); netfence runs every rule on
every value whose own type is right, so that every problem is reported at once.
CEL errors follow the schema errors, as the API server orders them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from netfence.parse.validation_meta import selector_errors
from netfence.parse.validation_shapes import (
    ANYTHING,
    FieldError,
    Obj,
    child,
    index,
    invalid,
    map_key,
    not_supported,
    required,
    show,
    unknown_fields,
)


@dataclass(frozen=True, slots=True)
class Cel:
    """One ``x-kubernetes-validations`` rule: ``holds(self)`` is the rule (written in
    Python over the decoded value), ``message`` the CRD's message, ``rule`` the CEL
    text it stands for."""

    holds: Callable[[Any], bool]
    message: str
    rule: str


@dataclass(frozen=True, slots=True)
class Str:
    max_length: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    rules: tuple[Cel, ...] = ()


@dataclass(frozen=True, slots=True)
class Int:
    """An int32 with optional bounds."""

    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True, slots=True)
class IntOrStr:
    """``x-kubernetes-int-or-string``."""


@dataclass(frozen=True, slots=True)
class Arr:
    items: Node
    min_items: int | None = None
    max_items: int | None = None
    is_set: bool = False  # x-kubernetes-list-type: set
    rules: tuple[Cel, ...] = ()


@dataclass(frozen=True, slots=True)
class Struct:
    properties: Mapping[str, Node]
    required: tuple[str, ...] = ()
    min_properties: int | None = None
    max_properties: int | None = None
    rules: tuple[Cel, ...] = ()
    hints: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StrMap:
    """``additionalProperties: {type: string}`` (matchLabels)."""


@dataclass(frozen=True, slots=True)
class Opaque:
    """``type: object`` without properties (metadata, whose rules are checked apart)."""


Node: TypeAlias = Str | Int | IntOrStr | Arr | Struct | StrMap | Opaque

_REQUIREMENT = Struct(
    {"key": Str(), "operator": Str(), "values": Arr(Str())}, required=("key", "operator")
)
# meta/v1 LabelSelector as controller-gen writes it into a CRD
_SELECTOR_HINT = "a label selector has only matchLabels and matchExpressions"
SELECTOR = Struct(
    {"matchLabels": StrMap(), "matchExpressions": Arr(_REQUIREMENT)},
    hints={"namespaceSelector": _SELECTOR_HINT, "podSelector": _SELECTOR_HINT},
)


def json_type(value: object) -> str:
    """The JSON type name of a decoded value, as the API server words it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _wrong_type(path: str, expected: str, value: object) -> FieldError:
    got = json_type(value)
    return invalid(path, got, f"{path} in body must be of type {expected}: {show(got)}")


@dataclass
class _Walk:
    schema: list[FieldError] = field(default_factory=list)
    cel: list[FieldError] = field(default_factory=list)
    selectors: list[tuple[object, str]] = field(default_factory=list)


def schema_errors(value: object, node: Node, path: str) -> list[FieldError]:
    """Every schema error under ``path``, then every failed CEL rule, then the meta/v1
    rules of label selectors whose schema was right (netfence's own addition: the
    API server does not check selectors in CRDs, but every implementation parses
    them and cannot use an invalid one)."""
    walk = _Walk()
    _check(value, node, path, walk)
    errors = walk.schema + walk.cel
    for selector, where in walk.selectors:
        errors.extend(selector_errors(selector, where))
    return errors


def _check(value: object, node: Node, path: str, walk: _Walk) -> None:
    if value is None or isinstance(node, Opaque):
        return
    if type(node) is Struct:  # the most frequent node first
        _check_struct(value, node, path, walk)
    elif isinstance(node, Str):
        _check_str(value, node, path, walk)
    elif isinstance(node, Int):
        _check_int(value, node, path, walk)
    elif isinstance(node, IntOrStr):
        if not isinstance(value, int | str) or isinstance(value, bool):
            walk.schema.append(_wrong_type(path, "integer,string", value))
    elif isinstance(node, Arr):
        _check_arr(value, node, path, walk)
    elif isinstance(node, StrMap):
        _check_str_map(value, path, walk)
    else:
        _check_struct(value, node, path, walk)


def _check_str(value: object, node: Str, path: str, walk: _Walk) -> None:
    if not isinstance(value, str):
        walk.schema.append(_wrong_type(path, "string", value))
        return
    if node.max_length is not None and len(value) > node.max_length:
        message = f"Too long: may not be more than {node.max_length} bytes"
        walk.schema.append(FieldError(path, message))
    if node.pattern is not None and not re.search(node.pattern, value):
        detail = f"{path} in body should match '{node.pattern}'"
        walk.schema.append(invalid(path, value, detail))
    if node.enum and value not in node.enum:
        walk.schema.append(not_supported(path, value, node.enum))
    _run_rules(value, node.rules, path, walk)


def _check_int(value: object, node: Int, path: str, walk: _Walk) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        walk.schema.append(_wrong_type(path, "integer", value))
        return
    if node.minimum is not None and value < node.minimum:
        detail = f"{path} in body should be greater than or equal to {node.minimum}"
        walk.schema.append(invalid(path, value, detail))
    if node.maximum is not None and value > node.maximum:
        detail = f"{path} in body should be less than or equal to {node.maximum}"
        walk.schema.append(invalid(path, value, detail))


def _check_arr(value: object, node: Arr, path: str, walk: _Walk) -> None:
    if not isinstance(value, list):
        walk.schema.append(_wrong_type(path, "array", value))
        return
    if node.min_items is not None and len(value) < node.min_items:
        detail = f"{path} in body should have at least {node.min_items} items"
        walk.schema.append(invalid(path, len(value), detail))
    if node.max_items is not None and len(value) > node.max_items:
        message = f"Too many: {len(value)}: must have at most {node.max_items} items"
        walk.schema.append(FieldError(path, message))
    for i, item in enumerate(value):
        if item is None:  # a null field is pruned, a null item is not
            walk.schema.append(_wrong_type(index(path, i), _type_of(node.items), None))
        _check(item, node.items, index(path, i), walk)
    if node.is_set:
        walk.schema.extend(_duplicates(value, path))
    _run_rules(value, node.rules, path, walk)


def _type_of(node: Node) -> str:
    if isinstance(node, Str):
        return "string"
    if isinstance(node, Int):
        return "integer"
    if isinstance(node, IntOrStr):
        return "integer,string"
    return "array" if isinstance(node, Arr) else "object"


def _duplicates(items: Sequence[object], path: str) -> list[FieldError]:
    seen: set[str] = set()
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        key = repr(item)
        if key in seen:
            errors.append(FieldError(index(path, i), f"Duplicate value: {show(item)}"))
        seen.add(key)
    return errors


def _check_str_map(value: object, path: str, walk: _Walk) -> None:
    if not isinstance(value, Mapping):
        walk.schema.append(_wrong_type(path, "object", value))
        return
    for key, item in value.items():
        if item is not None and not isinstance(item, str):
            walk.schema.append(_wrong_type(child(path, str(map_key(key))), "string", item))


def _check_struct(value: object, node: Struct, path: str, walk: _Walk) -> None:
    if type(value) is not dict and not isinstance(value, Mapping):  # decoded: a dict
        walk.schema.append(_wrong_type(path, "object", value))
        return
    properties = node.properties
    errors_before = len(walk.schema)
    present = {_key(k): v for k, v in value.items() if v is not None}
    known = [name for name in present if name in properties]  # what the pruned object has
    if node.required:
        walk.schema.extend(required(child(path, n)) for n in node.required if n not in present)
    if node.min_properties is not None and len(known) < node.min_properties:
        detail = f"{path} in body should have at least {node.min_properties} properties"
        walk.schema.append(invalid(path, len(known), detail))
    if node.max_properties is not None and len(known) > node.max_properties:
        message = f"Too many: {len(known)}: must have at most {node.max_properties} items"
        walk.schema.append(FieldError(path, message))
    if len(value) != len(known):  # unknown fields, or nulls (which unknown_fields skips)
        walk.schema.extend(unknown_fields(value, _names(node), path))
    for name in known:
        _check(present[name], properties[name], child(path, name), walk)
    if node is SELECTOR and len(walk.schema) == errors_before:  # well-formed: meta/v1 rules
        walk.selectors.append((value, path))
    if node.rules:
        _run_rules(present, node.rules, path, walk)


def _key(key: object) -> str:
    return key if isinstance(key, str) else str(map_key(key))


def _names(node: Struct) -> Obj:
    """The struct's field names as a shape, for the unknown-field check and its hints."""
    return Obj(dict.fromkeys(node.properties, ANYTHING), node.hints)


def _run_rules(value: object, rules: tuple[Cel, ...], path: str, walk: _Walk) -> None:
    for rule in rules:
        if not _holds(rule, value):
            walk.cel.append(invalid(path, json_type(value), rule.message))


def _holds(rule: Cel, value: object) -> bool:
    """A rule that cannot be evaluated on a malformed value (already reported by the
    schema pass) is not reported again."""
    try:
        return bool(rule.holds(value))
    except (KeyError, TypeError, AttributeError, ValueError):
        return True
