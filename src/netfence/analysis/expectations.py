"""Run connectivity expectations against the engine."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.check import CheckReport, Verdict, check
from netfence.engine.targets import Target, described_target, resolve_target
from netfence.errors import InvalidInputError, TargetError
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Diagnostic, error
from netfence.model.expectation import DescribedEndpoint, Expectation


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    expectation: Expectation
    report: CheckReport

    @property
    def allowed(self) -> bool:
        return self.report.verdict is Verdict.ALLOWED

    @property
    def ok(self) -> bool:
        """``allowed: true`` holds when every pair is allowed; ``allowed: false``
        when every pair is denied. A partial result satisfies neither."""
        verdict = self.report.verdict
        return verdict is (Verdict.ALLOWED if self.expectation.allowed else Verdict.DENIED)


def run_expectations(
    compiled: CompiledPolicySet, cluster: Cluster, expectations: Sequence[Expectation]
) -> list[ExpectationResult]:
    """Check every expectation; unknown targets or ports are input errors, all
    reported at once, each at the field it comes from."""
    results: list[ExpectationResult] = []
    problems: list[Diagnostic] = []
    for exp in expectations:
        try:
            results.append(ExpectationResult(exp, _check_one(compiled, cluster, exp)))
        except _FieldTargetError as exc:
            problems.append(error(str(exc.cause), exp.source, field=f"{exp.path}.{exc.field}"))
    if problems:
        raise InvalidInputError(problems)
    return results


class _FieldTargetError(Exception):
    def __init__(self, field: str, cause: TargetError) -> None:
        super().__init__(str(cause))
        self.field, self.cause = field, cause


def _described(end: DescribedEndpoint) -> Target:
    return described_target(end.namespace, end.labels, end.format(), end.ports)


def _check_one(compiled: CompiledPolicySet, cluster: Cluster, exp: Expectation) -> CheckReport:
    try:
        source = (
            _described(exp.from_labels) if exp.from_labels else resolve_target(exp.from_, cluster)
        )
    except TargetError as exc:
        raise _FieldTargetError("from", exc) from exc
    client_ns = source.pods[0].namespace if source.pods else None
    hosts = {exp.to: exp.resolve} if exp.resolve is not None else {}
    try:
        destination = (
            _described(exp.to_labels)
            if exp.to_labels
            else resolve_target(exp.to, cluster, client_ns, hosts)
        )
    except TargetError as exc:
        raise _FieldTargetError("toLabels" if exp.to_labels else "to", exc) from exc
    try:
        return check(compiled, cluster, source, destination, exp.port, exp.protocol)
    except TargetError as exc:
        raise _FieldTargetError("port", exc) from exc
