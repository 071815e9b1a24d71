"""Address blocks as merged integer ranges, ``except`` already subtracted: the form
every consumer reads (the engine by bisection, nft as interval sets, the class
analysis as class boundaries)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netfence.model.policy import IPAddress, IPBlock, IPNetwork

Range = tuple[int, int]  # inclusive
Ranges = tuple[Range, ...]  # sorted, disjoint, not adjacent


def span(network: IPNetwork) -> Range:
    return int(network.network_address), int(network.broadcast_address)


def subtract(whole: Range, holes: Sequence[Range]) -> list[Range]:
    """``whole`` without any of ``holes``."""
    pieces = [whole]
    for lo_h, hi_h in holes:
        pieces = [
            part
            for lo, hi in pieces
            for part in ((lo, min(hi, lo_h - 1)), (max(lo, hi_h + 1), hi))
            if part[0] <= part[1]
        ]
    return pieces


def merge_ranges(ranges: Iterable[Range]) -> Ranges:
    """Sorted, overlapping and adjacent ranges joined."""
    merged: list[Range] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def block_ranges(block: IPBlock) -> list[Range]:
    """API reference (ipBlock): "except is a list of CIDRs that should not be
    included within an IPBlock" — subtracted here. An ``except`` of the other
    address family removes nothing."""
    family = block.cidr.version
    holes = [span(e) for e in block.except_ if e.version == family]
    return subtract(span(block.cidr), holes)


@dataclass(frozen=True, slots=True)
class AddressRanges:
    """Addresses of both families as merged ranges."""

    v4: Ranges = ()
    v6: Ranges = ()

    @staticmethod
    def of_blocks(blocks: Iterable[IPBlock]) -> AddressRanges:
        by_family: dict[int, list[Range]] = {4: [], 6: []}
        for block in blocks:
            by_family[block.cidr.version].extend(block_ranges(block))
        return AddressRanges(merge_ranges(by_family[4]), merge_ranges(by_family[6]))

    @staticmethod
    def of_networks(networks: Iterable[IPNetwork]) -> AddressRanges:
        return AddressRanges.of_blocks(IPBlock(n) for n in networks)

    def family(self, version: int) -> Ranges:
        return self.v4 if version == 4 else self.v6

    def contains(self, ip: IPAddress) -> bool:
        ranges = self.family(ip.version)
        value = int(ip)
        at = bisect.bisect_right(ranges, (value, 1 << 129)) - 1
        return at >= 0 and ranges[at][0] <= value <= ranges[at][1]
