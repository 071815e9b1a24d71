"""The port space split into the classes that the policies induce.

Every numeric port, range (endPort) and resolved named port cuts each
protocol's 1–65535 into atoms. Atoms that every rule treats alike (the same
numeric specs cover them, and no named port resolves inside them) form one port
class: a connection on any port of a class gets the same verdict as on any other.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass

from netfence.model.ports import Protocol

MAX_PORT = 65535
NumericSpec = tuple[Protocol, int, int]  # protocol, first, last (inclusive)
NamedSpec = tuple[Protocol, str]


@dataclass(frozen=True, slots=True)
class PortClass:
    protocol: Protocol
    ranges: tuple[tuple[int, int], ...]
    named_number: int | None  # the single port a named port resolves to, if any

    @property
    def representative(self) -> int:
        return self.ranges[0][0]

    @property
    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def format(self) -> str:
        shown = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.ranges[:4]]
        more = f",… ({len(self.ranges)} ranges)" if len(self.ranges) > 4 else ""
        return f"{self.protocol.value} {','.join(shown)}{more}"


@dataclass
class PortPartition:
    classes: list[PortClass]
    _atoms: dict[Protocol, list[int]]  # atom start ports, sorted
    _atom_class: dict[Protocol, list[int]]  # class index of each atom

    def class_of(self, protocol: Protocol, port: int) -> int:
        starts = self._atoms[protocol]
        return self._atom_class[protocol][bisect.bisect_right(starts, port) - 1]

    def separates(self, spec: NumericSpec) -> bool:
        """Is every class entirely inside or entirely outside ``spec``?"""
        protocol, first, last = spec
        for pc in self.classes:
            if pc.protocol is not protocol:
                continue
            inside = all(first <= lo and hi <= last for lo, hi in pc.ranges)
            outside = all(hi < first or lo > last for lo, hi in pc.ranges)
            if not (inside or outside):
                return False
        return True

    def isolates(self, protocol: Protocol, port: int) -> bool:
        """Is ``port`` a class of its own (as a resolved named port must be)?"""
        return self.classes[self.class_of(protocol, port)].ranges == ((port, port),)

    def covered(self, spec: NumericSpec) -> list[int]:
        """The classes inside a numeric spec (classes never straddle a spec edge)."""
        protocol, first, last = spec
        starts = self._atoms[protocol]
        lo = bisect.bisect_right(starts, first) - 1
        hi = bisect.bisect_right(starts, last) - 1
        return sorted({self._atom_class[protocol][i] for i in range(lo, hi + 1)})


def partition(
    numeric: Iterable[NumericSpec], named_numbers: Iterable[tuple[Protocol, int]]
) -> PortPartition:
    specs_all = sorted(set(numeric), key=lambda s: (s[0].value, s[1], s[2]))
    named = set(named_numbers)
    classes: list[PortClass] = []
    atoms: dict[Protocol, list[int]] = {}
    atom_class: dict[Protocol, list[int]] = {}
    for protocol in Protocol:
        specs = [s for s in specs_all if s[0] is protocol]
        singles = {n for p, n in named if p is protocol}
        cuts = sorted(
            {1, MAX_PORT + 1, *(n for n in singles), *(n + 1 for n in singles)}
            | {b for _, first, last in specs for b in (first, last + 1)}
        )
        bounds = list(zip(cuts[:-1], (c - 1 for c in cuts[1:]), strict=True))
        signatures = [_signature(lo, hi, specs, singles) for lo, hi in bounds]
        groups: dict[tuple[tuple[int, ...], int | None], list[tuple[int, int]]] = {}
        for bound, signature in zip(bounds, signatures, strict=True):
            groups.setdefault(signature, []).append(bound)
        index: dict[tuple[tuple[int, ...], int | None], int] = {}
        for signature, ranges in groups.items():
            index[signature] = len(classes)
            classes.append(PortClass(protocol, tuple(ranges), signature[1]))
        atoms[protocol] = [lo for lo, _ in bounds]
        atom_class[protocol] = [index[signature] for signature in signatures]
    return PortPartition(classes, atoms, atom_class)


def _signature(
    lo: int, hi: int, specs: list[NumericSpec], singles: set[int]
) -> tuple[tuple[int, ...], int | None]:
    covering = tuple(i for i, (_, first, last) in enumerate(specs) if first <= lo and hi <= last)
    return covering, (lo if lo == hi and lo in singles else None)
