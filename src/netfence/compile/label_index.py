"""Label selectors evaluated over many label sets at once, through an inverted index.

``matchLabels`` and ``In`` intersect posting lists, ``Exists`` uses the key
list, ``NotIn`` and ``DoesNotExist`` are complements (within the universe).
Each distinct selector is evaluated once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netfence.model.labels import LabelSelector, Operator, Requirement


class LabelIndex:
    def __init__(
        self, label_sets: Sequence[Mapping[str, str]], universe: Sequence[int] | None = None
    ):
        """``universe``: the indexes selectors may match (default: all)."""
        self._universe = frozenset(range(len(label_sets)) if universe is None else universe)
        self._postings: dict[tuple[str, str], set[int]] = {}
        self._keys: dict[str, set[int]] = {}
        for i in self._universe:
            for key, value in label_sets[i].items():
                self._postings.setdefault((key, value), set()).add(i)
                self._keys.setdefault(key, set()).add(i)
        self._cache: dict[LabelSelector, frozenset[int]] = {}

    @property
    def universe(self) -> frozenset[int]:
        return self._universe

    def select(self, selector: LabelSelector) -> frozenset[int]:
        """The indexes whose labels match ``selector`` (the API reference: the
        requirements are ANDed; an empty selector matches everything)."""
        found = self._cache.get(selector)
        if found is None:
            found = self._cache[selector] = frozenset(self._evaluate(selector))
        return found

    def _evaluate(self, selector: LabelSelector) -> set[int]:
        result: set[int] = set(self._universe)
        for pair in selector.match_labels.items_:
            result &= self._postings.get(pair, set())
        for requirement in selector.match_expressions:
            result &= self._requirement(requirement)
        return result

    def _requirement(self, req: Requirement) -> set[int]:
        if req.operator is Operator.EXISTS:
            return self._keys.get(req.key, set())
        if req.operator is Operator.DOES_NOT_EXIST:
            return set(self._universe - self._keys.get(req.key, set()))
        matching: set[int] = set()
        for value in req.values:
            matching |= self._postings.get((req.key, value), set())
        return matching if req.operator is Operator.IN else set(self._universe - matching)
