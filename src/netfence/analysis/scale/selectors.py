"""Label selectors evaluated over all classes at once (compile.LabelIndex), as
boolean vectors over classes. hostNetwork classes are never selectable."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from netfence.analysis.scale.classes import BoolVector, ClassTable
from netfence.compile.label_index import LabelIndex
from netfence.model.labels import LabelSelector


class SelectorIndex:
    def __init__(self, table: ClassTable, namespace_labels: Mapping[str, Mapping[str, str]]):
        self._table = table
        self._selectable = ~table.host_network
        selectable = np.flatnonzero(self._selectable).tolist()
        self._pod_index = LabelIndex([k.labels for k in table.keys], selectable)
        self._ns_index = LabelIndex([namespace_labels.get(ns, {}) for ns in table.namespaces])
        self._pods: dict[LabelSelector, BoolVector] = {}
        self._namespaces: dict[LabelSelector, BoolVector] = {}
        self._in_namespace: dict[int, BoolVector] = {}

    def pods(self, selector: LabelSelector) -> BoolVector:
        """Classes (never hostNetwork) whose pod labels match ``selector``."""
        cached = self._pods.get(selector)
        if cached is None:
            cached = self._pods[selector] = self._vector(self._pod_index.select(selector))
        return cached

    def namespaces(self, selector: LabelSelector) -> BoolVector:
        """Classes in namespaces whose labels match ``selector`` (hostNetwork excluded)."""
        cached = self._namespaces.get(selector)
        if cached is None:
            table = self._table
            chosen = np.zeros(len(table.namespaces), dtype=np.bool_)
            chosen[list(self._ns_index.select(selector))] = True
            cached = chosen[table.namespace_ids] & self._selectable
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

    def _vector(self, classes: frozenset[int]) -> BoolVector:
        vector = np.zeros(self._table.size, dtype=np.bool_)
        vector[list(classes)] = True
        return vector
