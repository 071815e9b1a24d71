"""Multi-document YAML built straight from libyaml's event stream, within bounds.

PyYAML's C loader parses in C but composes a node graph and constructs
objects in Python, recursively; on large inputs (tens of MB of manifests) that
is most of the time, and on deep or alias-heavy inputs it exhausts the stack or
the memory. This module builds the same objects directly from the events with
an explicit stack, resolves each distinct plain scalar once (manifests repeat
the same keys and values), and reads YAML as kubectl does (it converts YAML to
JSON with strict decoding):

- a mapping key given twice is an error;
- a boolean, integer or float key becomes text (``on:`` is "true"), as JSON
  keys are strings; a null key is an error;
- nesting deeper than ``MAX_DEPTH`` and aliases that bring in more than
  ``MAX_ALIAS_NODES`` nodes (counted with their expansion, as kubectl's YAML
  library counts them) are errors, so a small file cannot expand to gigabytes;
- an alias to a node that contains it (a cycle) is an error;
- explicit tags give JSON values (``!!timestamp`` a string, ``!!binary`` its
  text); a tagged value that does not read (``!!int abc``) or an unknown tag is
  an error;
- merge keys (``<<``) merge as in PyYAML.

Every error is a ``YAMLProblem`` (a PyYAML ``MarkedYAMLError``) with the line and
column, and the field path where there is one.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from netfence.parse.limits import MAX_ALIAS_NODES, MAX_DEPTH

_TAG = "tag:yaml.org,2002:"
_MAP_TAGS = frozenset({None, "!", _TAG + "map"})
_SEQ_TAGS = frozenset({None, "!", _TAG + "seq"})
_SCALAR_TAGS = frozenset(
    _TAG + t for t in ("null", "bool", "int", "float", "binary", "timestamp", "str")
)
_MERGE_TAG = _TAG + "merge"


class YAMLProblem(ConstructorError):
    """A document that does not read, located by line, column and field path."""

    def __init__(self, problem: str, mark: Any, path: str = "") -> None:
        super().__init__(None, None, problem, mark)
        self.path = path


def load_all(text: str, loader: Any, string_keys: bool = False) -> Iterator[object]:
    """Like ``yaml.load_all(text, Loader=loader)`` (a SafeLoader subclass), within
    the bounds above; raises ``yaml.YAMLError`` (``YAMLProblem`` for what the
    builder refuses). With ``string_keys``, mapping keys are strings as in JSON,
    converted as kubectl converts them (``1`` → ``"1"``, ``true`` → ``"true"``); a
    null key is an error."""
    yield from _Builder(loader, string_keys).documents(text)


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


_NO_KEY = object()
_MERGE = object()


class _Builder:
    """One pass over the events with an explicit stack: containers being filled,
    and for each mapping the key waiting for its value."""

    def __init__(self, loader: Any, string_keys: bool = False) -> None:
        self._loader_cls = loader
        self._string_keys = string_keys
        self._resolved: dict[str, object] = {}
        self._containers: list[Any] = []
        self._keys: list[Any] = []

    def documents(self, text: str) -> Iterator[object]:
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        map_start, map_end = yaml.MappingStartEvent, yaml.MappingEndEvent
        seq_start, seq_end = yaml.SequenceStartEvent, yaml.SequenceEndEvent
        doc_end = yaml.DocumentEndEvent
        resolved, scalar = self._resolved, self._scalar
        containers, keys = self._containers, self._keys
        key_events: list[Any] = []  # the event of each mapping's pending key, for messages
        # Anchored containers still open: (name, start depth, nodes before, deepest before).
        open_anchors: list[tuple[str, int, int, int]] = []
        open_names: set[str] = set()
        merges: dict[int, list[tuple[object, Any]]] = {}  # open mapping (by id) → merges
        anchors: dict[str, tuple[object, int, int]] = {}  # name → (value, nodes, height)
        nodes = 0  # nodes of the document, aliases expanded
        alias_nodes = 0  # of which aliases brought in (the whole text)
        deepest = 0  # deepest nesting reached (while an anchored container is open)
        root: object = None
        event: Any
        for event in yaml.parse(text, Loader=self._loader_cls):
            kind = event.__class__
            if kind is scalar_event:
                nodes += 1
                if event.tag is None and event.implicit[0]:
                    text_value = event.value
                    value = resolved.get(text_value, _NO_KEY)
                    if value is _NO_KEY:
                        value = resolved[text_value] = self._resolve(text_value, event)
                else:
                    value = scalar(event)
                if value is _MERGE and not (
                    containers and containers[-1].__class__ is dict and keys[-1] is _NO_KEY
                ):
                    value = "<<"  # a merge key only where a key is; a string elsewhere
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1, 0)
            elif kind is map_start or kind is seq_start:
                nodes += 1
                if event.tag not in (_MAP_TAGS if kind is map_start else _SEQ_TAGS):
                    raise self._problem(f"unsupported YAML tag {short_tag(event.tag)}", event)
                depth = len(containers) + 1
                if depth > MAX_DEPTH:
                    raise self._problem(f"nested deeper than {MAX_DEPTH} levels", event)
                if depth > deepest:
                    deepest = depth
                if event.anchor is not None:
                    open_anchors.append((event.anchor, depth, nodes - 1, deepest))
                    open_names.add(event.anchor)
                    deepest = depth
                containers.append({} if kind is map_start else [])
                keys.append(_NO_KEY)
                key_events.append(None)
                continue
            elif kind is map_end or kind is seq_end:
                value = containers[-1]
                if kind is map_end and merges and id(value) in merges:
                    value = self._merge(value, merges.pop(id(value)))
                containers.pop()
                keys.pop()
                key_events.pop()
                if open_anchors and open_anchors[-1][1] == len(containers) + 1:
                    name, start, before, outer = open_anchors.pop()
                    open_names.discard(name)
                    anchors[name] = (value, nodes - before, deepest - start + 1)
                    deepest = max(deepest, outer)
            elif kind is alias_event:
                name = event.anchor
                if name in open_names:
                    raise self._problem(f"alias *{name} refers to a node that contains it", event)
                entry = anchors.get(name)
                if entry is None:
                    raise self._problem(f"alias *{name} names no anchor before it", event)
                value, size, height = entry
                nodes += size
                alias_nodes += size
                if alias_nodes > MAX_ALIAS_NODES:
                    raise self._problem(
                        f"aliases bring in more than {MAX_ALIAS_NODES:,} nodes "
                        f"(*{name} alone brings {size:,})",
                        event,
                    )
                if len(containers) + height > MAX_DEPTH:
                    raise self._problem(
                        f"nested deeper than {MAX_DEPTH} levels (through alias *{name})", event
                    )
                if len(containers) + height > deepest:
                    deepest = len(containers) + height
            elif kind is doc_end:
                yield root
                root, anchors, nodes = None, {}, 0
                continue
            else:
                continue  # stream and document starts
            if not containers:
                root = value
                continue
            top = containers[-1]
            if top.__class__ is list:
                top.append(value)
            elif keys[-1] is _NO_KEY:
                if value.__class__ is not str:
                    if value.__class__ is dict or value.__class__ is list:
                        raise self._problem("a mapping key must be a scalar", event)
                    if self._string_keys and value is not _MERGE:
                        value = self._key_text(value, event)
                keys[-1] = value
                key_events[-1] = event
            else:
                key = keys[-1]
                if key is _MERGE:
                    merges.setdefault(id(top), []).append((value, event))
                elif key in top:
                    raise self._problem(f"duplicate key {_show(key)}", key_events[-1])
                else:
                    top[key] = value
                keys[-1] = _NO_KEY

    def _key_text(self, key: object, event: Any) -> str:
        """JSON keys are strings: kubectl's YAML library writes a boolean, integer
        or float key as text (``on:`` is the key "true", ``80:`` the key "80") and
        refuses a null key."""
        if key is True or key is False:
            return "true" if key else "false"
        if isinstance(key, int):
            return str(key)
        if isinstance(key, float):
            if key != key:
                return ".nan"
            if key in (float("inf"), float("-inf")):
                return ".inf" if key > 0 else "-.inf"
            return str(int(key)) if key.is_integer() and abs(key) < 1e21 else repr(key)
        if key is None:
            raise self._problem("a mapping key must not be null", event)
        return str(key)

    def _merge(self, own: dict[Any, Any], sources: list[tuple[object, Any]]) -> dict[Any, Any]:
        """``<<: *base`` or ``<<: [*a, *b]``: keys of the mapping win, then the
        earlier merged mapping (PyYAML's order)."""
        merged: dict[Any, Any] = {}
        for value, event in reversed(sources):
            items = value if isinstance(value, list) else [value]
            for item in reversed(items):
                if not isinstance(item, dict):
                    raise self._problem(
                        "a merge key (<<) takes a mapping or a list of mappings", event
                    )
                merged.update(item)
        merged.update(own)
        own.clear()
        own.update(merged)
        return own

    def _problem(self, message: str, event: Any) -> YAMLProblem:
        return YAMLProblem(message, event.start_mark, self._path())

    def _path(self) -> str:
        """The field path of the value being read: ``spec.containers[0].ports``."""
        out = ""
        for container, key in zip(self._containers, self._keys, strict=True):
            if isinstance(container, list):
                out += f"[{len(container)}]"
            elif key is not _NO_KEY:
                text = "<<" if key is _MERGE else str(key)
                out += f".{text}" if out else text
        return out

    def _scalar(self, event: Any) -> object:
        """As PyYAML's composer: an untagged (or "!") scalar is resolved when it is
        plain, and is a string otherwise; explicit standard tags are constructed
        into JSON values."""
        tag = event.tag
        if tag is None or tag == "!":
            if not event.implicit[0]:
                return event.value
            value = self._resolved.get(event.value, _NO_KEY)
            if value is _NO_KEY:
                value = self._resolved[event.value] = self._resolve(event.value, event)
            return value
        if tag == _TAG + "str":
            return event.value
        if tag not in _SCALAR_TAGS:
            raise self._problem(f"unsupported YAML tag {short_tag(tag)}", event)
        return _json_value(self._construct(tag, event.value, event))

    def _resolve(self, value: str, event: Any) -> object:
        """A plain scalar exactly as the loader's resolvers and constructor see it:
        the loader's implicit resolvers (PyYAML's ``Resolver.resolve``, by the first
        character) tried here, a loader made only for a value that is no string."""
        table = self._loader_cls.yaml_implicit_resolvers
        if self._loader_cls.yaml_path_resolvers or None in table:
            return self.resolve_by_loader(value, event)
        resolvers = table.get(value[0] if value else "", ())
        tag = next((tag for tag, regexp in resolvers if regexp.match(value)), None)
        if tag is None:
            return value  # the default tag, a string: its text
        if tag == _MERGE_TAG:
            return _MERGE  # a merge key where a key is expected, else the string "<<"
        return self._construct(tag, value, event)

    def resolve_by_loader(self, value: str, event: Any) -> object:
        """``_resolve`` through a loader: the oracle of the resolution above."""
        loader = self._loader_cls("")
        try:
            tag = loader.resolve(yaml.ScalarNode, value, (True, False))
        finally:
            loader.dispose()
        if tag == _MERGE_TAG:
            return _MERGE  # a merge key where a key is expected, else the string "<<"
        return self._construct(tag, value, event)

    def _construct(self, tag: str, value: str, event: Any) -> object:
        loader = self._loader_cls("")
        try:
            return loader.construct_object(yaml.ScalarNode(tag, value))
        except Exception as exc:  # PyYAML's constructors raise ValueError, KeyError & co.
            if isinstance(exc, ValueError) and "digits" in str(exc):
                raise self._problem(
                    f"integer too large: {len(value):,} digits "
                    f"(at most {sys.get_int_max_str_digits():,} are read)",
                    event,
                ) from None
            shown = value if len(value) <= 40 else value[:37] + "..."
            raise self._problem(f"cannot read {shown!r} as {short_tag(tag)}", event) from None
        finally:
            loader.dispose()


def _json_value(value: object) -> object:
    """What kubectl's YAML-to-JSON conversion makes of a tagged scalar."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, datetime.date):
        return value.isoformat() + "T00:00:00Z"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _show(key: object) -> str:
    return f'"{key}"' if isinstance(key, str) else "null" if key is None else repr(key)
