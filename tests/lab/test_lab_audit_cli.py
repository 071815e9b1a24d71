"""Audit mode from the command line, on the bundled EKS workshop scenario with real
packets: ``lab up --audit``, ``lab stage -f`` a candidate deny-all for catalog,
real curl from ui to catalog still works (audit never drops), ``lab records``
gives the would-be deny with its attribution, and ``explain-flows`` reads the
records against the scenario. Root only; torn down even on failure."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.conftest import ROOT, run_cli
from tests.lab.test_lab_real import REASON, leftovers, processes_naming

pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
CLUSTER = ["-k", "src/netfence/scenarios/eks-retail/cluster"]
CANDIDATE = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "deny-all", "namespace": "catalog"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


@pytest.fixture(scope="module")
def lab_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("audit-cli") / "lab"
    up = None
    try:
        up = run_cli("lab", "up", *CLUSTER, "--audit", "--lab-dir", str(directory), cwd=ROOT)
        assert up.code == 0, up.err
        assert "audit mode: stage candidates with `netfence lab stage -f PATH`" in up.out
        yield directory
    finally:
        run_cli("lab", "down", "--lab-dir", str(directory))
        lab_id = next((w for w in up.out.split() if w.startswith("nf")), "") if up else ""
        if lab_id:
            assert not leftovers(directory, lab_id)
        assert not processes_naming(f"{directory}/"), "an agent (or its ulogd) outlived the lab"


def test_stage_record_and_explain(lab_dir: Path, tmp_path: Path) -> None:
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(yaml.safe_dump(CANDIDATE))
    staged = run_cli("lab", "stage", "-f", str(candidate), "--lab-dir", str(lab_dir))
    assert staged.code == 0, staged.err
    assert staged.out.startswith("lab stage: 1 candidate policies staged on ")
    curl = ["curl", "-s", "--max-time", "5", "http://catalog.catalog/health"]
    done = run_cli("lab", "exec", "--lab-dir", str(lab_dir), "ui/deployment/ui", "--", *curl)
    assert done.code == 0, done.err  # staged: recorded, never dropped

    records = tmp_path / "records.jsonl"
    to_catalog = read_records(lab_dir, records)
    assert {f["dst"]["pod"].split("/")[0] for f in to_catalog} == {"catalog"}
    assert {tuple(f["decided_by"]["policies"]) for f in to_catalog} == {("catalog/deny-all",)}
    assert {f["decided_by"]["direction"] for f in to_catalog} == {"ingress"}

    # the would-be denies agree with the engine on the cluster with the candidate
    # (exit 0), and disagree with it on the cluster as it is (exit 1)
    with_candidate = run_cli(
        "explain-flows", str(records), *CLUSTER, "-f", str(candidate), cwd=ROOT
    )
    assert with_candidate.code == 0, with_candidate.out + with_candidate.err
    as_it_is = run_cli("explain-flows", str(records), *CLUSTER, cwd=ROOT)
    assert as_it_is.code == 1, as_it_is.out + as_it_is.err

    cleared = run_cli("lab", "stage", "--clear", "--lab-dir", str(lab_dir))
    assert cleared.code == 0, cleared.err
    assert cleared.out.startswith("lab stage: 0 candidate policies staged on ")


def read_records(lab_dir: Path, records: Path) -> list[dict[str, Any]]:
    """``lab records`` until ui's flow is in (the agents write what ulogd passes
    them a moment after the packet): the flow records from ui."""
    deadline = time.monotonic() + 15
    while True:
        read = run_cli("lab", "records", "--out", str(records), "--lab-dir", str(lab_dir))
        assert read.code == 0, read.err
        lines = [json.loads(line) for line in records.read_text().splitlines()]
        flows = [f for f in lines if f["kind"] == "netfence.flow"]
        from_ui = [f for f in flows if (f["src"]["pod"] or "").startswith("ui/")]
        if from_ui or time.monotonic() > deadline:
            assert from_ui, lines
            return from_ui
        time.sleep(0.5)


def test_stage_needs_files_or_clear(lab_dir: Path) -> None:
    done = run_cli("lab", "stage", "--lab-dir", str(lab_dir))
    assert done.code == 2
    assert "give -f PATH (the candidates) or --clear" in done.err
