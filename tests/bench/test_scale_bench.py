"""The scale benchmark's measurements run (on a small cluster) and verify themselves."""

from __future__ import annotations

from pathlib import Path

from bench.scale import child, yaml_end_to_end
from bench.synth import generate, write


def test_child_measures_everything_and_updates_verify(tmp_path: Path) -> None:
    objects = generate(600, 60, seed=3)
    path = tmp_path / "c.json"
    write(objects, path, "json")
    row = child(str(path), repeat=1)
    assert row["update_verified"] is True
    assert row["update_modes"] and set(row["update_modes"]) <= {"incremental", "full"}
    for key in ("load_s", "compile_s", "analysis_s", "update_s", "check_s", "peak_rss_gb"):
        assert row[key] > 0, key
    assert 0 < row["classes"] <= 600 and row["allowed_pairs"] > 0
    yaml_path = tmp_path / "c.yaml"
    write(objects, yaml_path, "yaml")
    assert yaml_end_to_end(str(yaml_path))["e2e_yaml_s"] > 0
