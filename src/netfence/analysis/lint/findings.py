"""What lint reports: findings with a stable check ID, a severity and a location."""

from __future__ import annotations

from dataclasses import dataclass

from netfence.model.diagnostics import ObjectRef, Severity, Source, locate


@dataclass(frozen=True, slots=True)
class Check:
    """A check's identity and documentation (docs/lint.md says the same, longer)."""

    id: str
    name: str
    severity: Severity
    summary: str
    rationale: str
    fix: str


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


SEVERITY_RANK = {Severity.NOTICE: 0, Severity.WARNING: 1, Severity.ERROR: 2}
