"""``lab test``'s wording without a lab: with the engine as the runner, each line is
`netfence test`'s line (status, index, connection, expected, got, name) with the
engine's verdict beside the observed one, and the JSON is `test -o json`'s with
the observed fields added."""

from __future__ import annotations

import random

import pytest
from tests.probe.test_probe_plan import expectations_for, scenario

from netfence.analysis.expectations import run_expectations
from netfence.cli.lab_test import outcomes_data, outcomes_text
from netfence.compile import compile_policies
from netfence.errors import InvalidInputError
from netfence.parse.expectations import parse_expectations
from netfence.probe.compare import Observation, compare_expectations
from netfence.probe.plan import expectation_plan
from netfence.probe.runners import EngineRunner
from netfence.render.data import expectations_data
from netfence.render.expectations import expectations_text


@pytest.mark.parametrize("seed", range(4))
def test_lab_test_says_what_test_says_with_the_engine_beside(seed: int) -> None:
    cluster = scenario(seed)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    results = []
    for item in parse_expectations(expectations_for(cluster, random.Random(seed)), "e.yaml"):
        try:
            results += run_expectations(compiled, cluster, [item])
        except InvalidInputError:
            continue
    planned = expectation_plan(results)
    jobs = [j for p in planned for j in p.jobs]
    outcomes = compare_expectations(planned, EngineRunner(compiled, cluster).run(jobs))
    ours = [line for line in outcomes_text(outcomes) if not line.startswith(" ")]
    theirs = [line for line in expectations_text(results) if not line.startswith(" ")]
    for mine, test_line, result in zip(ours, theirs, results, strict=False):
        engine = mine.split(" on real packets, engine ")
        assert len(engine) == 2, mine
        assert test_line.startswith(engine[0])
        verdict = test_line.split(", got ")[1].split(" (")[0]
        assert engine[1].startswith(verdict)
        assert (result.expectation.name or "") in mine
    passed = sum(r.ok for r in results)
    assert ours[-1] == f"{passed} passed, {len(results) - passed} failed, 0 not probed"
    data, test_data = outcomes_data(outcomes), expectations_data(results)
    for entry, test_entry in zip(data["results"], test_data["results"], strict=True):
        assert {k: entry[k] for k in test_entry if k != "ok"} == {
            k: v for k, v in test_entry.items() if k != "ok"
        }
        assert entry["ok"] == test_entry["ok"] == entry["engine_ok"]
        assert entry["observed"] == entry["verdict"] and entry["probed"]


def test_not_probed_is_said_and_never_passes() -> None:
    cluster = scenario(1)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    raw = [{"from": "x/a", "to": "y/b", "port": 80, "allowed": True, "name": "one"}]
    results = run_expectations(compiled, cluster, parse_expectations(raw, "e.yaml"))
    planned = expectation_plan(results)
    unseen = [Observation.not_probed("y/b has no network namespace in the lab")] * len(
        planned[0].jobs
    )
    outcomes = compare_expectations(planned, unseen)
    lines = outcomes_text(outcomes)
    assert lines[0].startswith("NOT PROBED [0] x/a -> y/b 80/TCP: expected allowed, got not probed")
    assert lines[1] == "    not probed: y/b has no network namespace in the lab"
    assert lines[-1] == "0 passed, 0 failed, 1 not probed"
    data = outcomes_data(outcomes)
    assert (data["passed"], data["failed"], data["not_probed"]) == (0, 0, 1)
    assert data["results"][0]["ok"] is False and data["results"][0]["observed"] is None
