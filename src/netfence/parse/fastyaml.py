"""Multi-document YAML built straight from libyaml's event stream.

PyYAML's C loader parses in C but composes a node graph and constructs
objects in Python; on large inputs (tens of MB of manifests) that is most of
the time. This module builds the same objects directly from the events, and
resolves each distinct plain scalar once (manifests repeat the same keys and
values). Anything unusual (explicit tags, merge keys) falls back to the full
loader for the whole text, so the result is always what PyYAML would give.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

_FALLBACK_TAGS = frozenset(
    {None, "!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
)


class _Unusual(Exception):
    """The text uses YAML features this builder leaves to the full loader."""


def load_all(text: str, loader: Any) -> Iterator[object]:
    """Like ``yaml.load_all(text, Loader=loader)`` (a SafeLoader subclass)."""
    try:
        documents = list(_Builder(loader).documents(text))
    except _Unusual:
        yield from yaml.load_all(text, Loader=loader)
        return
    yield from documents


_NO_KEY = object()


class _Builder:
    """One pass over the events with an explicit stack: containers being filled,
    and for each mapping the key waiting for its value."""

    def __init__(self, loader: Any) -> None:
        self._loader_cls = loader
        self._resolved: dict[str, object] = {}

    def documents(self, text: str) -> Iterator[object]:
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        map_start, map_end = yaml.MappingStartEvent, yaml.MappingEndEvent
        seq_start, seq_end = yaml.SequenceStartEvent, yaml.SequenceEndEvent
        doc_end = yaml.DocumentEndEvent
        resolved, scalar = self._resolved, self._scalar
        containers: list[Any] = []
        keys: list[Any] = []
        anchors: dict[str, object] = {}
        root: object = None
        event: Any
        for event in yaml.parse(text, Loader=self._loader_cls):
            kind = event.__class__
            if kind is scalar_event:
                if event.tag is None and event.implicit[0]:
                    text_value = event.value
                    value = resolved.get(text_value, _NO_KEY)
                    if value is _NO_KEY:
                        value = resolved[text_value] = self._resolve(text_value)
                else:
                    value = scalar(event)
            elif kind is map_start or kind is seq_start:
                if event.tag not in _FALLBACK_TAGS:
                    raise _Unusual
                container: Any = {} if kind is map_start else []
                if event.anchor is not None:
                    anchors[event.anchor] = container
                containers.append(container)
                keys.append(_NO_KEY)
                continue
            elif kind is map_end or kind is seq_end:
                keys.pop()
                value = containers.pop()
            elif kind is alias_event:
                if event.anchor not in anchors:
                    raise _Unusual
                value = anchors[event.anchor]
            elif kind is doc_end:
                yield root
                root, anchors = None, {}
                continue
            else:
                continue  # stream and document starts
            if kind is scalar_event and event.anchor is not None:
                anchors[event.anchor] = value
            if not containers:
                root = value
                continue
            top = containers[-1]
            if top.__class__ is list:
                top.append(value)
            elif keys[-1] is _NO_KEY:
                keys[-1] = value
            else:
                try:
                    top[keys[-1]] = value
                except TypeError:  # an unhashable key: let the full loader report it
                    raise _Unusual from None
                keys[-1] = _NO_KEY

    def _scalar(self, event: Any) -> object:
        """As PyYAML's composer: an untagged (or "!") scalar is resolved when it is
        plain, and is a string otherwise; explicit tags other than !!str are left
        to the full loader."""
        if event.tag not in (None, "!"):
            if event.tag != "tag:yaml.org,2002:str":
                raise _Unusual
            return event.value
        if not event.implicit[0]:
            return event.value
        value = self._resolved.get(event.value, _NO_KEY)
        if value is _NO_KEY:
            value = self._resolved[event.value] = self._resolve(event.value)
        return value

    def _resolve(self, value: str) -> object:
        """A plain scalar exactly as the loader's resolvers and constructor see it."""
        loader = self._loader_cls("")
        try:
            tag = loader.resolve(yaml.ScalarNode, value, (True, False))
            if tag == "tag:yaml.org,2002:merge":
                raise _Unusual
            return loader.construct_object(yaml.ScalarNode(tag, value))
        except yaml.YAMLError:
            raise _Unusual from None
        finally:
            loader.dispose()
