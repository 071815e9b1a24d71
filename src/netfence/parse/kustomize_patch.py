"""kustomize's patches, as pure functions on decoded objects: strategic merge
patches (with the ``$patch`` directives), JSON 6902 patches (RFC 6902 with
RFC 6901 pointers) and the ``target`` selectors that pick what a patch applies
to. A patch that cannot apply raises PatchError with the reason; the caller
locates it."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from netfence.parse.kustomize_fields import CONTAINER_PORT_KEY, MERGE_KEYS, SERVICE_PORT_KEY


class PatchError(Exception):
    """Why a patch does not apply (the message is for the user)."""


DELETE = object()  # a strategic merge patch removed the whole object


def group_version(api_version: object) -> tuple[str, str]:
    """``apps/v1`` → (apps, v1); ``v1`` → ("", v1)."""
    text = api_version if isinstance(api_version, str) else ""
    group, _, version = text.rpartition("/")
    return group, version


# --- strategic merge --------------------------------------------------------


def strategic_merge(original: dict[str, Any], patch: dict[str, Any]) -> Any:
    """The object ``patch`` makes of ``original``, or DELETE (``$patch: delete``)."""
    kind = original.get("kind")
    return _merge(original, patch, kind if isinstance(kind, str) else "", ())


def _merge(original: Any, patch: Any, kind: str, path: tuple[str, ...]) -> Any:
    if isinstance(patch, dict):
        return _merge_map(original, patch, kind, path)
    if isinstance(patch, list):
        return _merge_list(original, patch, kind, path)
    return patch


def _merge_map(original: Any, patch: dict[str, Any], kind: str, path: tuple[str, ...]) -> Any:
    directive = patch.get("$patch")
    if directive == "delete":
        return DELETE
    if directive == "replace":
        return _clean(patch)
    if directive is not None:
        raise PatchError(f"{_where(path)}$patch: unknown directive {directive!r}")
    out: dict[str, Any] = dict(original) if isinstance(original, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            current = out.get(field)
            if isinstance(current, list) and isinstance(value, list):
                out[field] = [item for item in current if item not in value]
            continue
        if value is None:
            out.pop(key, None)
            continue
        merged = _merge(out.get(key), value, kind, (*path, key))
        if merged is DELETE:
            out.pop(key, None)
        else:
            out[key] = merged
    if isinstance(retain, list):
        out = {key: value for key, value in out.items() if key in retain}
    return out


def _merge_key(kind: str, path: tuple[str, ...]) -> str | None:
    field = path[-1] if path else ""
    if field == "ports":
        return (
            SERVICE_PORT_KEY
            if kind == "Service" and path == ("spec", "ports")
            else (CONTAINER_PORT_KEY if len(path) >= 2 and "ontainers" in path[-2] else None)
        )
    return MERGE_KEYS.get(field)


def _merge_list(original: Any, patch: list[Any], kind: str, path: tuple[str, ...]) -> Any:
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch):
        return [_clean(item) for item in patch if not _is_directive(item, "replace")]
    key = _merge_key(kind, path)
    if key is None or not isinstance(original, list):
        return [_clean(item) for item in patch if not _is_directive(item, "delete")]
    # kustomize's order: the patch's items in the patch's order, then the
    # original items the patch does not name, in their order
    merged: list[Any] = []
    used: set[int] = set()
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            merged.append(_clean(item))
            continue
        index = next(
            (
                i
                for i, old in enumerate(original)
                if i not in used and isinstance(old, dict) and old.get(key) == item[key]
            ),
            None,
        )
        if index is not None:
            used.add(index)
        if item.get("$patch") == "delete":
            continue
        merged.append(_clean(item) if index is None else _merge(original[index], item, kind, path))
    return merged + [old for i, old in enumerate(original) if i not in used]


def _is_directive(item: Any, name: str) -> bool:
    return isinstance(item, dict) and item.get("$patch") == name


def _clean(value: Any) -> Any:
    """A patch value with its directives removed, as it lands in the object."""
    if isinstance(value, dict):
        return {
            k: _clean(v)
            for k, v in value.items()
            if not (
                k.startswith("$patch") or (k.startswith("$") and "/" in k) or k == "$retainKeys"
            )
        }
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path) + ": " if path else ""


# --- JSON 6902 ----------------------------------------------------------------

_OPS = ("add", "remove", "replace", "move", "copy", "test")


def json_patch(original: dict[str, Any], operations: list[Any]) -> dict[str, Any]:
    """RFC 6902: the operations in order, on a copy; the first that fails raises."""
    document: Any = copy.deepcopy(original)
    for index, operation in enumerate(operations):
        try:
            document = _operate(document, operation)
        except PatchError as exc:
            raise PatchError(f"[{index}]: {exc}") from None
    if not isinstance(document, dict):
        raise PatchError("the patch does not leave an object")
    return document


def _operate(document: Any, operation: Any) -> Any:
    if not isinstance(operation, dict):
        raise PatchError("expected an operation object")
    op = operation.get("op")
    if op not in _OPS:
        raise PatchError(f"op: Unsupported value: {op!r}: supported values: {', '.join(_OPS)}")
    path = _pointer(operation, "path")
    if op == "remove":
        _remove(document, path)
        return document
    if op in ("move", "copy"):
        source = _pointer(operation, "from")
        value = _get(document, source)
        if op == "move":
            _remove(document, source)
        return _add(document, path, copy.deepcopy(value))
    if "value" not in operation:
        raise PatchError("value: Required value")
    value = copy.deepcopy(operation["value"])
    if op == "add":
        return _add(document, path, value)
    if op == "replace":
        _get(document, path)  # must exist
        if not path:
            return value
        _remove(document, path)
        return _add(document, path, value)
    if _get(document, path) != value:  # test
        raise PatchError(f"test failed at {operation['path']}")
    return document


def _pointer(operation: dict[str, Any], field: str) -> list[str]:
    text = operation.get(field)
    if not isinstance(text, str):
        raise PatchError(f"{field}: Required value")
    if text == "":
        return []
    if not text.startswith("/"):
        raise PatchError(f"{field}: {text!r} is not a JSON pointer (it starts with /)")
    return [part.replace("~1", "/").replace("~0", "~") for part in text[1:].split("/")]


def _index(container: list[Any], token: str, *, insert: bool) -> int:
    if token == "-" and insert:
        return len(container)
    if not re.fullmatch(r"0|[1-9][0-9]*", token):
        raise PatchError(f"{token!r} is not a list index")
    index = int(token)
    if index > len(container) or (index == len(container) and not insert):
        raise PatchError(f"index {index} is out of range")
    return index


def _parent(document: Any, path: list[str]) -> Any:
    return _get(document, path[:-1])


def _get(document: Any, path: list[str]) -> Any:
    current = document
    for depth, token in enumerate(path):
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list):
            current = current[_index(current, token, insert=False)]
        else:
            raise PatchError(f"/{'/'.join(path[: depth + 1])}: no such field")
    return current


def _add(document: Any, path: list[str], value: Any) -> Any:
    if not path:
        return value
    parent = _parent(document, path)
    if isinstance(parent, dict):
        parent[path[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, path[-1], insert=True), value)
    else:
        raise PatchError(f"/{'/'.join(path[:-1])}: not an object or a list")
    return document


def _remove(document: Any, path: list[str]) -> None:
    if not path:
        raise PatchError("cannot remove the whole object")
    parent = _parent(document, path)
    if isinstance(parent, dict) and path[-1] in parent:
        del parent[path[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, path[-1], insert=False)]
    else:
        raise PatchError(f"/{'/'.join(path)}: no such field")


# --- target selectors ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    """A patch's ``target``: each field given must match (names, namespaces,
    kinds, groups and versions as whole-string regular expressions, as kustomize
    reads them); the selectors are label selectors in kubectl's text form."""

    group: str | None = None
    version: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    label_selector: str | None = None
    annotation_selector: str | None = None

    def selects(self, obj: dict[str, Any]) -> bool:
        group, version = group_version(obj.get("apiVersion"))
        meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        fields = (
            (self.group, group),
            (self.version, version),
            (self.kind, obj.get("kind")),
            (self.name, meta.get("name")),
            (self.namespace, meta.get("namespace")),
        )
        for pattern, value in fields:
            if pattern and not re.fullmatch(pattern, value if isinstance(value, str) else ""):
                return False
        for selector, field in (
            (self.label_selector, "labels"),
            (self.annotation_selector, "annotations"),
        ):
            if selector:
                values = meta.get(field)
                if not selector_matches(selector, values if isinstance(values, dict) else {}):
                    return False
        return True


