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
    """Most scenarios mix allowed and denied probes, in each address family; and in
    some the two families differ (ipBlocks of one family)."""
    mixed = {4: 0, 6: 0}
    families_differ = 0
    for seed in range(SCENARIOS):
        policies = random_policies(random.Random(seed))
        verdicts = engine_verdicts(
            build_cluster(documents([*cluster_objects(), *policies])).cluster
        )
        for family in mixed:
            values = {ok for key, ok in verdicts.items() if key[3] == family}
            mixed[family] += len(values) == 2
        families_differ += any(
            ok != verdicts[(*key[:3], 6)] for key, ok in verdicts.items() if key[3] == 4
        )
    assert min(mixed.values()) >= SCENARIOS * 2 // 3, mixed
    assert families_differ >= 3, families_differ
