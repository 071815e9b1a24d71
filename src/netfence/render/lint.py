"""Lint findings as text, JSON and SARIF 2.1.0 (for code-scanning tools)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netfence import __version__
from netfence.analysis.lint import CHECKS, Finding, LintReport, Skipped
from netfence.model.completeness import Completeness
from netfence.model.diagnostics import Severity
from netfence.render.completeness import sarif_notifications

SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}
DOCS = "docs/lint.md"


def lint_lines(findings: Sequence[Finding], skipped: Sequence[Skipped] = ()) -> list[str]:
    lines = [f.format() for f in findings]
    line = LintReport(tuple(findings), tuple(skipped)).skipped_line()
    if line is not None:
        lines.append(line)
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    summary = ", ".join(
        f"{counts[s]} {s.value}(s)" for s in (Severity.ERROR, Severity.WARNING, Severity.NOTICE)
    )
    return [*lines, summary if findings else "no findings"]


def lint_data(findings: Sequence[Finding], skipped: Sequence[Skipped] = ()) -> dict[str, Any]:
    return {
        "skipped": [{"id": s.check.id, "check": s.check.name, "reason": s.reason} for s in skipped],
        "findings": [
            {
                "id": f.check.id,
                "check": f.check.name,
                "severity": f.severity.value,
                "message": f.message,
                "file": f.source.file if f.source else None,
                "doc": f.source.doc if f.source else None,
                "object": f.obj.format() if f.obj else None,
                "field": f.field,
            }
            for f in findings
        ],
    }


def lint_sarif(
    findings: Sequence[Finding],
    skipped: Sequence[Skipped] = (),
    completeness: Completeness | None = None,
) -> dict[str, Any]:
    """SARIF 2.1.0. Skipped checks and a partial input are said by the run's
    invocation, as notifications (executionSuccessful stays true: lint itself ran)."""
    rules = [
        {
            "id": check.id,
            "name": check.name,
            "shortDescription": {"text": check.summary},
            "fullDescription": {"text": check.rationale},
            "help": {"text": check.fix},
            "helpUri": f"{DOCS}#{check.id.lower()}",
            "defaultConfiguration": {"level": SARIF_LEVEL[check.severity]},
        }
        for check, _ in CHECKS
    ]
    index = {check.id: i for i, (check, _) in enumerate(CHECKS)}
    results = [_result(f, index[f.check.id]) for f in findings]
    line = LintReport(tuple(findings), tuple(skipped)).skipped_line()
    notifications = (
        [{"level": "note", "message": {"text": line}, "descriptor": {"id": "skipped-checks"}}]
        if line is not None
        else []
    )
    if completeness is not None and completeness.partial:
        notifications += sarif_notifications(completeness)
    invocation = {"executionSuccessful": True, "toolExecutionNotifications": notifications}
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "netfence", "version": __version__, "rules": rules}},
                "invocations": [invocation],
                "results": results,
            }
        ],
    }


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if finding.source is not None:
        location["physicalLocation"] = {"artifactLocation": {"uri": finding.source.file}}
    logical = [finding.obj.format()] if finding.obj else []
    if finding.field:
        logical.append(finding.field)
    if logical:
        location["logicalLocations"] = [{"fullyQualifiedName": ": ".join(logical)}]
    return {
        "ruleId": finding.check.id,
        "ruleIndex": rule_index,
        "level": SARIF_LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [location] if location else [],
    }
