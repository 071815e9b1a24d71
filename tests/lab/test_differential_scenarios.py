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
    """Most scenarios mix allowed and denied probes, in each address family and for
    each protocol; and in some the two families differ (ipBlocks of one family)."""
    mixed = {4: 0, 6: 0}
    mixed_protocol = {"tcp": 0, "udp": 0, "sctp": 0}
    families_differ = 0
    for seed in range(SCENARIOS):
        policies = random_policies(random.Random(seed))
        verdicts = engine_verdicts(
            build_cluster(documents([*cluster_objects(), *policies])).cluster
        )
        for family in mixed:
            values = {ok for key, ok in verdicts.items() if key[4] == family}
            mixed[family] += len(values) == 2
        for kind in mixed_protocol:
            values = {ok for key, ok in verdicts.items() if key[2] == kind}
            mixed_protocol[kind] += len(values) == 2
        families_differ += any(
            ok != verdicts[(*key[:4], 6)] for key, ok in verdicts.items() if key[4] == 4
        )
    assert min(mixed.values()) >= SCENARIOS * 2 // 3, mixed
    assert min(mixed_protocol.values()) >= SCENARIOS // 2, mixed_protocol
    assert families_differ >= 3, families_differ
