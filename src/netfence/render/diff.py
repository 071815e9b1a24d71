"""A what-if diff as text and data: DNS first, then losses, then gains."""

from __future__ import annotations

from typing import Any

from netfence.analysis.diff import ChangeKind, ConnectionChange, Diff
from netfence.model.completeness import Completeness, OtherPolicy
from netfence.render.completeness import policy_ref
from netfence.render.data import decision_data
from netfence.render.explain import reason


def _affecting(change: ConnectionChange, completeness: Completeness | None) -> list[OtherPolicy]:
    """Policies of other kinds that may also decide this connection (not evaluated)."""
    if completeness is None or not completeness.policies:
        return []
    conn = change.after.connection
    namespaces = [e.pod.namespace for e in (conn.src, conn.dst) if e.pod is not None]
    return list(completeness.affecting(namespaces))


def _line(change: ConnectionChange, completeness: Completeness | None = None) -> str:
    pairs = "" if change.pairs == 1 else f" ({change.pairs} pod pairs)"
    port = change.ports or f"{change.port}/{change.protocol.value}"
    where = f"{change.source} -> {change.destination} {port}{pairs}"
    others = _affecting(change, completeness)
    also = (
        f" (may also be decided by {', '.join(policy_ref(p) for p in others)}: not evaluated)"
        if others
        else ""
    )
    if change.kind is ChangeKind.LOST:
        return f"- {where}: now denied: {reason(change.after)}{also}"
    return f"+ {where}: now allowed: {reason(change.after)}{also}"


def diff_lines(diff: Diff, completeness: Completeness | None = None) -> list[str]:
    if not diff.changes:
        return ["no connection changes"]
    lines: list[str] = []
    dns = [c for c in diff.lost if c.dns]
    if dns:
        lines.append("DNS LOST: these workloads can no longer resolve names through kube-dns:")
        lines.extend(f"  {_line(c, completeness)}" for c in dns)
    rest = [c for c in diff.lost if not c.dns]
    if rest:
        lines.append(f"lost ({len(rest)}):")
        lines.extend(f"  {_line(c, completeness)}" for c in rest)
    if diff.gained:
        lines.append(f"gained ({len(diff.gained)}):")
        lines.extend(f"  {_line(c, completeness)}" for c in diff.gained)
    lines.append(f"{len(diff.lost)} lost ({len(dns)} DNS), {len(diff.gained)} gained")
    return lines


def diff_data(diff: Diff, completeness: Completeness | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
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
    for change, c in zip(data["changes"], diff.changes, strict=True):
        others = _affecting(c, completeness)
        if others:
            change["may_also_be_decided_by"] = [policy_ref(p) for p in others]
    return data
