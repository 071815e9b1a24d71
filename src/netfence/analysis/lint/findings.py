"""What lint reports: findings with a stable check ID, a severity and a location."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from netfence.model.diagnostics import ObjectRef, Severity, Source, locate


class Needs(enum.Enum):
    """The cluster state a check needs: without it, it is skipped (and said so)."""

    NOTHING = "nothing"  # the policies alone
    PODS = "pods"  # pods in the input
    NAMESPACES = "namespaces"  # pods, or Namespace objects, in the input


@dataclass(frozen=True, slots=True)
class Check:
    """A check's identity and documentation (docs/lint.md says the same, longer)."""

    id: str
    name: str
    severity: Severity
    summary: str
    rationale: str
    fix: str
    needs: Needs = Needs.NOTHING


@dataclass(frozen=True, slots=True)
class Finding:
    check: Check
    message: str
    source: Source | None
    obj: ObjectRef | None
    field: str | None = None

    @property
    def severity(self) -> Severity:
        return self.check.severity

    def location(self) -> str:
        return locate(self.source, self.obj, self.field)

    def format(self) -> str:
        where = self.location()
        head = f"{where}: " if where else ""
        return f"{head}{self.check.id} {self.severity.value}: {self.message}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A check that did not run, because the input lacks the cluster state it needs."""

    check: Check
    reason: str


@dataclass(frozen=True, slots=True)
class LintReport:
    findings: tuple[Finding, ...]
    skipped: tuple[Skipped, ...] = ()

    def skipped_line(self) -> str | None:
        """One line naming every skipped check with the reason, or None."""
        if not self.skipped:
            return None
        by_reason: dict[str, list[str]] = {}
        for s in self.skipped:
            by_reason.setdefault(s.reason, []).append(f"{s.check.id} {s.check.name}")
        groups = "; ".join(f"{', '.join(names)} ({reason})" for reason, names in by_reason.items())
        return f"skipped, for lack of cluster state: {groups}"


SEVERITY_RANK = {Severity.NOTICE: 0, Severity.WARNING: 1, Severity.ERROR: 2}
