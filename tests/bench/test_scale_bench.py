"""The scale benchmark's measurements run (on a small cluster) and verify themselves."""

from __future__ import annotations

from pathlib import Path

from bench.scale import child, end_to_end, exponent, yaml_end_to_end
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


def test_end_to_end_processes_measure_and_agree(tmp_path: Path) -> None:
    objects = generate(300, 30, seed=5)
    json_path, yaml_path = tmp_path / "c.json", tmp_path / "c.yaml"
    write(objects, json_path, "json")
    write(objects, yaml_path, "yaml")
    row = end_to_end(json_path, yaml_path, repeat=1)
    assert row["e2e_same_answer"] is True and row["e2e_failures"] == []
    for name in ("floor", "e2e_json", "e2e_yaml"):
        assert row[f"{name}_cpu"] > 0 and row[f"{name}_wall"] > 0 and row[f"{name}_peak_gb"] > 0
    assert exponent(1.0, 4.0, 10, 20) == 2.0
