"""Label selectors evaluated over all classes at once, as sparse class sets.

A class set is a sorted array of class indexes (a selector matches on average a
few dozen of tens of thousands of classes: dense vectors per selector would be
almost all zeros). Pod selectors go through the inverted index
(compile.LabelIndex, from the smallest posting list); a selector with no
positive requirement (empty, or only NotIn / DoesNotExist) is never evaluated
over the whole universe when a namespace bounds it: it filters the classes of
the namespaces concerned. hostNetwork classes are never selectable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from netfence.analysis.scale.classes import BoolVector, ClassTable, IntVector
from netfence.compile.addresses import AddressRanges
from netfence.compile.ir import EveryNamespace, OwnNamespace, PodsSelected, namespace_scope
from netfence.compile.label_index import LabelIndex, has_positive
from netfence.model.labels import LabelSelector

EMPTY: IntVector = np.zeros(0, dtype=np.int64)


def sorted_set(classes: Iterable[int]) -> IntVector:
    """A class set from any iterable of distinct class indexes."""
    out = np.fromiter(classes, dtype=np.int64)
    out.sort()
    return out


def union(parts: list[IntVector]) -> IntVector:
    """The union of class sets (sorted, without duplicates)."""
    if not parts:
        return EMPTY
    if len(parts) == 1:
        return parts[0]
    return distinct(np.concatenate(parts))


def distinct(values: IntVector) -> IntVector:
    """The sorted distinct values. A stable sort merges the sorted runs of
    concatenated sets in about linear time; np.unique (hashing, then sorting)
    was 30 times slower on class sets of a few thousand."""
    ordered = np.sort(values, kind="stable")
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.size, dtype=np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    out: IntVector = ordered[keep]
    return out


class SelectorIndex:
    def __init__(self, table: ClassTable, namespace_labels: Mapping[str, Mapping[str, str]]):
        self._table = table
        self._selectable = ~table.host_network
        selectable = np.flatnonzero(self._selectable)
        self._pod_index = LabelIndex([k.labels for k in table.keys], selectable.tolist())
        self._ns_index = LabelIndex([namespace_labels.get(ns, {}) for ns in table.namespaces])
        self._ns_id = {ns: i for i, ns in enumerate(table.namespaces)}
        order = selectable[np.argsort(table.namespace_ids[selectable], kind="stable")]
        bounds = np.searchsorted(
            table.namespace_ids[order], np.arange(len(table.namespaces) + 1, dtype=np.int64)
        )
        self._ns_classes = [order[bounds[n] : bounds[n + 1]] for n in range(len(table.namespaces))]
        self._pods: dict[LabelSelector, IntVector] = {}
        self._peers: dict[PodsSelected, IntVector] = {}
        self._targets: dict[tuple[str, LabelSelector], IntVector] = {}
        self._blocks: dict[AddressRanges, IntVector] = {}
        self._nodes: dict[LabelSelector, IntVector] = {}
        self._block_ids = {block: b for b, block in enumerate(table.blocks)}

    # --- sparse: the analysis itself ---------------------------------------------------------

    def pod_set(self, selector: LabelSelector) -> IntVector:
        """Classes (never hostNetwork) whose pod labels match ``selector``, in any namespace."""
        found = self._pods.get(selector)
        if found is None:
            found = self._pods[selector] = sorted_set(self._pod_index.select(selector))
        return found

    def target(self, namespace: str, selector: LabelSelector) -> IntVector:
        """Classes of ``namespace`` that ``selector`` selects (a policy's podSelector)."""
        key = (namespace, selector)
        found = self._targets.get(key)
        if found is None:
            ns_id = self._ns_id.get(namespace)
            chosen = [] if ns_id is None else [ns_id]
            found = self._targets[key] = self._within(chosen, selector)
        return found

    def pods_selected(self, selection: PodsSelected) -> IntVector:
        """The classes a PodsSelected covers: those of the namespaces its scope
        admits (own, every, or matching) whose labels its pod selector matches
        (every pod of them when None)."""
        found = self._peers.get(selection)
        if found is None:
            scope = selection.namespaces
            if isinstance(scope, OwnNamespace):
                ns_id = self._ns_id.get(scope.name)
                chosen = [] if ns_id is None else [ns_id]
            elif isinstance(scope, EveryNamespace):
                chosen = list(range(len(self._table.namespaces)))
            else:
                chosen = sorted(self._ns_index.select(scope.selector))
            found = self._peers[selection] = self._within(chosen, selection.pods)
        return found

    def addresses(self, addresses: AddressRanges) -> IntVector:
        """The classes whose address is in one of the table's address sets."""
        found = self._blocks.get(addresses)
        if found is None:
            b = self._block_ids[addresses]
            found = np.flatnonzero(self._table.block_members[b]).astype(np.int64)
            self._blocks[addresses] = found
        return found

    def nodes(self, selector: LabelSelector) -> IntVector:
        """The classes whose address belongs to a node ``selector`` matches (the
        table split classes by the labels of their address's node)."""
        found = self._nodes.get(selector)
        if found is None:
            keys = self._table.keys
            found = self._nodes[selector] = sorted_set(
                c
                for c, key in enumerate(keys)
                if key.node is not None and selector.matches(key.node)
            )
        return found

    def _within(self, namespaces: list[int], selector: LabelSelector | None) -> IntVector:
        """Classes of the given namespaces (ids) that ``selector`` matches (all of
        them when None). From the selector's posting lists when it has a positive
        requirement, else by filtering the namespaces' classes."""
        if not namespaces:
            return EMPTY
        if selector is not None and has_positive(selector):
            pods = self.pod_set(selector)
            if len(namespaces) == 1:
                inside: IntVector = pods[self._table.namespace_ids[pods] == namespaces[0]]
                return inside
            wanted = np.zeros(len(self._table.namespaces), dtype=np.bool_)
            wanted[namespaces] = True
            return pods[wanted[self._table.namespace_ids[pods]]]
        base = union([self._ns_classes[n] for n in namespaces])
        if selector is None or selector.is_empty:
            return base
        keys = self._table.keys
        return base[[selector.matches(keys[c].labels) for c in base.tolist()]]

    # --- dense views, for callers that want boolean vectors over classes ----------------------

    def pods(self, selector: LabelSelector) -> BoolVector:
        """Classes (never hostNetwork) whose pod labels match ``selector``."""
        return self.dense(self.pod_set(selector))

    def namespaces(self, selector: LabelSelector) -> BoolVector:
        """Classes in namespaces whose labels match ``selector`` (hostNetwork excluded)."""
        return self.dense(self.pods_selected(PodsSelected(namespace_scope(selector))))

    def in_namespace(self, namespace: str) -> BoolVector:
        return self.dense(self.pods_selected(PodsSelected(OwnNamespace(namespace))))

    def dense(self, classes: IntVector) -> BoolVector:
        vector = np.zeros(self._table.size, dtype=np.bool_)
        vector[classes] = True
        return vector
