"""Text → raw Kubernetes objects: multi-document YAML, JSON, and ``List`` kinds.

Reading files is io's job; this module only decodes text that was already read.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from netfence.errors import InvalidInputError
from netfence.model.diagnostics import Diagnostic, Source, error
from netfence.parse import fastyaml
from netfence.parse.limits import MAX_DEPTH

# The C loader is many times faster on large inputs; PyYAML may be built without it.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_NOT_RESOLVED = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:value"}


class _Loader(_BaseLoader):  # type: ignore[misc]
    """YAML as kubectl reads it: an unquoted date such as ``2024-01-01`` stays a
    string (kubectl converts YAML to JSON, which has no timestamps), and so does a
    bare ``=`` (YAML 1.1's "value" key, seen in kube-prometheus CRDs)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _NOT_RESOLVED]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }


@dataclass(frozen=True, slots=True)
class RawDocument:
    """One decoded Kubernetes object and where it came from."""

    source: Source
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        kind = self.obj.get("kind")
        return kind if isinstance(kind, str) else ""


def parse_documents(text: str, file: str) -> list[RawDocument]:
    """Decode every object in ``text``; raise InvalidInputError for broken syntax or
    documents that are not objects, naming the file and document."""
    problems: list[Diagnostic] = []
    documents: list[RawDocument] = []
    for index, value in enumerate(_decode(text, file), start=1):
        if value is None:
            continue
        source = Source(file, index)
        if not isinstance(value, dict):
            problems.append(error(f"expected an object, got {type_name(value)}", source))
            continue
        documents.extend(_expand_list(value, source, problems))
    if problems:
        raise InvalidInputError(problems)
    return documents


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def decode_single(text: str, file: str) -> object:
    """One YAML (or JSON) document, as expectation files and kustomizations hold:
    the same bounded decoder as manifests; ``None`` for an empty text."""
    values = list(_decode(text, file))
    if len(values) > 1:
        raise InvalidInputError(
            [error("expected one YAML document, found more than one", Source(file, 2))]
        )
    return values[0] if values else None


def _decode(text: str, file: str) -> Iterator[object]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        value = _decode_json(text, file)
        if value is not _NOT_JSON:
            yield value
            return
        # YAML flow style also starts with { or [: let the YAML parser judge
    read = 0
    try:
        for value in fastyaml.load_all(text, _Loader, string_keys=True):
            read += 1
            yield value
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            [
                error(
                    _yaml_message(exc),
                    Source(file, read + 1),
                    field=getattr(exc, "path", None) or None,
                )
            ]
        ) from None


_NOT_JSON = object()


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _decode_json(text: str, file: str) -> object:
    """A JSON text, strictly: a key given twice, nesting deeper than MAX_DEPTH and
    integers too long to read are errors; a lone UTF-16 surrogate escape becomes
    U+FFFD (as Go's JSON decoder reads it). ``_NOT_JSON`` when it is not JSON."""
    source = Source(file, 1)
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        return _NOT_JSON
    except _DuplicateKey as exc:
        where = _json_duplicate_path(text)
        raise InvalidInputError(
            [error(f'invalid JSON: duplicate key "{exc.key}"', source, field=where)]
        ) from None
    except RecursionError:
        raise InvalidInputError(
            [error(f"invalid JSON: nested deeper than {MAX_DEPTH} levels", source)]
        ) from None
    except ValueError:  # an integer with more digits than Python converts
        raise InvalidInputError([error(_long_integer(text), source)]) from None
    too_deep = _too_deep(value)
    if too_deep is not None:
        raise InvalidInputError(
            [error(f"invalid JSON: nested deeper than {MAX_DEPTH} levels", source, field=too_deep)]
        )
    if _LONE_SURROGATE_ESCAPE.search(text):
        value = _replace_surrogates(value)
    return value


def _long_integer(text: str) -> str:
    limit = sys.get_int_max_str_digits()
    found = re.search(rf"\d{{{limit + 1},}}", text)
    if found is None:
        return f"invalid JSON: an integer of more than {limit:,} digits"
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return (
        f"invalid JSON at line {line}, column {column}: integer too large: "
        f"{len(found.group()):,} digits (at most {limit:,} are read)"
    )


_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_duplicate_path(text: str) -> str | None:
    """Where a duplicate key of a JSON text is: JSON is YAML flow style, and the
    YAML builder names the field path."""
    try:
        list(fastyaml.load_all(text, _Loader, string_keys=True))
    except fastyaml.YAMLProblem as exc:
        return exc.path or None
    except (yaml.YAMLError, RecursionError):
        return None
    return None


def _too_deep(value: object) -> str | None:
    """The path of a value nested deeper than MAX_DEPTH, without recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if depth > MAX_DEPTH:
            return _path_to_depth(value)
        if item.__class__ is dict:
            children: Any = item.values()
        elif item.__class__ is list:
            children = item
        else:
            continue
        for child in children:
            if child.__class__ is dict or child.__class__ is list:
                push((child, depth + 1))
    return None


def _path_to_depth(value: object) -> str:
    """The path to the first container at depth MAX_DEPTH + 1 (only for the message)."""
    stack: list[tuple[object, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return path
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((child, depth + 1, f"{path}.{key}" if path else str(key)))
        elif isinstance(item, list):
            for i, child in enumerate(item):
                stack.append((child, depth + 1, f"{path}[{i}]"))
    return ""


def _replace_surrogates(value: object) -> object:
    """Strings (keys too) with lone surrogates get U+FFFD instead, iteratively."""

    def fix(text: str) -> str:
        return _SURROGATE.sub("\ufffd", text)

    def fixed(item: object) -> object:
        return fix(item) if isinstance(item, str) else item

    root: list[object] = [value]
    stack: list[Any] = [root]
    while stack:
        container = stack.pop()
        if isinstance(container, list):
            for i, item in enumerate(container):
                container[i] = fixed(item)
                if isinstance(item, dict | list):
                    stack.append(item)
        else:
            items = list(container.items())
            container.clear()
            for key, item in items:
                container[fixed(key)] = fixed(item)
                if isinstance(item, dict | list):
                    stack.append(item)
    return root[0]


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _expand_list(
    value: dict[str, Any], source: Source, problems: list[Diagnostic]
) -> Iterator[RawDocument]:
    """API objects of kind ``List`` (and ``*List``, as ``kubectl get -o yaml`` prints)
    carry their objects in ``items``."""
    kind = value.get("kind")
    if not (isinstance(kind, str) and kind.endswith("List") and "items" in value):
        yield RawDocument(source, value)
        return
    items = value.get("items") or []
    if not isinstance(items, list):
        problems.append(error(f"items: expected a list, got {type_name(items)}", source))
        return
    for i, item in enumerate(items):
        item_source = Source(source.file, source.doc, i)
        if isinstance(item, dict):
            yield RawDocument(item_source, item)
        else:
            problems.append(error(f"expected an object, got {type_name(item)}", item_source))


def with_default_namespace(
    documents: list[RawDocument], namespace: str | None
) -> list[RawDocument]:
    """``kubectl apply -n NS``: objects without a namespace get NS (others keep theirs)."""
    if not namespace:
        return documents
    out = []
    for doc in documents:
        meta = doc.obj.get("metadata")
        if isinstance(meta, dict) and not meta.get("namespace"):
            doc = RawDocument(doc.source, {**doc.obj, "metadata": {**meta, "namespace": namespace}})
        out.append(doc)
    return out
