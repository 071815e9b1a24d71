"""explain-flows as text and data: disagreements first, then the flows the engine
judged grouped by workload pair and port, then what was not judged and why."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from typing import Any

from netfence.analysis.flows import Ambiguity, ExplainedFlow, FlowsExplained, MappedEnd, Status
from netfence.model.flows import FlowFile
from netfence.render.data import decision_data
from netfence.render.explain import explain_direction

AMBIGUITY_WORDS = {
    Ambiguity.TWO_PODS: "two pods of the snapshot have this address",
    Ambiguity.SERVICE_ADDRESS: "a Service's cluster IP: the backend pod is not known",
    Ambiguity.REUSED: "the record names a pod, the snapshot has another at this address "
    "(the address was reused)",
    Ambiguity.POD_GONE: "the record names a pod the snapshot does not have (gone, or the "
    "snapshot is older than the flow)",
    Ambiguity.MOVED: "the record's pod has another address in the snapshot",
    Ambiguity.POD_RANGE: "in a --pod-cidr range, but no pod of the snapshot has it "
    "(a pod that ended, or the snapshot is older than the flow)",
}
REPLY_NOTE = (
    "replies are not new connections: connection tracking lets a reply through when the "
    "connection it answers was allowed, so they are counted, never judged"
)


def flows_lines(result: FlowsExplained, files: Sequence[FlowFile]) -> list[str]:
    lines = [_header(result, files)]
    disagree = result.disagreements
    if disagree:
        lines.append("")
        lines.append(
            f"DISAGREE ({len(disagree)}): the logged verdict is not the engine's"
            " (policy drift, or an enforcement bug):"
        )
        for f in disagree:
            lines.extend(_flow_block(f))
    judged = [f for f in result.flows if f.status in (Status.AGREES, Status.NOT_LOGGED)]
    for _key, members in groupby(judged, key=lambda f: f.group):
        lines.append("")
        lines.extend(_group_block(list(members)))
    ambiguous = result.of(Status.AMBIGUOUS)
    if ambiguous:
        lines.append("")
        lines.append(f"NOT ATTRIBUTED ({len(ambiguous)}): not explained, never guessed:")
        lines.extend(f"  {_ambiguous_line(f)}" for f in ambiguous)
    replies = result.of(Status.REPLY)
    if replies:
        guessed = sum(1 for f in replies if f.reply_guessed)
        how = f" ({guessed} by the port rule of docs/flows.md)" if guessed else ""
        lines.append("")
        lines.append(f"replies: {len(replies)}{how}; {REPLY_NOTE}")
    lines.extend(_skipped_lines(files))
    return lines


def _header(result: FlowsExplained, files: Sequence[FlowFile]) -> str:
    sources = ", ".join(f"{f.file} ({f.format.value})" for f in files)
    n = {s: len(result.of(s)) for s in Status}
    return (
        f"{_count(len(result.flows), 'flow')} from {sources}: {n[Status.DISAGREES]} disagree, "
        f"{n[Status.AGREES]} agree, {n[Status.NOT_LOGGED]} without a logged policy verdict, "
        f"{n[Status.AMBIGUOUS]} not attributed, {_count(n[Status.REPLY], 'reply', 'replies')}"
    )


def _flow_block(f: ExplainedFlow) -> list[str]:
    assert f.decision is not None
    engine = "allowed" if f.decision.allowed else "DENIED"
    head = (
        f"  {f.flow.origin.format()}: {_ends(f)} {f.flow.dst.port}/{f.flow.protocol.value}: "
        f"logged {f.flow.verdict.value}{_attributed(f)}, engine {engine}"
    )
    return [head, *_decision_lines(f, "    ")]


def _group_block(members: list[ExplainedFlow]) -> list[str]:
    first = members[0]
    assert first.decision is not None
    engine = "allowed" if first.decision.allowed else "DENIED"
    logged = sorted({f.flow.verdict.value for f in members})
    where = ", ".join(f.flow.origin.format() for f in members[:5])
    more = f" and {len(members) - 5} more" if len(members) > 5 else ""
    head = (
        f"{first.src.label} -> {first.dst.label} {first.flow.dst.port}/"
        f"{first.flow.protocol.value}: {engine} ({_count(len(members), 'flow')}, logged "
        f"{'/'.join(logged)})"
    )
    return [head, *_decision_lines(first, "  "), f"  flows: {where}{more}"]


def _count(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {words or word + 's'}"


def _decision_lines(f: ExplainedFlow, indent: str) -> list[str]:
    assert f.decision is not None
    conn = f.decision.connection
    body = [
        *explain_direction(f.decision.egress, conn),
        *explain_direction(f.decision.ingress, conn),
    ]
    return [f"{indent}{line}" for line in body]


def _ends(f: ExplainedFlow) -> str:
    return f"{_end(f.src)} -> {_end(f.dst)}"


def _end(end: MappedEnd) -> str:
    if end.pod is not None:
        return end.pod.key
    if end.node is not None:
        return f"node {end.node.name} ({end.end.ip})"
    return str(end.end.ip)


def _attributed(f: ExplainedFlow) -> str:
    a = f.flow.attribution
    if a is None:
        return ""
    parts = [p for p in (a.tier, ", ".join(a.policies), a.rule) if p]
    return f" ({'; '.join(parts)})" if parts else ""


def _ambiguous_line(f: ExplainedFlow) -> str:
    reasons = []
    for side, end in (("source", f.src), ("destination", f.dst)):
        if end.ambiguity is not None:
            who = f" ({', '.join(end.candidates)})" if end.candidates else ""
            named = f" named {end.end.pod.key}" if end.end.pod else ""
            reasons.append(f"{side} {end.end.ip}{named}: {AMBIGUITY_WORDS[end.ambiguity]}{who}")
    return f"{f.flow.origin.format()}: {f.flow.tuple_text()}: {'; '.join(reasons)}"


def _skipped_lines(files: Sequence[FlowFile]) -> list[str]:
    lines = []
    for file in files:
        for skip in file.skipped:
            lines.append(f"skipped in {file.file}: {skip.count} line(s): {skip.reason}")
    return lines


def flows_data(result: FlowsExplained, files: Sequence[FlowFile]) -> dict[str, Any]:
    """Every flow; the engine's decisions once each in ``decisions`` (a log repeats
    a connection many times), a flow's ``engine`` the index of its own."""
    decisions: list[dict[str, Any]] = []
    index: dict[int, int] = {}
    flows = []
    for f in result.flows:
        engine = None
        if f.decision is not None:
            engine = index.get(id(f.decision))
            if engine is None:
                engine = index[id(f.decision)] = len(decisions)
                decisions.append(decision_data(f.decision))
        flows.append(flow_data(f, engine))
    return {
        "files": [
            {
                "file": f.file,
                "format": f.format.value,
                "flows": len(f.flows),
                "skipped": [{"reason": s.reason, "count": s.count} for s in f.skipped],
            }
            for f in files
        ],
        "counts": {s.value: len(result.of(s)) for s in Status},
        "replies": REPLY_NOTE,
        "flows": flows,
        "decisions": decisions,
    }


