"""The side-by-side benchmark with cluster-wide policies runs on a small cluster and
its updates verify themselves against a fresh analysis with the tiers."""

from __future__ import annotations

from pathlib import Path

from bench.scale import tier_child
from bench.synth import generate, write


def test_tier_child_measures_with_and_without_and_updates_verify(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    write(generate(500, 50, seed=4, cluster_policies=10), str(path), "json")
    row = tier_child(str(path), repeat=1)
    assert row["cluster_policies"] == 10 and row["update_verified"] is True
    assert row["tier_update_verified"] is True and row["tier_update_modes"]
    for key in ("with_cpu_s", "without_cpu_s", "with_wall_s", "without_wall_s", "tier_update_s"):
        assert row[key] > 0, key


def test_synth_without_cluster_policies_is_unchanged_by_the_option() -> None:
    plain = generate(300, 30, seed=2)
    tiered = generate(300, 30, seed=2, cluster_policies=6)
    assert tiered[: len(plain)] == plain
    kinds = {o["kind"] for o in tiered[len(plain) :]}
    assert kinds == {"AdminNetworkPolicy", "ClusterNetworkPolicy"} and len(tiered) - len(plain) == 6
