"""Lint findings as text, JSON and SARIF 2.1.0 (for code-scanning tools)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netfence import __version__
from netfence.analysis.lint import CHECKS, Finding
from netfence.model.completeness import Completeness
from netfence.model.diagnostics import Severity
from netfence.render.completeness import sarif_notifications

SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}
DOCS = "docs/lint.md"


def lint_lines(findings: Sequence[Finding]) -> list[str]:
    lines = [f.format() for f in findings]
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    summary = ", ".join(
        f"{counts[s]} {s.value}(s)" for s in (Severity.ERROR, Severity.WARNING, Severity.NOTICE)
    )
    return [*lines, summary if findings else "no findings"]


def lint_data(findings: Sequence[Finding]) -> dict[str, Any]:
    return {
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
        ]
    }


def lint_sarif(
    findings: Sequence[Finding], completeness: Completeness | None = None
) -> dict[str, Any]:
    """SARIF 2.1.0; a partial input is said by the run's invocation, as warning
    notifications (and executionSuccessful stays true: lint itself ran)."""
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
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "netfence", "version": __version__, "rules": rules}},
        "results": results,
    }
    if completeness is not None and completeness.partial:
        run["invocations"] = [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": sarif_notifications(completeness),
            }
        ]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
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
