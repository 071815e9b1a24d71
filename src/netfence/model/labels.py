"""Labels and label selectors (meta/v1 LabelSelector)."""

from __future__ import annotations

import enum
from collections.abc import ItemsView, Iterator, Mapping
from dataclasses import dataclass, field

_new = object.__new__
_set = object.__setattr__


@dataclass(frozen=True, slots=True)
class Labels(Mapping[str, str]):
    """An immutable, hashable label set, stored as sorted (key, value) pairs."""

    items_: tuple[tuple[str, str], ...] = ()
    _map: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)
    _hash: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_map", dict(self.items_))
        object.__setattr__(self, "_hash", hash(self.items_))

    def __hash__(self) -> int:  # label sets key many caches: hash once
        return self._hash

    @staticmethod
    def of(mapping: Mapping[str, str] | None = None, **kwargs: str) -> Labels:
        merged = dict(mapping or {})
        merged.update(kwargs)
        return Labels.of_sorted(tuple(sorted(merged.items())))

    @staticmethod
    def of_sorted(items: tuple[tuple[str, str], ...]) -> Labels:
        """``Labels(items)`` for pairs already sorted with distinct keys, without the
        generated ``__init__`` (which fills ``_map`` twice): many are made in a load."""
        labels = _new(Labels)
        _set(labels, "items_", items)
        _set(labels, "_map", dict(items))
        _set(labels, "_hash", hash(items))
        return labels

    def with_label(self, key: str, value: str) -> Labels:
        return Labels.of({**dict(self.items_), key: value})

    def __getitem__(self, key: str) -> str:
        return self._map[key]

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return self._map.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def items(self) -> ItemsView[str, str]:  # the dict's own view: Mapping's is slow
        return self._map.items()

    def __len__(self) -> int:
        return len(self.items_)

    def format(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.items_) or "<none>"


class Operator(enum.Enum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One matchExpressions entry."""

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator is Operator.EXISTS:
            return present
        if self.operator is Operator.DOES_NOT_EXIST:
            return not present
        if self.operator is Operator.IN:
            return present and labels[self.key] in self.values
        # "NotIn": the label is absent, or its value is not one of the values.
        return not present or labels[self.key] not in self.values

    def format(self) -> str:
        if self.operator is Operator.EXISTS:
            return self.key
        if self.operator is Operator.DOES_NOT_EXIST:
            return f"!{self.key}"
        word = "in" if self.operator is Operator.IN else "notin"
        return f"{self.key} {word} ({','.join(self.values)})"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A label selector.

    API reference: "The requirements are ANDed." and "An empty label selector
    matches all objects." (a present selector with no requirements).
    """

    match_labels: Labels = Labels()
    match_expressions: tuple[Requirement, ...] = ()
    _hash: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.match_labels, self.match_expressions)))

    def __hash__(self) -> int:  # selectors key the evaluation caches: hash once
        return self._hash

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels.items_:
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.match_expressions)

    def format(self) -> str:
        if self.is_empty:
            return "{} (all)"
        parts = [f"{k}={v}" for k, v in self.match_labels.items_]
        parts.extend(req.format() for req in self.match_expressions)
        return ",".join(parts)


MATCH_ALL = LabelSelector()
