"""Decisions, checks, expectations and matrices as plain JSON-ready data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from netfence.engine.check import CheckReport, Step
from netfence.engine.decision import Decision, DirectionVerdict
from netfence.model.completeness import Completeness
from netfence.model.diagnostics import Diagnostic
from netfence.model.traffic import Connection, Endpoint
from netfence.render.completeness import policy_ref, with_input
from netfence.render.explain import miss_reason, peer_text, port_text

if TYPE_CHECKING:  # only annotations: `check` does not import the matrix and test modules
    from netfence.analysis.expectations import ExpectationResult
    from netfence.analysis.matrix import Matrix

Json = dict[str, Any]


def endpoint_data(endpoint: Endpoint) -> Json:
    pod = endpoint.pod
    data: Json = {"ip": None if endpoint.ip is None else str(endpoint.ip)}
    if pod is not None:
        data["pod"] = pod.key
        data["workload"] = pod.workload.format() if pod.workload else None
    return data


def direction_data(verdict: DirectionVerdict, conn: Connection) -> Json:
    data = _direction_data(verdict, conn)
    if verdict.tiers:  # only with cluster-wide policies: the output is unchanged without
        from netfence.render.tiers import tiers_data

        data["tiers"] = tiers_data(verdict)
    return data


def _direction_data(verdict: DirectionVerdict, conn: Connection) -> Json:
    return {
        "allowed": verdict.allowed,
        "outcome": verdict.outcome.value,
        "policies": list(verdict.policies),
        "allowed_by": [
            {
                "policy": m.rule.policy,
                "rule": m.rule.path,
                "peer": m.peer,
                "port": m.port,
                "peer_text": peer_text(m),
                "port_text": port_text(m),
            }
            for m in verdict.matches
        ],
        "not_allowed_by": [
            {
                "policy": m.policy,
                "rule": None if m.rule is None else m.rule.path,
                "code": m.code.value,
                "reason": miss_reason(m, verdict.direction, conn),
            }
            for m in verdict.misses
        ],
    }


def decision_data(decision: Decision) -> Json:
    conn = decision.connection
    return {
        "from": endpoint_data(conn.src),
        "to": endpoint_data(conn.dst),
        "port": conn.port,
        "protocol": conn.protocol.value,
        "allowed": decision.allowed,
        "egress": direction_data(decision.egress, conn),
        "ingress": direction_data(decision.ingress, conn),
    }


def step_data(step: Step) -> Json:
    return {
        "kind": step.kind.value,
        "title": step.title,
        "verdict": step.verdict.value,
        "decisions": [decision_data(d) for d in step.decisions],
        "notes": list(step.notes),
    }


def check_data(report: CheckReport) -> Json:
    data: Json = {
        "from": report.source.text,
        "to": report.destination.text,
        "port": report.port,
        "protocol": report.protocol.value,
        "verdict": report.verdict.value,
        "allowed": report.allowed,
        "steps": [step_data(s) for s in report.steps],
        "notes": list(report.notes),
    }
    if report.unevaluated:  # the verdict is uncertain: these may also decide it
        data["may_also_be_decided_by"] = [policy_ref(p) for p in report.unevaluated]
    return data


def expectations_data(results: Sequence[ExpectationResult]) -> Json:
    entries = []
    for r in results:
        exp = r.expectation
        entries.append(
            {
                "name": exp.name,
                "from": exp.from_,
                "to": exp.to,
                "port": exp.port,
                "protocol": exp.protocol.value,
                "expected": exp.allowed,
                "allowed": r.allowed,
                "verdict": r.report.verdict.value,
                "ok": r.ok,
                "check": check_data(r.report),
            }
        )
    passed = sum(1 for r in results if r.ok)
    return {"results": entries, "passed": passed, "failed": len(results) - passed}


def matrix_data(matrix: Matrix, completeness: Completeness | None = None) -> Json:
    names = [g.key for g in matrix.groups]
    data: Json = {
        "port": matrix.port,
        "protocol": None if matrix.protocol is None else matrix.protocol.value,
        "ip_family": matrix.family,
        "counted": "connections between distinct pods; loopback: a pod's connections to "
        "itself, always allowed and not counted",
        "groups": [{"name": g.key, "pods": [p.key for p in g.pods]} for g in matrix.groups],
        "cells": [
            {
                "from": names[i],
                "to": names[j],
                "allowed": c.allowed,
                "total": c.total,
                "loopback": c.loopback,
                "state": c.state,
            }
            for i, row in enumerate(matrix.cells)
            for j, c in enumerate(row)
        ],
    }
    if completeness is not None and completeness.policies:
        n, groups = len(names), matrix.groups
        for k, cell in enumerate(data["cells"]):  # row-major, as built above
            pair = (groups[k // n].namespace, groups[k % n].namespace)
            affecting = completeness.affecting(pair)
            if affecting:
                cell["may_also_be_decided_by"] = [policy_ref(p) for p in affecting]
    return with_input(data, completeness)


def diagnostic_data(d: Diagnostic) -> Json:
    return {
        "severity": d.severity.value,
        "file": d.source.file if d.source else None,
        "doc": d.source.doc if d.source else None,
        "object": d.obj.format() if d.obj else None,
        "field": d.field,
        "message": d.message,
        "text": d.format(),
    }
