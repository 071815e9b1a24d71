"""Where an object came from, and what is wrong with it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """A document in an input: the file (or ``-`` for stdin), its 1-based index (0
    for the file as a whole, or an input without an order of documents, such as
    the Kubernetes API), and, for
    an item of a ``List``, the item's 0-based index (and, for an item of a list
    nested in that item, its index there, and so on: ``nested``)."""

    file: str
    doc: int
    item: int | None = None
    nested: tuple[int, ...] = ()

    def format(self) -> str:
        where = f"{self.file}: doc {self.doc}" if self.doc else self.file
        if self.item is None:
            return where
        return f"{where}: items[{self.item}]" + "".join(f".items[{i}]" for i in self.nested)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """The Kubernetes object a diagnostic is about: ``NetworkPolicy ui/allow-ui-egress``."""

    kind: str
    namespace: str | None
    name: str | None

    def format(self) -> str:
        name = self.name if self.name else "<unnamed>"
        return f"{self.kind} {self.namespace}/{name}" if self.namespace else f"{self.kind} {name}"


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTICE = "notice"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem, located by file, document, object and field path; ``code``
    marks the diagnostics that other code collects (model/completeness.py)."""

    severity: Severity
    message: str
    source: Source | None = None
    obj: ObjectRef | None = None
    field: str | None = None
    code: str | None = None

    def format(self) -> str:
        where = locate(self.source, self.obj, self.field)
        return f"{where}: {self.message}" if where else self.message


def locate(source: Source | None, obj: ObjectRef | None, field: str | None) -> str:
    """``file: doc N: Kind ns/name: field.path``, as much of it as is known."""
    parts = []
    if source is not None:
        parts.append(source.format())
    if obj is not None:
        parts.append(obj.format())
    if field:
        parts.append(field)
    return ": ".join(parts)


def error(
    message: str,
    source: Source | None = None,
    obj: ObjectRef | None = None,
    field: str | None = None,
) -> Diagnostic:
    return Diagnostic(Severity.ERROR, message, source, obj, field)


def notice(
    message: str,
    source: Source | None = None,
    obj: ObjectRef | None = None,
    field: str | None = None,
) -> Diagnostic:
    return Diagnostic(Severity.NOTICE, message, source, obj, field)
