"""The report at any size: past MAX_WORKLOADS workloads it aggregates by namespace.

The namespace counts come from the whole-cluster class analysis and the
drill-down cells from the class analysis restricted to one namespace pair; both
must equal what the engine gives pod pair by pod pair (the full report's cells,
summed by namespace), and the page must say it aggregates, stay bounded, and
render in a real browser."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import ROOT, SCENARIO, WORKSHOP_FINAL, run_cli
from tests.render.test_report import CHROMIUM, FLAGS

from netfence.analysis.aggregate import Count, _dense
from netfence.analysis.report import MAX_WORKLOADS, Limits, ReportData, report_data
from netfence.compile import compile_policies
from netfence.io.cluster import load_cluster
from netfence.model.cluster import Cluster
from netfence.render.report import report_html

sys.path.insert(0, str(ROOT))
from bench.synth import generate

UNBOUNDED = Limits(workloads=0, cells=10**9, pair=10**9, explained=10**9)


def _synth(tmp: Path, pods: int, policies: int, seed: int) -> Path:
    path = tmp / f"synth-{pods}-{seed}.json"
    path.write_text(json.dumps({"kind": "List", "items": generate(pods, policies, seed)}))
    return path


def _cluster(
    files: list[str], kustomizations: list[str] = (), namespace: str | None = None
) -> Cluster:  # type: ignore[assignment]
    built = load_cluster(files, kustomizations, namespace)
    return built.cluster


def _by_namespace(full: ReportData, names: tuple[str, ...]) -> dict[tuple[int, int], Count]:
    index = {n: i for i, n in enumerate(names)}
    sums: dict[tuple[int, int], list[int]] = {}
    for (i, j), ports in full.cells.items():
        key = (index[full.groups[i].namespace], index[full.groups[j].namespace])
        acc = sums.setdefault(key, [0, 0, 0])
        acc[0] += sum(p.allowed for p in ports)
        acc[1] += sum(p.total for p in ports)
        acc[2] += sum(p.loopback for p in ports)
    return {k: Count(*v) for k, v in sums.items() if v[1] or v[2]}


def _workshop() -> Cluster:
    args = WORKSHOP_FINAL
    files = [str(SCENARIO / a) for f, a in pairwise(args) if f == "-f"]
    return _cluster(files, [str(SCENARIO / "cluster")], "ui")


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Cluster]:
    tmp = tmp_path_factory.mktemp("synth")
    out = {"workshop": _workshop()}
    for seed in (1, 2):
        out[f"synth-{seed}"] = _cluster([str(_synth(tmp, 120, 30, seed))])
    return out


@pytest.mark.parametrize("name", ["workshop", "synth-1", "synth-2"])
def test_aggregated_counts_and_drill_down_equal_the_engine(
    name: str, clusters: dict[str, Cluster]
) -> None:
    cluster = clusters[name]
    compiled = compile_policies(cluster.policies)
    full = report_data(compiled, cluster, limits=Limits(workloads=10**6))
    agg = report_data(compiled, cluster, limits=UNBOUNDED).aggregated
    assert full.aggregated is None and agg is not None
    assert agg.counts == _by_namespace(full, agg.namespaces)
    assert any(c.allowed for c in agg.counts.values())
    assert any(c.allowed < c.total for c in agg.counts.values())
    index = {g.key: i for i, g in enumerate(full.groups)}
    compared = 0
    for (i, j), cells in agg.drill.items():
        for a, src in enumerate(agg.workloads[i]):
            for b, dst in enumerate(agg.workloads[j]):
                want = full.cells[(index[src.key], index[dst.key])]
                got = cells.get((a, b), ())
                assert [(p.port, p.allowed, p.total, p.loopback) for p in got] == [
                    (p.port, p.allowed, p.total, p.loopback) for p in want
                ], (src.key, dst.key)
                for p in got:  # the explanation is the engine's verdict on a pair it counts
                    assert p.example is not None
                    verdicts = {p.example.allowed} | (
                        set() if p.other is None else {p.other.allowed}
                    )
                    if p.total:
                        assert verdicts == {v for v in (True, False) if (v and p.allowed)
                                            or (not v and p.allowed < p.total)}  # fmt: skip
                compared += 1
    assert compared == len(full.cells)  # every pair embedded: the budget was unbounded


def test_the_page_embeds_within_its_budget_and_says_it_aggregates(
    clusters: dict[str, Cluster],
) -> None:
    cluster = clusters["synth-1"]
    compiled = compile_policies(cluster.policies)
    data = report_data(compiled, cluster, limits=Limits(workloads=0, cells=60))
    agg = data.aggregated
    assert agg is not None
    sizes = [len(agg.workloads[i]) * len(agg.workloads[j]) for i, j in agg.drill]
    assert sizes and sum(sizes) <= 60 and len(agg.drill) < len(agg.counts)
    page = report_html(data)
    assert "Aggregated by namespace." in page
    embedded = json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S).group(1)
    )
    assert set(embedded["drill"]) == {f"{i},{j}" for i, j in agg.drill}
    assert {k: v for k, v in embedded["counts"].items()} == {
        f"{i},{j}": [c.allowed, c.total, c.loopback] for (i, j), c in agg.counts.items()
    }


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """More workloads than MAX_WORKLOADS: the CLI aggregates (before: refused past 400)."""
    tmp = tmp_path_factory.mktemp("big")
    source = _synth(tmp, 400, 60, 1)
    page = tmp / "report.html"
    result = run_cli("report", "-f", str(source), "-o", str(page))
    assert result.code == 0, result.err
    return source, page, result.out


def test_cli_aggregates_past_the_workload_limit(big_report: tuple[Path, Path, str]) -> None:
    _, page, out = big_report
    count = int(
        re.search(r"wrote \S+: ([\d,]+) workloads aggregated by namespace", out)
        .group(1)
        .replace(",", "")
    )
    assert count > MAX_WORKLOADS
    text = page.read_text()
    assert "Aggregated by namespace." in text
    assert not re.search(r"""(src|href)=["']https?:""", text)
    assert len(text.encode()) < 8_000_000


