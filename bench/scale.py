"""Whole-cluster analysis at scale: netfence against its targets and against NCA.

For each size (pods / policies) the script generates a deterministic cluster
(bench/synth.py), then measures in a fresh child process (so peak memory is
the child's own):

- load: JSON file → cluster model (and, at 20k, YAML end to end);
- full analysis: ClusterAnalysis (median of --repeat runs);
- one policy change: IncrementalAnalysis.apply (median over 20 changes),
  verified against a fresh analysis of the changed policy set;
- check: one connection explained after load (median of 50);
- peak RSS of the child.

At the sizes it can finish (--nca-sizes), network-config-analyzer's
`--connectivity` runs on the same file in its own virtual environment
(bench/nca.py); the script prints its time and the ratio to netfence's.

    python bench/scale.py                      # all sizes, NCA at 1k and 5k
    python bench/scale.py --sizes 1k,20k --nca-sizes ''
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH.parent / "src"))

SIZES = {"1k": (1_000, 100), "5k": (5_000, 500), "20k": (20_000, 2_000), "100k": (100_000, 10_000)}
TARGETS = {  # issue 3, seconds
    "20k": {"analysis": 2.0, "e2e_yaml": 10.0},
    "100k": {"analysis": 20.0, "update": 0.100, "check": 0.010, "peak_gb": 8.0},
}


def child(path: str, repeat: int) -> dict[str, Any]:
    """Runs in its own process: every netfence measurement on one file."""
    from netfence.analysis.scale.incremental import IncrementalAnalysis
    from netfence.analysis.scale.summary import ClusterAnalysis
    from netfence.compile import compile_policies
    from netfence.io.cluster import load_cluster

    out: dict[str, Any] = {}
    start = time.perf_counter()
    cluster = load_cluster([path]).cluster
    out["load_s"] = time.perf_counter() - start
    start = time.perf_counter()
    compiled = compile_policies(cluster.policies)
    out["compile_s"] = time.perf_counter() - start
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        analysis = ClusterAnalysis(cluster, compiled)
        runs.append(time.perf_counter() - start)
    out["analysis_s"] = statistics.median(runs)
    out["analysis_runs"] = runs
    out["classes"] = analysis.table.size
    out["port_classes"] = len(analysis.ports.classes)
    summary = analysis.summary()
    out["allowed_pairs"] = sum(pc.allowed_pairs for pc in summary.port_classes)
    out.update(_updates(cluster, analysis, IncrementalAnalysis, ClusterAnalysis, compile_policies))
    out["check_s"] = _checks(cluster, compiled)
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    return out


def _updates(
    cluster: Any, analysis: Any, incremental_cls: Any, analysis_cls: Any, compile_policies: Any
) -> dict[str, Any]:
    """20 single-policy changes: drop one rule of a policy (same ports and blocks)."""
    incremental = incremental_cls(analysis)
    policies = {p.key: p for p in cluster.policies}
    chosen = random.Random(7).sample(list(policies), min(20, len(policies)))
    times, modes = [], []
    for key in chosen:
        p = policies[key]
        changed = dataclasses.replace(p, ingress=p.ingress[1:], egress=p.egress[:-1])
        report = incremental.apply(changed)
        policies[key] = changed
        times.append(report.seconds)
        modes.append(report.mode.value)
    fresh_cluster = dataclasses.replace(cluster, policies=tuple(policies.values()))
    fresh = analysis_cls(fresh_cluster, compile_policies(fresh_cluster.policies))
    mine = incremental.analysis
    verified = all(  # port classes may be split finer after updates: compare by port
        fresh.allowed_pairs(q)
        == mine.allowed_pairs(mine.ports.class_of(pc.protocol, pc.representative))
        for q, pc in enumerate(fresh.ports.classes)
    )
    return {
        "update_s": statistics.median(times),
        "update_max_s": max(times),
        "update_modes": sorted(set(modes)),
        "update_verified": verified,
    }


def _checks(cluster: Any, compiled: Any) -> float:
    from netfence.engine.check import check
    from netfence.engine.targets import resolve_target

    rng = random.Random(11)
    pods = [p for p in cluster.pods if not p.host_network]
    times = []
    for _ in range(50):
        src, dst = rng.choice(pods), rng.choice(pods)
        start = time.perf_counter()
        source = resolve_target(src.key, cluster)
        destination = resolve_target(dst.key, cluster)
        check(compiled, cluster, source, destination, 8080, None)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def yaml_end_to_end(path: str) -> dict[str, Any]:
    from netfence.analysis.scale.summary import ClusterAnalysis
    from netfence.compile import compile_policies
    from netfence.io.cluster import load_cluster

    start = time.perf_counter()
    cluster = load_cluster([path]).cluster
    loaded = time.perf_counter() - start
    ClusterAnalysis(cluster, compile_policies(cluster.policies)).summary()
    return {"yaml_load_s": loaded, "e2e_yaml_s": time.perf_counter() - start}


def run_child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="netfence whole-cluster benchmark")
    parser.add_argument("--sizes", default="1k,5k,20k,100k")
    parser.add_argument("--nca-sizes", default="1k,5k")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nca-timeout", type=float, default=1800)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        print(json.dumps(child(path, args.repeat) if kind == "json" else yaml_end_to_end(path)))
        return
    from bench.synth import generate, write

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="netfence-bench-") as tmp:
        for size in args.sizes.split(","):
            pods, policies = SIZES[size]
            objects = generate(pods, policies, seed=1)
            json_path = Path(tmp) / f"{size}.json"
            write(objects, json_path, "json")
            row = run_child("--child", "json", str(json_path), "--repeat", str(args.repeat))
            if size == "20k":
                yaml_path = Path(tmp) / f"{size}.yaml"
                write(objects, yaml_path, "yaml")
                row.update(run_child("--child", "yaml", str(yaml_path)))
            if size in args.nca_sizes.split(","):
                row.update(_nca(json_path, args.nca_timeout, row))
            results[size] = row
            _print_row(size, row)
    print(json.dumps(results, indent=2), file=sys.stderr)


def _nca(path: Path, timeout: float, row: dict[str, Any]) -> dict[str, Any]:
    """NCA and netfence on the same file, both as whole processes, and the answers
    compared port class by port class. Owners are stripped first: NCA keeps only
    two pods per (namespace, owner, labels) otherwise; owners play no part in
    NetworkPolicy semantics."""
    from bench import nca

    stripped = nca.strip_owner_references(path, path.with_name(path.stem + "-no-owners.json"))
    result = nca.run_nca_connectivity(stripped, timeout, phases=True)
    start = time.perf_counter()
    argv = [sys.executable, "-m", "netfence", "matrix", "--summary", "-o", "json"]
    proc = subprocess.run([*argv, "-f", str(stripped)], capture_output=True, text=True, check=True)
    netfence_wall = time.perf_counter() - start
    out: dict[str, Any] = {
        "nca_s": result.wall_s,
        "nca_ok": result.ok,
        "netfence_wall_s": netfence_wall,
    }
    out["nca_peak_gb"] = (result.peak_rss_bytes or 0) / 2**30
    if result.ok:
        counts = nca.compare_port_class_counts(result.connections, json.loads(proc.stdout))
        out["same_answer"] = all(c.netfence == c.nca for c in counts)
        out["port_classes_compared"] = len(counts)
        out["nca_ratio_end_to_end"] = result.wall_s / netfence_wall
        phases = result.phases or {}
        nca_compute = phases.get("load_s", 0.0) + phases.get("connections_s", 0.0)
        ours = row["load_s"] + row["compile_s"] + row["analysis_s"]
        out["nca_ratio_load_and_analysis"] = nca_compute / ours if nca_compute else None
    return out


def _print_row(size: str, row: dict[str, Any]) -> None:
    pods, policies = SIZES[size]
    classes, port_classes = row["classes"], row["port_classes"]
    modes = "/".join(row["update_modes"])
    lines = [
        f"\n== {pods:,} pods / {policies:,} policies: "
        f"{classes:,} classes, {port_classes} port classes",
        f"  load JSON          {row['load_s']:8.2f} s",
        f"  full analysis      {row['analysis_s']:8.2f} s   "
        f"(median of {len(row['analysis_runs'])})",
        f"  one policy change  {row['update_s'] * 1000:8.1f} ms  (median of 20, "
        f"max {row['update_max_s'] * 1000:.1f} ms, {modes}, verified: {row['update_verified']})",
        f"  check after load   {row['check_s'] * 1000:8.2f} ms  (median of 50)",
        f"  peak memory        {row['peak_rss_gb']:8.2f} GB",
    ]
    if "e2e_yaml_s" in row:
        lines.append(
            f"  end to end (YAML)  {row['e2e_yaml_s']:8.2f} s   (load {row['yaml_load_s']:.2f} s)"
        )
    if "nca_s" in row:
        lines.append(
            f"  NCA --connectivity {row['nca_s']:8.2f} s   "
            f"peak {row['nca_peak_gb']:.2f} GB, ok={row['nca_ok']}"
        )
    if row.get("nca_ratio_end_to_end"):
        lines.append(
            f"  netfence process   {row['netfence_wall_s']:8.2f} s   (matrix --summary, same file)"
        )
        same = f"{row['same_answer']} ({row['port_classes_compared']} port classes)"
        lines.append(f"  same answer        {same}")
        lines.append(
            f"  ratio NCA/netfence {row['nca_ratio_end_to_end']:8.0f} x whole processes, "
            f"{row['nca_ratio_load_and_analysis']:.0f} x load + analysis"
        )
    measured = {
        "analysis": row["analysis_s"],
        "e2e_yaml": row.get("e2e_yaml_s"),
        "update": row["update_s"],
        "check": row["check_s"],
        "peak_gb": row["peak_rss_gb"],
    }
    for name, limit in TARGETS.get(size, {}).items():
        value = measured[name]
        if value is not None:
            verdict = "met" if value < limit else "MISSED"
            lines.append(f"  target {name:<11} {verdict}: {value:.3f} vs {limit}")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
