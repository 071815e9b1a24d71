"""Expectation results as text: one line each, failures with their explanation."""

from __future__ import annotations

from collections.abc import Sequence

from netfence.analysis.expectations import ExpectationResult
from netfence.render.completeness import may_also_be_decided_by
from netfence.render.explain import VERDICT_WORDS, explain_check


def expectations_text(results: Sequence[ExpectationResult]) -> list[str]:
    lines: list[str] = []
    for r in results:
        exp = r.expectation
        port = "" if exp.port is None else f" {exp.port}/{exp.protocol.value}"
        want = "allowed" if exp.allowed else "denied"
        got = VERDICT_WORDS[r.report.verdict].lower()
        status = "PASS" if r.ok else "FAIL"
        title = f" ({exp.name})" if exp.name else ""
        what = f"{exp.from_} -> {exp.to}{port}"
        lines.append(f"{status} [{exp.index}] {what}: expected {want}, got {got}{title}")
        if r.ok:
            lines.extend(f"    {line}" for line in may_also_be_decided_by(r.report.unevaluated))
        else:
            lines.extend(f"    {line}" for line in explain_check(r.report))
    passed = sum(1 for r in results if r.ok)
    lines.append(f"{passed} passed, {len(results) - passed} failed")
    return lines
