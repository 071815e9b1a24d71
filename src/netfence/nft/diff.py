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
   them and the sets nothing refers to any more;
5. rename the chains that were refilled in place of a new one (below).

Chains are named by content, so when a policy changes, the pods it isolates
move to a new chain. When exactly the pods of one old chain move to one new
chain, with the same comment (nft cannot change a comment), the old chain is
refilled and renamed instead: verdict-map elements follow a renamed chain, so
none is rewritten. That matters because nft 1.0.6 reads every set element of
the table before any element command (48 ms at 44k elements, bench/nft.py),
while a refill and rename needs no element read.

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
    renamed = _renames(old, new, old_chains, new_chains)  # old name -> new name
    targets = {new_name: old_name for old_name, new_name in renamed.items()}
    lines: list[str] = []
    for name in sorted(new_sets.keys() - old_sets.keys()):
        body = new_sets[name].render()  # "  set NAME {", its lines, "  }"
        lines.append(f"add set {table} {name} {{")
        lines.extend(body[1:])
    for name in sorted(new_chains.keys() - old_chains.keys() - targets.keys()):
        comment = new_chains[name].comment
        lines.append(
            f'add chain {table} {name} {{ comment "{comment}"; }}'
            if comment
            else f"add chain {table} {name}"
        )
    for name, chain in sorted(new_chains.items()):
        here = targets.get(name, name)  # a rename target is refilled under its old name
        before = old_chains.get(here)
        if before is not None and before.rules == chain.rules:
            continue
        if before is not None:
            lines.append(f"flush chain {table} {here}")
        lines.extend(f"add rule {table} {here} {rule}" for rule in chain.rules)
    old_maps = {m.name: m for m in old.maps}
    for new_map in new.maps:
        lines.extend(_map_changes(table, old_maps[new_map.name], new_map, renamed))
    removed = sorted(old_chains.keys() - new_chains.keys() - renamed.keys())
    lines.extend(f"flush chain {table} {name}" for name in removed)  # their jumps go first
    lines.extend(f"delete chain {table} {name}" for name in removed)
    lines.extend(f"delete set {table} {name}" for name in sorted(old_sets.keys() - new_sets.keys()))
    lines.extend(f"rename chain {table} {a} {b}" for a, b in sorted(renamed.items()))
    return "\n".join(lines) + "\n" if lines else ""


def _renames(
    old: Ruleset, new: Ruleset, old_chains: dict[str, Chain], new_chains: dict[str, Chain]
) -> dict[str, str]:
    """Old chain -> new chain, where the old one goes, the new one comes, the same
    map elements jump to each, and the comments are equal."""
    old_users, new_users = _users(old), _users(new)
    arriving = {
        new_users[name]: name for name in new_chains.keys() - old_chains.keys() if name in new_users
    }
    renamed = {}
    for name in old_chains.keys() - new_chains.keys():
        target = arriving.get(old_users.get(name, frozenset()))
        if target is not None and old_chains[name].comment == new_chains[target].comment:
            renamed[name] = target
    return renamed


def _users(ruleset: Ruleset) -> dict[str, frozenset[tuple[str, str]]]:
    """Per chain: the (map, key) elements that jump to it."""
    users: dict[str, set[tuple[str, str]]] = {}
    for m in ruleset.maps:
        for key, verdict in m.elements:
            users.setdefault(verdict.removeprefix("jump "), set()).add((m.name, key))
    return {name: frozenset(keys) for name, keys in users.items()}


def _renamed(verdict: str, renamed: dict[str, str]) -> str:
    target = verdict.removeprefix("jump ")
    return f"jump {renamed[target]}" if target in renamed else verdict


def _bases(ruleset: Ruleset) -> tuple[Chain, ...]:
    return tuple(c for c in ruleset.chains if c.hook is not None)


def _map_changes(
    table: str, old: VerdictMap, new: VerdictMap, renamed: dict[str, str]
) -> list[str]:
    """Element changes, counting a jump to a renamed chain as a jump to its new name."""
    before = {key: _renamed(verdict, renamed) for key, verdict in old.elements}
    after = dict(new.elements)
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
