"""What was expected against what was observed, as data. Pure: no I/O.

Each job's comparison is one of four: the packets agree; expected allowed but the
packets were denied; expected denied but they passed; not probed, and why. For an
expectations file, the observed results of an expectation's jobs make its observed
verdict by the same rules as the engine's (``engine.check``): all, none or some of
the connections; a name lookup counts by its UDP queries.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from netfence.analysis.expectations import ExpectationResult
from netfence.engine.check import StepKind, Verdict
from netfence.model.ports import Protocol
from netfence.probe.plan import ExpectationJobs, Job


@dataclass(frozen=True, slots=True)
class Observation:
    """What a runner saw for one job: ``reached`` (None: not probed, ``why_not``)."""

    reached: bool | None
    why_not: str = ""

    @classmethod
    def not_probed(cls, why: str) -> Observation:
        return cls(None, why)


class Agreement(enum.Enum):
    MATCH = "match"
    EXPECTED_ALLOWED_PACKETS_DENIED = "expected-allowed-packets-denied"
    EXPECTED_DENIED_PACKETS_PASSED = "expected-denied-packets-passed"
    NOT_PROBED = "not-probed"


@dataclass(frozen=True, slots=True)
class Comparison:
    job: Job
    observation: Observation

    @property
    def agreement(self) -> Agreement:
        reached = self.observation.reached
        if reached is None:
            return Agreement.NOT_PROBED
        if reached == self.job.expected:
            return Agreement.MATCH
        if self.job.expected:
            return Agreement.EXPECTED_ALLOWED_PACKETS_DENIED
        return Agreement.EXPECTED_DENIED_PACKETS_PASSED


@dataclass(frozen=True, slots=True)
class ComparisonReport:
    comparisons: tuple[Comparison, ...]

    @property
    def differences(self) -> tuple[Comparison, ...]:
        return tuple(
            c
            for c in self.comparisons
            if c.agreement not in (Agreement.MATCH, Agreement.NOT_PROBED)
        )

    @property
    def not_probed(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.agreement is Agreement.NOT_PROBED)

    def counts(self) -> dict[Agreement, int]:
        out = dict.fromkeys(Agreement, 0)
        for c in self.comparisons:
            out[c.agreement] += 1
        return out

    def why_not_probed(self) -> dict[str, int]:
        """Each reason a job was not probed, with how many jobs it kept out."""
        out: dict[str, int] = {}
        for c in self.not_probed:
            out[c.observation.why_not] = out.get(c.observation.why_not, 0) + 1
        return out


def compare(jobs: Sequence[Job], observations: Sequence[Observation]) -> ComparisonReport:
    if len(jobs) != len(observations):
        raise ValueError(f"{len(jobs)} jobs but {len(observations)} observations")
    return ComparisonReport(tuple(map(Comparison, jobs, observations)))


# --- an expectations file ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExpectationOutcome:
    """An expectation on real packets: the engine's result beside the observed
    verdict (None: not probed, ``why_not``). Not probed never passes."""

    result: ExpectationResult
    comparisons: tuple[Comparison, ...]
    observed: Verdict | None
    why_not: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        want = Verdict.ALLOWED if self.result.expectation.allowed else Verdict.DENIED
        return self.observed is want

    @property
    def probed(self) -> bool:
        return self.observed is not None


def compare_expectations(
    planned: Sequence[ExpectationJobs], observations: Sequence[Observation]
) -> tuple[ExpectationOutcome, ...]:
    """``observations``: one per job of ``planned``, in order (``ExpectationJobs.jobs``)."""
    outcomes = []
    at = 0
    for item in planned:
        steps = []
        comparisons: list[Comparison] = []
        for kind, jobs in item.steps:
            seen = observations[at : at + len(jobs)]
            at += len(jobs)
            comparisons += map(Comparison, jobs, seen)
            steps.append((kind, jobs, seen))
        why_not = tuple(
            dict.fromkeys(
                c.observation.why_not for c in comparisons if c.observation.reached is None
            )
        )
        observed = None if why_not else _observed_verdict(item.result, steps)
        outcomes.append(ExpectationOutcome(item.result, tuple(comparisons), observed, why_not))
    if at != len(observations):
        raise ValueError(f"{at} jobs but {len(observations)} observations")
    return tuple(outcomes)


_Step = tuple[StepKind, tuple[Job, ...], Sequence[Observation]]


def _observed_verdict(result: ExpectationResult, steps: Sequence[_Step]) -> Verdict:
    """As ``CheckReport.verdict``: the connection works only if the name resolves
    (when one was used) and the connection itself is allowed."""
    engine_steps = result.report.steps
    connect: list[bool] = []
    connect_decisions = 0
    dns: Verdict | None = None
    for (kind, jobs, seen), step in zip(steps, engine_steps, strict=True):
        reached = [bool(o.reached) for o in seen]
        if kind is StepKind.DNS:
            udp = [r for j, r in zip(jobs, reached, strict=True) if j.protocol is Protocol.UDP]
            dns = _all_none_some(udp or reached, loopback=len(step.decisions) > 0)
        else:
            connect += reached
            connect_decisions += len(step.decisions)
    verdict = _all_none_some(connect, loopback=connect_decisions > 0)
    if dns is None or dns is Verdict.ALLOWED:
        return verdict
    if dns is Verdict.DENIED or verdict is Verdict.DENIED:
        return Verdict.DENIED
    return Verdict.PARTIAL


def _all_none_some(reached: Sequence[bool], *, loopback: bool) -> Verdict:
    """``loopback``: there were connections, each of a pod to itself (not jobs:
    always allowed)."""
    if not reached:
        return Verdict.ALLOWED if loopback else Verdict.NO_CONNECTION
    passed = sum(reached)
    if passed == len(reached):
        return Verdict.ALLOWED
    return Verdict.DENIED if passed == 0 else Verdict.PARTIAL