_REQUIREMENT = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<absent>[\w./-]+)"
    r"|(?P<key>[\w./-]+)\s*(?:(?P<op>==|!=|=)\s*(?P<value>[\w.-]*)"
    r"|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?)\s*(?:,|$)"
)


def selector_matches(selector: str, labels: dict[str, Any]) -> bool:
    """A label selector in text form (``a=b,c!=d,e in (x,y),!f,g``) against labels."""
    for requirement in parse_selector(selector):
        key, operator, values = requirement
        present = key in labels
        value = str(labels.get(key)) if present else None
        if operator == "exists" and not present:
            return False
        if operator == "!" and present:
            return False
        if operator in ("=", "in") and value not in values:
            return False
        if operator in ("!=", "notin") and value in values:
            return False
    return True


def parse_selector(selector: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The requirements of a text label selector; PatchError when it does not parse."""
    out: list[tuple[str, str, tuple[str, ...]]] = []
    position = 0
    text = selector.strip()
    while position < len(text):
        found = _REQUIREMENT.match(text, position)
        if found is None or found.end() == position:
            raise PatchError(f"{selector!r}: not a label selector (at character {position + 1})")
        position = found.end()
        if found.group("absent"):
            out.append((found.group("absent"), "!", ()))
        elif found.group("op"):
            op = "!=" if found.group("op") == "!=" else "="
            out.append((found.group("key"), op, (found.group("value"),)))
        elif found.group("set"):
            values = tuple(v.strip() for v in found.group("values").split(",") if v.strip())
            out.append((found.group("key"), found.group("set"), values))
        else:
            out.append((found.group("key"), "exists", ()))
    return out
