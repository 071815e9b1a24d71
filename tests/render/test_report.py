"""The HTML report on the workshop: golden file, and a real headless Chromium that
renders it (screenshot in tests/artifacts/) and shows the expected cells."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.conftest import ROOT, SCENARIO, WORKSHOP_FINAL, assert_golden, run_cli

ARTIFACTS = ROOT / "tests" / "artifacts"
FINAL = WORKSHOP_FINAL
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None and os.environ.get("NETFENCE_REQUIRE_BROWSER"):
    raise RuntimeError("NETFENCE_REQUIRE_BROWSER is set but chromium is not installed")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    result = run_cli("report", *FINAL, "-o", str(path))
    assert result.code == 0, result.err
    assert result.out.startswith(f"wrote {path}: 10 workloads, 6 lint findings")
    return path


def test_report_is_self_contained_and_golden(report: Path) -> None:
    text = report.read_text()
    assert not re.search(r"""(src|href)=["']https?:""", text)  # nothing fetched from a network
    assert_golden("report-final.html", text.replace(str(SCENARIO), "<scenario>"))


def test_every_cell_carries_its_explanation(report: Path) -> None:
    data = json.loads(
        re.search(
            r'<script type="application/json" id="data">(.*?)</script>', report.read_text(), re.S
        ).group(1)
    )
    names = [g["name"] for g in data["groups"]]
    cell = data["cells"][
        f"{names.index('ui/deployment/ui')},{names.index('catalog/statefulset/catalog-mysql')}"
    ]
    assert cell[0]["port"] == "3306/TCP" and cell[0]["allowed"] == 0
    assert (
        "ui/allow-ui-egress spec.egress[0]: catalog/catalog-mysql-0 matches none of its 2 peer(s)"
        in cell[0]["explain"]
    )


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian package chromium)")
def test_chromium_renders_the_expected_cells(report: Path, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    subprocess.run(
        [*common, "--window-size=1400,1600", f"--screenshot={shot}", report.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000
    dom = subprocess.run(
        [*common, "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    found = re.findall(r'data-from="([^"]+)" data-to="([^"]+)" data-state="(\w+)"', dom)
    cells = {(a, b): state for a, b, state in found}
    assert len(cells) == 100  # 10 × 10 workloads, drawn by the page's script
    assert cells[("ui/deployment/ui", "catalog/deployment/catalog")] == "all"
    assert cells[("ui/deployment/ui", "catalog/statefulset/catalog-mysql")] == "no"
    assert cells[("catalog/deployment/catalog", "ui/deployment/ui")] == "all"
    assert cells[("ui/deployment/ui", "ui/deployment/ui")] == "loopback"  # one pod: itself only
