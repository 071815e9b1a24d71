"""A what-if diff as text and data: DNS first, then losses, then gains."""

from __future__ import annotations

from typing import Any

from netfence.analysis.diff import ChangeKind, ConnectionChange, Diff
from netfence.render.data import decision_data
from netfence.render.explain import reason


def _line(change: ConnectionChange) -> str:
    pairs = "" if change.pairs == 1 else f" ({change.pairs} pod pairs)"
    port = change.ports or f"{change.port}/{change.protocol.value}"
    where = f"{change.source} -> {change.destination} {port}{pairs}"
    if change.kind is ChangeKind.LOST:
        return f"- {where}: now denied: {reason(change.after)}"
    return f"+ {where}: now allowed: {reason(change.after)}"


def diff_lines(diff: Diff) -> list[str]:
    if not diff.changes:
        return ["no connection changes"]
    lines: list[str] = []
    dns = [c for c in diff.lost if c.dns]
    if dns:
        lines.append("DNS LOST: these workloads can no longer resolve names through kube-dns:")
        lines.extend(f"  {_line(c)}" for c in dns)
    rest = [c for c in diff.lost if not c.dns]
    if rest:
        lines.append(f"lost ({len(rest)}):")
        lines.extend(f"  {_line(c)}" for c in rest)
    if diff.gained:
        lines.append(f"gained ({len(diff.gained)}):")
        lines.extend(f"  {_line(c)}" for c in diff.gained)
    lines.append(f"{len(diff.lost)} lost ({len(dns)} DNS), {len(diff.gained)} gained")
    return lines


def diff_data(diff: Diff) -> dict[str, Any]:
    return {
        "lost": len(diff.lost),
        "gained": len(diff.gained),
        "dns_lost": sum(1 for c in diff.lost if c.dns),
        "changes": [
            {
                "kind": c.kind.value,
                "from": c.source,
                "to": c.destination,
                "port": c.port,
                "protocol": c.protocol.value,
                "ports": c.ports,
                "pairs": c.pairs,
                "dns": c.dns,
                "reason": reason(c.after),
                "before": decision_data(c.before),
                "after": decision_data(c.after),
            }
            for c in diff.changes
        ],
    }
