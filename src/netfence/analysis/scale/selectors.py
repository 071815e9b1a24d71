"""Label selectors evaluated over all classes at once, through an inverted index.

Each distinct selector is evaluated once: matchLabels and ``In`` intersect
posting lists, ``Exists`` uses the key index, ``NotIn`` and ``DoesNotExist`` are
complements. The result is a boolean vector over classes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from netfence.analysis.scale.classes import BoolVector, ClassTable
from netfence.model.labels import LabelSelector, Operator, Requirement


class SelectorIndex:
    def __init__(self, table: ClassTable, namespace_labels: Mapping[str, Mapping[str, str]]):
        self._table = table
        self._namespace_labels = namespace_labels
        self._pods: dict[LabelSelector, BoolVector] = {}
        self._namespaces: dict[LabelSelector, BoolVector] = {}
        self._in_namespace: dict[int, BoolVector] = {}
        self._selectable = ~table.host_network

    def pods(self, selector: LabelSelector) -> BoolVector:
        """Classes (never hostNetwork) whose pod labels match ``selector``."""
        cached = self._pods.get(selector)
        if cached is None:
            cached = self._pods[selector] = self._evaluate(selector)
        return cached

    def namespaces(self, selector: LabelSelector) -> BoolVector:
        """Classes in namespaces whose labels match ``selector`` (hostNetwork excluded)."""
        cached = self._namespaces.get(selector)
        if cached is None:
            table = self._table
            chosen = np.array(
                [selector.matches(self._namespace_labels.get(ns, {})) for ns in table.namespaces],
                dtype=np.bool_,
            )
            cached = chosen[table.namespace_ids] & self._selectable if table.size else chosen[:0]
            self._namespaces[selector] = cached
        return cached

    def in_namespace(self, namespace: str) -> BoolVector:
        table = self._table
        try:
            ns_id = table.namespaces.index(namespace)
        except ValueError:
            return np.zeros(table.size, dtype=np.bool_)
        cached = self._in_namespace.get(ns_id)
        if cached is None:
            cached = self._in_namespace[ns_id] = (table.namespace_ids == ns_id) & self._selectable
        return cached

    def _evaluate(self, selector: LabelSelector) -> BoolVector:
        result = self._selectable.copy()
        for pair in selector.match_labels.items_:
            result &= self._vector(self._table.with_label(*pair))
        for requirement in selector.match_expressions:
            result &= self._requirement(requirement)
        return result

    def _vector(self, classes: list[int]) -> BoolVector:
        vector = np.zeros(self._table.size, dtype=np.bool_)
        vector[classes] = True
        return vector

    def _requirement(self, req: Requirement) -> BoolVector:
        if req.operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
            has = self._vector(self._table.with_key(req.key))
            return has if req.operator is Operator.EXISTS else ~has
        matching = np.zeros(self._table.size, dtype=np.bool_)
        for value in req.values:
            matching[self._table.with_label(req.key, value)] = True
        return matching if req.operator is Operator.IN else ~matching
