"""The smallest transaction that turns a loaded ruleset into a new one.

A full replace (``Ruleset.render``) rewrites every set element; after one policy
change most of the table is unchanged. Sets are named by content, so a set that
exists in both rulesets is identical; chains and verdict-map elements are
compared directly. One ``nft -f`` script, one transaction, in an order that never
leaves a reference dangling:

1. add the new sets and the new (empty) chains;
2. refill the chains whose rules changed, and fill the new ones;
3. update the verdict-map elements;
4. empty the chains no longer wanted (so their jumps go first), then delete
   them and the sets nothing refers to any more.

Returns None when the tables differ in shape (other family, table name or base
chains): then the caller replaces the table whole.
"""

from __future__ import annotations

from netfence.nft.model import Chain, Ruleset, VerdictMap


def update_script(old: Ruleset, new: Ruleset) -> str | None:
    """The nft script (one transaction), "" when nothing changed, None when only a
    full replace will do."""
    if (old.family, old.table) != (new.family, new.table) or _bases(old) != _bases(new):
        return None
    if {m.name for m in old.maps} != {m.name for m in new.maps}:
        return None
    table = f"{new.family} {new.table}"
    old_sets, new_sets = {s.name: s for s in old.sets}, {s.name: s for s in new.sets}
    old_chains = {c.name: c for c in old.chains if c.hook is None}
    new_chains = {c.name: c for c in new.chains if c.hook is None}
    lines: list[str] = []
    for name in sorted(new_sets.keys() - old_sets.keys()):
        body = new_sets[name].render()  # "  set NAME {", its lines, "  }"
        lines.append(f"add set {table} {name} {{")
        lines.extend(body[1:])
    for name in sorted(new_chains.keys() - old_chains.keys()):
        comment = new_chains[name].comment
        lines.append(
            f'add chain {table} {name} {{ comment "{comment}"; }}'
            if comment
            else f"add chain {table} {name}"
        )
    for name, chain in sorted(new_chains.items()):
        before = old_chains.get(name)
        if before is not None and before.rules == chain.rules:
            continue
        if before is not None:
            lines.append(f"flush chain {table} {name}")
        lines.extend(f"add rule {table} {name} {rule}" for rule in chain.rules)
    old_maps = {m.name: m for m in old.maps}
    for new_map in new.maps:
        lines.extend(_map_changes(table, old_maps[new_map.name], new_map))
    removed = sorted(old_chains.keys() - new_chains.keys())
    lines.extend(f"flush chain {table} {name}" for name in removed)  # their jumps go first
    lines.extend(f"delete chain {table} {name}" for name in removed)
    lines.extend(f"delete set {table} {name}" for name in sorted(old_sets.keys() - new_sets.keys()))
    return "\n".join(lines) + "\n" if lines else ""


def _bases(ruleset: Ruleset) -> tuple[Chain, ...]:
    return tuple(c for c in ruleset.chains if c.hook is not None)


def _map_changes(table: str, old: VerdictMap, new: VerdictMap) -> list[str]:
    before, after = dict(old.elements), dict(new.elements)
    gone = sorted(k for k in before if after.get(k) != before[k])
    added = sorted(k for k in after if before.get(k) != after[k])
    lines = []
    if gone:
        lines.append(f"delete element {table} {new.name} {{ {', '.join(gone)} }}")
    if added:
        lines.append(
            f"add element {table} {new.name} {{ {', '.join(f'{k} : {after[k]}' for k in added)} }}"
        )
    return lines
