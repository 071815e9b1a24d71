"""The whole-cluster summary: per port class, allowed pod pairs; isolation counts."""

from __future__ import annotations

from typing import Any

from netfence.analysis.scale.summary import Summary


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _pods(count: int, total: int) -> str:
    return f"{count:,} pods ({_share(count, total)})"


def summary_lines(summary: Summary) -> list[str]:
    n, pairs = summary.pods, summary.ordered_pairs
    lines = [
        f"pods: {n:,} in {summary.classes:,} equivalence classes; ordered pod pairs: {pairs:,}",
        f"isolated for ingress: {_pods(summary.ingress_isolated, n)}; "
        f"for egress: {_pods(summary.egress_isolated, n)}",
        "",
        f"{'port class':<44} {'ports':>6} {'allowed pod pairs':>18} {'share':>7}",
    ]
    for item in summary.port_classes:
        pc = item.port_class
        name = pc.format() + (" (named port)" if pc.named_number is not None else "")
        share = _share(item.allowed_pairs, pairs)
        lines.append(f"{name:<44} {pc.size:>6} {item.allowed_pairs:>18,} {share:>7}")
    return lines


def summary_data(summary: Summary) -> dict[str, Any]:
    return {
        "pods": summary.pods,
        "classes": summary.classes,
        "ordered_pairs": summary.ordered_pairs,
        "ingress_isolated": summary.ingress_isolated,
        "egress_isolated": summary.egress_isolated,
        "port_classes": [
            {
                "protocol": item.port_class.protocol.value,
                "ranges": [list(r) for r in item.port_class.ranges],
                "ports": item.port_class.size,
                "named_port": item.port_class.named_number,
                "allowed_pairs": item.allowed_pairs,
            }
            for item in summary.port_classes
        ],
    }