def test_namespace_filter_shows_one_namespace_by_workload(
    big_report: tuple[Path, Path, str], tmp_path: Path
) -> None:
    source, _, _ = big_report
    data = json.loads(source.read_text())
    namespace = next(o["metadata"]["namespace"] for o in data["items"] if o["kind"] == "Pod")
    page = tmp_path / "one.html"
    result = run_cli("report", "-f", str(source), "-o", str(page), "--namespace-filter", namespace)
    assert result.code == 0, result.err
    assert "aggregated" not in result.out
    text = page.read_text()
    assert f"Only namespaces {namespace} (--namespace-filter)" in text
    groups = json.loads(
        re.search(r'<script type="application/json" id="data">(.*?)</script>', text, re.S).group(1)
    )["groups"]
    assert groups and {g["namespace"] for g in groups} == {namespace}
    missing = run_cli("report", "-f", str(source), "-o", str(page), "--namespace-filter", "nope")
    assert missing.code == 2 and "no pod in namespace(s) nope" in missing.err


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian package chromium)")
def test_chromium_draws_namespaces_and_a_pair_s_workloads(
    big_report: tuple[Path, Path, str], tmp_path: Path
) -> None:
    _, page, _ = big_report
    embedded = json.loads(
        re.search(
            r'<script type="application/json" id="data">(.*?)</script>', page.read_text(), re.S
        ).group(1)
    )
    names = [n["name"] for n in embedded["ns"]]
    pair = next(k for k in embedded["drill"] if k.split(",")[0] == k.split(",")[1])
    i = int(pair.split(",")[0])
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         page.as_uri() + f"#pair={pair}"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    tables = re.findall(r'<table class="matrix" id="(\w+)">(.*?)</table>', dom, re.S)
    cells = {
        t: re.findall(r'data-from="([^"]+)" data-to="([^"]+)" data-state="(\w+)"', body)
        for t, body in tables
    }
    assert len(cells["nsmatrix"]) == len(names) ** 2
    drill = embedded["drill"][pair]
    assert len(cells["matrix"]) == len(drill["from"]) * len(drill["to"]) > 0
    assert {a for a, _, _ in cells["matrix"]} == set(drill["from"])
    assert all(a.startswith(names[i] + "/") for a, _, _ in cells["matrix"])
    states = {(a, b): s for a, b, s in cells["nsmatrix"]}
    assert states[(names[i], names[i])] in {"all", "no", "some", "loopback"}
    assert "explanation" in dom.lower()


@settings(max_examples=200, deadline=None)
@given(
    row=st.none() | st.sets(st.integers(0, 60), max_size=30).map(sorted),
    among=st.lists(st.integers(0, 70), max_size=30),
)
def test_dense_rows_by_binary_search_are_isin(row: list[int] | None, among: list[int]) -> None:
    """A row made dense by binary search (aggregate._dense) is np.isin's answer."""
    array = None if row is None else np.array(row, dtype=np.int64)
    wanted = np.array(among, dtype=np.int64)
    expected = np.ones(len(among), dtype=np.bool_) if array is None else np.isin(wanted, array)
    assert _dense(array, wanted).tolist() == expected.tolist()
