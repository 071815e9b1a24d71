"""The IR's selections over pod classes: the class backend of compile/ir.py.

The engine asks one pod at a time (``selects``, ``port_matches``), nft and lint
ask label-index sets (``ClusterIndex``); the class analysis asks which classes a
selection covers, as a sorted class set, and which port classes a port selection
covers. Every IR type has one answer here, as ir.py defines it:

- ``PodsSelected``: the classes (never hostNetwork) of the namespaces its scope
  admits (own, every, or those a selector matches) whose labels its pod
  selector matches;
- ``AddressesIn``: the classes whose IPv4 address is in the ranges (the class
  table splits classes by every such selection: ``address_sets``);
- ``NodesSelected``: the classes whose address belongs to a node the selector
  matches (the table splits classes by node labels when some selection reads
  nodes: ``reads_nodes``);
- ``NamesMatching``: no class (a connection made to an address never matches a
  name).

Ports: ``PortNumbers`` is a range on its protocol (none when first > last);
``PortNamed`` is a container port name on its protocol, or on every protocol
when it has none (the cluster-wide kinds), resolved per class on the
destination's declared ports (``rules.named_port_classes``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netfence.analysis.scale.classes import IntVector
from netfence.analysis.scale.ports import NamedSpec, NumericSpec, PortPartition
from netfence.analysis.scale.selectors import EMPTY, SelectorIndex, union
from netfence.compile.addresses import AddressRanges
from netfence.compile.ir import (
    AddressesIn,
    NodesSelected,
    PodsSelected,
    PortNumbers,
    PortSelection,
    Selection,
)
from netfence.model.ports import Protocol

PortSpec = NumericSpec | NamedSpec


class ClassBackend:
    """Selections as sorted class sets over one class table (through its
    SelectorIndex, which caches the label work)."""

    def __init__(self, index: SelectorIndex) -> None:
        self.index = index

    def classes(self, selection: Selection) -> IntVector:
        """The classes ``selection`` covers (sorted, distinct)."""
        if isinstance(selection, PodsSelected):
            return self.index.pods_selected(selection)
        if isinstance(selection, AddressesIn):
            return self.index.addresses(selection.addresses)
        if isinstance(selection, NodesSelected):
            return self.index.nodes(selection.selector)
        return EMPTY  # NamesMatching: never a connection made to an address

    def peers(self, selections: Sequence[Selection] | None) -> IntVector | None:
        """The classes any of ``selections`` covers; None (every class) for a rule
        without peers. An empty list matches no class."""
        if selections is None:
            return None
        return self.classes_of_all(selections)

    def classes_of_all(self, selections: Sequence[Selection]) -> IntVector:
        """The classes any of ``selections`` covers (none for an empty list)."""
        return union([self.classes(s) for s in selections])


def port_specs(selection: PortSelection) -> list[PortSpec]:
    """A port selection as the port partition's specs: a range on its protocol
    (none when first > last: it matches no port), or a name on its protocol (on
    every protocol when it has none)."""
    if isinstance(selection, PortNumbers):
        if selection.first > selection.last:
            return []
        return [(selection.protocol, selection.first, selection.last)]
    protocols = Protocol if selection.protocol is None else (selection.protocol,)
    return [(protocol, selection.name) for protocol in protocols]


def port_classes(
    selections: Sequence[PortSelection] | None, ports: PortPartition
) -> tuple[frozenset[int], tuple[NamedSpec, ...]]:
    """The port classes the numeric selections cover (every class when the rule has
    no ports), and the named ports (resolved per class on the destination)."""
    if selections is None:
        return frozenset(range(len(ports.classes))), ()
    covered: set[int] = set()
    named: list[NamedSpec] = []
    for selection in selections:
        for spec in port_specs(selection):
            if len(spec) == 2:
                named.append(spec)
            else:
                covered.update(ports.covered(spec))
    return frozenset(covered), tuple(named)


def all_port_specs(selections: Iterable[PortSelection]) -> list[PortSpec]:
    return [spec for s in selections for spec in port_specs(s)]


def address_sets(selections: Iterable[Selection]) -> list[AddressRanges]:
    """The distinct address ranges of ``selections``, in order: what splits classes."""
    seen: dict[AddressRanges, None] = {}
    for selection in selections:
        if isinstance(selection, AddressesIn):
            seen.setdefault(selection.addresses)
    return list(seen)


def reads_nodes(selections: Iterable[Selection]) -> bool:
    """Does a selection read node labels (classes must split by them)?"""
    return any(isinstance(s, NodesSelected) for s in selections)
