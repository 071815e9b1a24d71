"""An nftables ruleset as data: sets, verdict maps, chains; and its text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NftSet:
    name: str
    type: str  # e.g. "ipv4_addr", "ipv4_addr . inet_proto . inet_service"
    elements: tuple[str, ...]
    interval: bool = False
    comment: str = ""

    def render(self) -> list[str]:
        lines = [f"  set {self.name} {{", f"    type {self.type}"]
        if self.interval:
            lines.append("    flags interval")
        if self.comment:
            lines.append(f'    comment "{self.comment}"')
        if self.elements:
            lines.append("    elements = {")
            lines.extend(f"      {e}," for e in self.elements)
            lines.append("    }")
        lines.append("  }")
        return lines


@dataclass(frozen=True, slots=True)
class VerdictMap:
    name: str
    key_type: str
    elements: tuple[tuple[str, str], ...]  # key, verdict

    def render(self) -> list[str]:
        lines = [f"  map {self.name} {{", f"    type {self.key_type} : verdict"]
        if self.elements:
            lines.append("    elements = {")
            lines.extend(f"      {key} : {verdict}," for key, verdict in self.elements)
            lines.append("    }")
        lines.append("  }")
        return lines


@dataclass(frozen=True, slots=True)
class Chain:
    name: str
    rules: tuple[str, ...]
    hook: str | None = None  # "type filter hook forward priority filter; policy accept;"
    comment: str = ""

    def render(self) -> list[str]:
        lines = [f"  chain {self.name} {{"]
        if self.comment:
            lines.append(f'    comment "{self.comment}"')
        if self.hook:
            lines.append(f"    {self.hook}")
        lines.extend(f"    {rule}" for rule in self.rules)
        lines.append("  }")
        return lines


@dataclass(frozen=True, slots=True)
class Ruleset:
    """One table, replaced atomically: ``table X`` + ``delete table X`` + ``table X {…}``
    in one ``nft -f`` transaction (the first line creates the table if absent, so
    the delete never fails; nothing is flushed first, so there is no allow-all
    window)."""

    family: str
    table: str
    sets: tuple[NftSet, ...]
    maps: tuple[VerdictMap, ...]
    chains: tuple[Chain, ...]

    def render(self) -> str:
        head = [
            f"table {self.family} {self.table}",
            f"delete table {self.family} {self.table}",
            f"table {self.family} {self.table} {{",
        ]
        body: list[str] = []
        for rendered in (
            *(s.render() for s in self.sets),
            *(m.render() for m in self.maps),
            *(c.render() for c in self.chains),
        ):
            body.extend(rendered)
        return "\n".join([*head, *body, "}", ""])
