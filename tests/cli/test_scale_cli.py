"""The whole-cluster commands on a generated cluster of a few thousand pods."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench.synth import generate, write
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synth") / "cluster.json"
    write(generate(2000, 200, seed=7), path, "json")
    return path


def test_summary_on_a_generated_cluster(generated: Path) -> None:
    result = run_cli("matrix", "--summary", "-f", str(generated), "-o", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["pods"] == 2000 and data["ordered_pairs"] == 2000 * 1999
    assert 0 < data["egress_isolated"] < 2000 and 0 < data["ingress_isolated"] <= 2000
    assert len(data["port_classes"]) > 3
    assert all(0 <= pc["allowed_pairs"] <= data["ordered_pairs"] for pc in data["port_classes"])


def test_full_matrix_of_a_large_cluster_is_refused_with_advice(generated: Path) -> None:
    result = run_cli("matrix", "-f", str(generated))
    assert result.code == 2
    assert "use --summary, or --namespace-filter" in result.err


def test_namespace_filter_makes_it_small_enough(generated: Path) -> None:
    namespaces = [
        ns for ns in json.loads(generated.read_text())["items"] if ns["kind"] == "Namespace"
    ]
    name = namespaces[-1]["metadata"]["name"]
    result = run_cli("matrix", "-f", str(generated), "--namespace-filter", name, "-o", "json")
    assert result.code == 0, result.err
    assert all(g["name"].startswith(f"{name}/") for g in json.loads(result.out)["groups"])