def flow_data(f: ExplainedFlow, engine: int | None) -> dict[str, Any]:
    flow = f.flow
    attribution = flow.attribution
    logged = None
    if attribution is not None:
        logged = {"tier": attribution.tier, "policies": list(attribution.policies),
                  "rule": attribution.rule}  # fmt: skip
    return {
        "where": flow.origin.format(),
        "status": f.status.value,
        "time": flow.time,
        "protocol": flow.protocol.value,
        "src": _end_data(f.src),
        "dst": _end_data(f.dst),
        "group": list(f.group),
        "logged": flow.verdict.value,
        "logged_policy_verdict": flow.policy_verdict,
        "logged_attribution": logged,
        "reply": f.status is Status.REPLY,
        "reply_guessed": f.reply_guessed,
        "engine": engine,
    }


def _end_data(end: MappedEnd) -> dict[str, Any]:
    return {
        "ip": str(end.end.ip),
        "port": end.end.port,
        "named_pod": end.end.pod.key if end.end.pod else None,
        "kind": end.kind.value,
        "pod": end.pod.key if end.pod else None,
        "workload": end.label if end.pod else None,
        "node": end.node.name if end.node else None,
        "ambiguity": end.ambiguity.value if end.ambiguity else None,
        "candidates": list(end.candidates),
    }
