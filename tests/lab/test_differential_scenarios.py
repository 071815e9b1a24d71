"""The differential test's scenario generator is informative (no lab needed)."""

from __future__ import annotations

import random

from tests.lab.test_lab_differential import (
    SCENARIOS,
    cluster_objects,
    documents,
    engine_verdicts,
    random_policies,
)

from netfence.parse import build_cluster


def test_generated_scenarios_mix_allowed_and_denied() -> None:
    """Most scenarios mix allowed and denied probes."""
    mixed = 0
    for seed in range(SCENARIOS):
        policies = random_policies(random.Random(seed))
        verdicts = engine_verdicts(
            build_cluster(documents([*cluster_objects(), *policies])).cluster
        )
        mixed += len(set(verdicts.values())) == 2
    assert mixed >= SCENARIOS * 2 // 3, mixed
