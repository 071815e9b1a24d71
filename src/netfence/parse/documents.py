"""Text → raw Kubernetes objects: multi-document YAML, JSON, and ``List`` kinds.

Reading files is io's job; this module only decodes text that was already read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

from netfence.errors import InvalidInputError
from netfence.model.diagnostics import Diagnostic, Source, error
from netfence.parse import fastyaml

# The C loader is many times faster on large inputs; PyYAML may be built without it.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """YAML as kubectl reads it: an unquoted date such as ``2024-01-01`` stays a
    string (kubectl converts YAML to JSON, which has no timestamps)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
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


def _decode(text: str, file: str) -> Iterator[object]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            yield json.loads(text)
            return
        except json.JSONDecodeError:
            pass  # YAML flow style also starts with { or [: let the YAML parser judge
    try:
        yield from fastyaml.load_all(text, _Loader)
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            [error(_yaml_message(exc), Source(file, _doc_number(text, exc)))]
        ) from None


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _doc_number(text: str, exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return 1
    before = text.splitlines()[: mark.line]
    return 1 + sum(1 for line in before if line.startswith("---"))


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
