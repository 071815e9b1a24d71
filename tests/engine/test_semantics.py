"""Table-driven semantics: tests/engine/semantics/cases.yaml, each on base.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from netfence.analysis.expectations import run_expectations
from netfence.compile import compile_policies
from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster, parse_documents
from netfence.parse.expectations import parse_expectations

HERE = Path(__file__).parent / "semantics"
CASES: list[dict[str, Any]] = yaml.safe_load((HERE / "cases.yaml").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_semantics_case(case: dict[str, Any]) -> None:
    docs = parse_documents((HERE / "base.yaml").read_text(), "base.yaml")
    extra = [*case.get("manifests", []), *case.get("policies", [])]
    docs += [RawDocument(Source("cases.yaml", i + 1), obj) for i, obj in enumerate(extra)]
    built = build_cluster(docs)
    assert not built.errors, [d.format() for d in built.errors]
    assert len(built.cluster.policies) == len(case.get("policies", []))
    expectations = parse_expectations(case["expect"], "cases.yaml")
    results = run_expectations(
        compile_policies(built.cluster.policies), built.cluster, expectations
    )
    failures = [
        f"{r.expectation.from_} -> {r.expectation.to} {r.expectation.port}/{r.expectation.protocol.value}: "
        f"expected {r.expectation.allowed}, got {r.report.verdict.value}"
        for r in results
        if not r.ok
    ]
    assert not failures, "\n".join(failures)
