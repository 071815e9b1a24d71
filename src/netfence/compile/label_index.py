"""Label selectors evaluated over many label sets at once, through an inverted index.

``matchLabels`` and ``In`` intersect posting lists, ``Exists`` uses the key
list, ``NotIn`` and ``DoesNotExist`` are set differences. Evaluation starts
from the smallest positive set and never copies the universe unless the
selector has no positive requirement at all (empty, or only NotIn /
DoesNotExist). Each distinct selector is evaluated once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netfence.model.labels import LabelSelector, Operator, Requirement

_NONE: frozenset[int] = frozenset()
IntSet = set[int] | frozenset[int]


def has_positive(selector: LabelSelector) -> bool:
    """Does the selector name a label a match must carry (matchLabels, In, Exists)?
    Without one, it matches every label set but those its NotIn / DoesNotExist exclude."""
    return bool(selector.match_labels) or any(
        r.operator in (Operator.IN, Operator.EXISTS) for r in selector.match_expressions
    )


class LabelIndex:
    def __init__(
        self, label_sets: Sequence[Mapping[str, str]], universe: Sequence[int] | None = None
    ):
        """``universe``: the indexes selectors may match (default: all)."""
        self._universe = frozenset(range(len(label_sets)) if universe is None else universe)
        postings: dict[tuple[str, str], set[int]] = {}
        keys: dict[str, set[int]] = {}
        for i in self._universe:
            for key, value in label_sets[i].items():
                postings.setdefault((key, value), set()).add(i)
                keys.setdefault(key, set()).add(i)
        self._postings = postings  # never handed out: results are new frozensets
        self._keys = keys
        self._cache: dict[LabelSelector, frozenset[int]] = {}

    @property
    def universe(self) -> frozenset[int]:
        return self._universe

    def select(self, selector: LabelSelector) -> frozenset[int]:
        """The indexes whose labels match ``selector`` (the API reference: the
        requirements are ANDed; an empty selector matches everything)."""
        found = self._cache.get(selector)
        if found is None:
            found = self._cache[selector] = self._evaluate(selector)
        return found

    def _evaluate(self, selector: LabelSelector) -> frozenset[int]:
        positive: list[IntSet] = [
            self._postings.get(pair, _NONE) for pair in selector.match_labels.items_
        ]
        negative: list[IntSet] = []
        for req in selector.match_expressions:
            if req.operator in (Operator.IN, Operator.EXISTS):
                positive.append(self._matching(req))
            else:
                negative.append(self._matching(req))
        result: IntSet
        if not positive:
            result = self._universe
        else:
            positive.sort(key=len)
            result = positive[0]
            for other in positive[1:]:
                result = result & other  # iterates over the smaller set
        for excluded in negative:
            result = result - excluded  # iterates over ``result`` when it is the smaller
        return result if isinstance(result, frozenset) else frozenset(result)

    def _matching(self, req: Requirement) -> IntSet:
        """The indexes carrying the requirement's key (Exists, DoesNotExist) or one
        of its values (In, NotIn): what it keeps, or for the negative operators,
        what it excludes."""
        if req.operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
            return self._keys.get(req.key, _NONE)
        sets = [self._postings.get((req.key, value), _NONE) for value in req.values]
        if len(sets) == 1:
            return sets[0]
        return set().union(*sets)
