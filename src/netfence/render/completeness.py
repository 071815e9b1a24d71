"""A partial input, said where the answer is printed: a text block, a JSON object,
SARIF notifications and an HTML banner (docs/input.md). Nothing is printed for a
complete input."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from netfence.model.completeness import (
    Completeness,
    InvalidObject,
    NotApplied,
    OtherPolicy,
    SkippedKind,
    group_of,
)
from netfence.model.diagnostics import Source
from netfence.render.terminal import safe_text

SHOWN_SOURCES = 3  # sources listed per skipped kind in text; JSON lists them all


def _where(source: Source | None) -> str:
    return "" if source is None else source.format()


def _kind(api_version: str, kind: str) -> str:
    name = kind or "<no kind>"
    return f"{name} ({api_version})" if api_version else name


# kinds that exist in more than one API group: named as kubectl does, kind.group
_AMBIGUOUS = frozenset({"NetworkPolicy", "ClusterNetworkPolicy"})


def policy_ref(policy: OtherPolicy) -> str:
    """``CiliumNetworkPolicy prod/allow-dns``; ``NetworkPolicy.projectcalico.org prod/deny``."""
    kind = policy.kind
    if kind in _AMBIGUOUS:
        kind = f"{kind}.{group_of(policy.api_version)}"
    return f"{kind} {policy.key}"


def may_also_be_decided_by(policies: Sequence[OtherPolicy]) -> list[str]:
    """The lines that a verdict these policies may affect carries."""
    return [f"may also be decided by {policy_ref(p)} (not evaluated)" for p in policies]


def _policy_line(policy: OtherPolicy) -> str:
    scope = (
        "cluster-wide: may decide any connection"
        if policy.namespace is None
        else f"may decide connections of pods in namespace {policy.namespace}"
    )
    where = f"; {_where(policy.source)}" if policy.source else ""
    return f"not evaluated: {policy_ref(policy)} ({policy.api_version}{where}): {scope}"


def _skipped_line(skipped: SkippedKind) -> str:
    shown = ", ".join(s.format() for s in skipped.sources[:SHOWN_SOURCES])
    more = skipped.count - SHOWN_SOURCES
    rest = f" and {more} more" if more > 0 else ""
    objects = "object" if skipped.count == 1 else "objects"
    what = _kind(skipped.api_version, skipped.kind)
    return f"skipped: {skipped.count} {objects} of kind {what}, not read by netfence: {shown}{rest}"


def _not_applied_line(item: NotApplied) -> str:
    where = _where(item.source)
    return f"not applied: {where + ': ' if where else ''}{item.field}"


def _invalid_line(item: InvalidObject) -> str:
    what = item.obj.format() if item.obj is not None else "a document"
    where = f" ({_where(item.source)})" if item.source else ""
    return f"left out: {what}{where}: invalid, see its errors"


def partial_items(completeness: Completeness) -> list[str]:
    return [
        *(_invalid_line(i) for i in completeness.invalid),
        *(_policy_line(p) for p in completeness.policies),
        *(_skipped_line(s) for s in completeness.relevant_skipped),
        *(_not_applied_line(n) for n in completeness.not_applied),
    ]


def partial_lines(completeness: Completeness | None) -> list[str]:
    """The text block, or nothing for a complete input."""
    if completeness is None or not completeness.partial:
        return []
    return [
        "",
        "PARTIAL INPUT: this answer was computed without the following, which may change it:",
        *(f"  - {safe_text(line)}" for line in partial_items(completeness)),
    ]


def _source_data(source: Source | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"file": source.file, "doc": source.doc, "item": source.item, "text": source.format()}


def policy_data(policy: OtherPolicy) -> dict[str, Any]:
    return {
        "apiVersion": policy.api_version,
        "kind": policy.kind,
        "namespace": policy.namespace,
        "name": policy.name,
        "cluster_wide": policy.namespace is None,
        "source": _source_data(policy.source),
    }


def input_data(completeness: Completeness) -> dict[str, Any]:
    """The JSON ``input`` object: whether the answer may be partial, and why."""

    def skipped(items: Sequence[SkippedKind]) -> list[dict[str, Any]]:
        return [
            {
                "apiVersion": s.api_version,
                "kind": s.kind or None,
                "count": s.count,
                "sources": [_source_data(src) for src in s.sources],
            }
            for s in items
        ]

    return {
        "complete": not completeness.partial,
        "not_evaluated": [policy_data(p) for p in completeness.policies],
        "skipped": skipped(completeness.relevant_skipped),
        "not_applied": [
            {"field": n.field, "source": _source_data(n.source)} for n in completeness.not_applied
        ],
        "ignored": skipped([s for s in completeness.skipped if s.inert]),
        "invalid": [
            {
                "kind": i.obj.kind if i.obj else None,
                "namespace": i.obj.namespace if i.obj else None,
                "name": i.obj.name if i.obj else None,
                "source": _source_data(i.source),
            }
            for i in completeness.invalid
        ],
        "messages": partial_items(completeness),
    }


def with_input(data: dict[str, Any], completeness: Completeness | None) -> dict[str, Any]:
    """``data`` with a top-level ``input`` object when the input was partial (a
    complete input's JSON is unchanged)."""
    if completeness is None or not completeness.partial:
        return data
    return {**data, "input": input_data(completeness)}


def sarif_notifications(completeness: Completeness) -> list[dict[str, Any]]:
    """SARIF 2.1.0 ``toolExecutionNotifications`` for a run's invocation."""
    out: list[dict[str, Any]] = []
    skipped = completeness.relevant_skipped
    items: list[tuple[str, Source | None]] = [
        *((_invalid_line(i), i.source) for i in completeness.invalid),
        *((_policy_line(p), p.source) for p in completeness.policies),
        *((_skipped_line(s), s.sources[0] if s.sources else None) for s in skipped),
        *((_not_applied_line(n), n.source) for n in completeness.not_applied),
    ]
    for text, source in items:
        note: dict[str, Any] = {
            "level": "warning",
            "descriptor": {"id": "partial-input"},
            "message": {"text": f"PARTIAL INPUT: {text}"},
        }
        if source is not None:
            note["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": source.file}}}]
        out.append(note)
    return out


def partial_html(completeness: Completeness | None) -> str:
    """A visible banner for the HTML report, or "" for a complete input."""
    if completeness is None or not completeness.partial:
        return ""
    items = "".join(
        f"<li>{html.escape(safe_text(line), quote=True)}</li>"
        for line in partial_items(completeness)
    )
    return (
        '<div class="partial" id="partial-input" role="alert"><strong>PARTIAL INPUT</strong>: '
        "this report was computed without the following, which may change it:"
        f"<ul>{items}</ul></div>\n"
    )


PARTIAL_STYLE = (
    ".partial{background:#fff3cd;border:2px solid #b26b00;padding:8px 12px;margin:12px 0}"
)
