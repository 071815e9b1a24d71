"""generate's answer: the manifests as YAML with the replay and the diff beside them
(as comments, so the output still applies), the same as data for ``-o json``, and
the failure report when the set does not pass its checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from netfence.analysis.diff import ChangeKind, ConnectionChange
from netfence.analysis.flows import ExplainedFlow
from netfence.analysis.generate_check import Checked
from netfence.model.flows import FlowFile
from netfence.render.diff import diff_data
from netfence.render.explain import explain_decision, reason

_Base: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_Base):  # type: ignore[misc]
    """No anchors and aliases: a rule's ports are written out in every rule."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def manifests_yaml(checked: Checked) -> str:
    """The documents alone (what --out writes after the report's comments)."""
    return yaml.dump_all(
        list(checked.generated.manifests),
        Dumper=_Dumper,
        sort_keys=False,
        explicit_start=True,
        default_flow_style=False,
    )


def generated_yaml(checked: Checked, files: Sequence[FlowFile], partial: Sequence[str] = ()) -> str:
    """The report, then ``partial`` (the PARTIAL INPUT block), as comments above the
    documents: the text stays YAML that applies as it is."""
    lines = [*report_lines(checked, files), *partial]
    comment = "".join(f"# {line}\n" if line else "#\n" for line in lines)
    return comment + manifests_yaml(checked)


def report_lines(checked: Checked, files: Sequence[FlowFile]) -> list[str]:
    gen = checked.generated
    sources = ", ".join(f"{f.file} ({f.format.value})" for f in files)
    policies = sum(1 for m in gen.manifests if m.get("kind") == "NetworkPolicy")
    namespaces = sorted({s.namespace for s in gen.subjects})
    lines = [
        f"netfence generate: {policies} NetworkPolicies from {len(gen.used)} observed flows"
        f" of {sources}",
        f"replay: {len(gen.used) - len(checked.failures)} of {len(gen.used)} observed flows"
        " allowed by this set (engine)",
        f"replaces the current NetworkPolicies of: {', '.join(namespaces) or 'no namespace'}",
    ]
    lines.extend(_change_lines(checked.diff.lost, "becomes denied"))
    lines.extend(_change_lines(checked.diff.gained, "becomes allowed"))
    if checked.opened:
        lines.append(f"now denied, observed, allowed by this set ({len(checked.opened)}):")
        lines.extend(_opened_line(f) for f in checked.opened)
    for s in gen.subjects:
        if s.shared_with:
            lines.append(
                f"NOT EXACT: {s.key}: no stable label tells its pods from "
                f"{', '.join(s.shared_with)}; policy {s.namespace}/{s.name} selects them too"
            )
    if gen.dns_selector_assumed:
        lines.append(
            "no Service kube-system/kube-dns in the snapshot: DNS pods assumed k8s-app=kube-dns"
        )
    if gen.left_out:
        lines.append(f"left out ({len(gen.left_out)} flows):")
        lines.extend(f"  {f.flow.origin.format()}: {f.flow.tuple_text()}: {why}"
                     for f, why in gen.left_out)  # fmt: skip
    return lines


def _opened_line(f: ExplainedFlow) -> str:
    port = f"{f.flow.dst.port}/{f.flow.protocol.value}"
    return f"  {f.flow.origin.format()}: {f.src.label} -> {f.dst.label} {port}"


def _change_lines(changes: Sequence[ConnectionChange], word: str) -> list[str]:
    if not changes:
        return [f"{word} (diff against the current policies): nothing"]
    lines = [f"{word} (diff against the current policies), {len(changes)}:"]
    for c in changes:
        pairs = "" if c.pairs == 1 else f" ({c.pairs} pod pairs)"
        dns = " [DNS]" if c.dns else ""
        lines.append(f"  {c.source} -> {c.destination} {c.port}/{c.protocol.value}{pairs}{dns}")
    return lines


def failure_lines(checked: Checked) -> list[str]:
    lines = ["generated policies NOT written: they do not pass their checks"]
    for d in checked.invalid:
        lines.append(f"  invalid: {d.format()}")
    for finding in checked.findings:
        lines.append(f"  lint: {finding.format()}")
    for f, decision in checked.failures:
        lines.append(
            f"  replay: {f.flow.origin.format()}: observed, but denied: {reason(decision)}"
        )
        lines.extend(f"    {line}" for line in explain_decision(decision))
    return lines


def generated_data(checked: Checked, files: Sequence[FlowFile]) -> dict[str, Any]:
    gen = checked.generated
    return {
        "ok": checked.ok,
        "files": [{"file": f.file, "format": f.format.value, "flows": len(f.flows)} for f in files],
        "replay": {
            "observed": len(gen.used),
            "allowed": len(gen.used) - len(checked.failures),
            "denied": [
                {"where": f.flow.origin.format(), "flow": f.flow.tuple_text(), "reason": reason(d)}
                for f, d in checked.failures
            ],
        },
        "invalid": [d.format() for d in checked.invalid],
        "lint": [f.format() for f in checked.findings],
        "becomes_denied": [_change(c) for c in checked.diff.changes if c.kind is ChangeKind.LOST],
        "becomes_allowed": [
            _change(c) for c in checked.diff.changes if c.kind is ChangeKind.GAINED
        ],
        "observed_now_denied": [
            {
                "where": f.flow.origin.format(),
                "from": f.src.label,
                "to": f.dst.label,
                "port": f.flow.dst.port,
                "protocol": f.flow.protocol.value,
            }
            for f in checked.opened
        ],
        "diff": diff_data(checked.diff),
        "subjects": [
            {
                "workload": s.key,
                "policy": f"{s.namespace}/{s.name}",
                "selector": s.selector(),
                "not_exact_also_selects": list(s.shared_with),
            }
            for s in gen.subjects
        ],
        "left_out": [
            {"where": f.flow.origin.format(), "flow": f.flow.tuple_text(), "why": why}
            for f, why in gen.left_out
        ],
        "manifests": list(gen.manifests),
    }


def _change(c: ConnectionChange) -> dict[str, Any]:
    return {
        "from": c.source,
        "to": c.destination,
        "port": c.port,
        "protocol": c.protocol.value,
        "pairs": c.pairs,
        "dns": c.dns,
    }
