"""Whole-cluster analysis at scale: netfence against its targets and against NCA.

For each size (pods / policies) the script generates a deterministic cluster
(bench/synth.py, into --data-dir, reused when already there), then measures in
a fresh child process (so peak memory is the child's own):

- load: JSON file -> cluster model;
- full analysis: ClusterAnalysis, CPU and wall (median of --repeat runs);
- one policy change: IncrementalAnalysis.apply (median over 20 changes),
  verified against a fresh analysis of the changed policy set;
- check: one connection explained after load (median of 50);
- peak RSS of the child.

End to end (--e2e-sizes): whole `netfence matrix --summary -o json` processes
from JSON and from YAML, CPU (the child's own rusage, os.wait4), wall and peak
RSS, interleaved --e2e-repeat times with the in-run baseline: a process that
only runs `json.load` on the same file (the decoding floor). Ratios are printed
against it, and scaling exponents (t ~ n^k) between the sizes measured.

500k pods / 50k policies (--with-500k) takes minutes and up to 8 GB: its JSON
file (480 MB) is within netfence's input limits (docs/limits.md: 1 GiB a file),
so it runs through the real command like every other size; it has no YAML run.

With cluster-wide policies (--tier-sizes, default 20k and 100k): the same
cluster with pods/500 guardrails (bench/synth.py --cluster-policies) is analysed
in one child process with its tiers and without them (the same NetworkPolicies),
interleaved --repeat times: CPU and wall of each, and their ratio; 20
NetworkPolicy changes with the tiers (IncrementalAnalysis.apply, verified against
a fresh analysis) and 10 changes of a cluster-wide policy (apply_cluster_policy,
verified likewise), wall and CPU, narrow ones (touching at most 1% of the
classes) and wide ones apart, each against the full analysis with tiers of the
same child.

At --nca-sizes, network-config-analyzer's `--connectivity` runs on the same file
in its own virtual environment (bench/nca.py), twice: its cheaper pair output
(`-o txt_no_fw_rules`, parsed and compared with netfence's answer port class by
port class) and its full command (`-o csv`, minimised rules); each against
netfence's whole process (median of --e2e-repeat).

    python bench/scale.py                                  # 1k..100k, NCA at 5k
    python bench/scale.py --sizes 20k,100k --with-500k --data-dir /tmp/nf-data
    python bench/scale.py --sizes 1k,20k --nca-sizes '' --e2e-sizes 20k
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
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

SIZES = {
    "1k": (1_000, 100),
    "5k": (5_000, 500),
    "20k": (20_000, 2_000),
    "100k": (100_000, 10_000),
    "500k": (500_000, 50_000),
}
TARGETS = {  # issue 11, seconds / GB
    "20k": {"analysis_cpu": 0.4, "e2e_json_cpu": 1.5},
    "100k": {
        "analysis_cpu": 2.0,
        "e2e_json_cpu": 6.0,
        "e2e_yaml_cpu": 12.0,
        "e2e_json_peak_gb": 1.5,
        "update": 0.100,
        "check": 0.001,
    },
    "500k": {"e2e_json_wall": 90.0, "e2e_json_peak_gb": 8.0, "update": 0.100, "check": 0.001},
}
TIER_RATIO = 1.5  # issue 12: the analysis with tiers within 1.5 x of without
NARROW = 0.01  # a cluster-wide change touching at most 1% of the classes is narrow
NCA_TARGETS = {"csv": 500.0, "txt_no_fw_rules": 300.0}  # NCA / netfence, whole processes
JSON_FLOOR = "import json, sys; json.load(open(sys.argv[1], 'rb'))"


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
    runs, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        analysis = ClusterAnalysis(cluster, compiled)
        runs.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    out["analysis_s"] = statistics.median(runs)
    out["analysis_cpu_s"] = statistics.median(cpu)
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
    tiers = incremental.analysis.tiers  # the cluster-wide policies analysed, if any
    fresh = analysis_cls(fresh_cluster, compile_policies(fresh_cluster.policies))
    if tiers:
        fresh = analysis_cls(
            fresh_cluster,
            compile_policies(fresh_cluster.policies, fresh_cluster.cluster_policies),
        )
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


def tier_child(path: str, repeat: int) -> dict[str, Any]:
    """Runs in its own process: the analysis of one tiered cluster with and without
    its cluster-wide policies, interleaved; updates with them."""
    from netfence.analysis.scale.incremental import IncrementalAnalysis
    from netfence.analysis.scale.summary import ClusterAnalysis
    from netfence.compile import compile_policies
    from netfence.io.cluster import load_cluster

    cluster = load_cluster([path]).cluster
    plain = compile_policies(cluster.policies)
    tiered = compile_policies(cluster.policies, cluster.cluster_policies)
    runs: dict[str, list[tuple[float, float]]] = {"without": [], "with": []}
    for _ in range(repeat):
        for name, compiled in (("without", plain), ("with", tiered)):
            start, start_cpu = time.perf_counter(), time.process_time()
            analysis = ClusterAnalysis(cluster, compiled)
            runs[name].append((time.process_time() - start_cpu, time.perf_counter() - start))
    out: dict[str, Any] = {"cluster_policies": len(cluster.cluster_policies)}
    for name, measured in runs.items():
        out[f"{name}_cpu_s"] = statistics.median(c for c, _ in measured)
        out[f"{name}_wall_s"] = statistics.median(w for _, w in measured)
    out["classes"] = analysis.table.size
    out.update(_updates(cluster, analysis, IncrementalAnalysis, ClusterAnalysis, compile_policies))
    out.update(_tier_updates(cluster, IncrementalAnalysis, ClusterAnalysis, compile_policies))
    out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    return out


def _tier_updates(
    cluster: Any, incremental_cls: Any, analysis_cls: Any, compile_policies: Any
) -> dict[str, Any]:
    """10 cluster-wide changes (a guardrail with its first rule less), on a fresh
    tiered analysis, then checked against a fresh analysis of the changed set."""
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    incremental = incremental_cls(analysis_cls(cluster, compiled))
    tiers = {p.key: p for p in incremental.cluster_policies.values()}
    chosen = random.Random(5).sample(list(tiers), min(10, len(tiers)))
    times, modes, cpu, touched = [], [], [], []
    for key in chosen:
        p = tiers[key]
        field = "ingress" if p.ingress else "egress"
        changed = dataclasses.replace(p, **{field: getattr(p, field)[1:]})
        start_cpu = time.process_time()
        report = incremental.apply_cluster_policy(changed)
        cpu.append(time.process_time() - start_cpu)
        tiers[key] = changed
        times.append(report.seconds)
        modes.append(report.mode.value)
        touched.append(report.classes_touched)
    final = dataclasses.replace(cluster, cluster_policies=tuple(tiers.values()))
    fresh = analysis_cls(final, compile_policies(final.policies, final.cluster_policies))
    mine = incremental.analysis
    verified = all(
        fresh.allowed_pairs(q)
        == mine.allowed_pairs(mine.ports.class_of(pc.protocol, pc.representative))
        for q, pc in enumerate(fresh.ports.classes)
    )
    size = mine.table.size
    narrow = [c for c, n in zip(cpu, touched, strict=True) if n <= size * NARROW]
    wide = [c for c, n in zip(cpu, touched, strict=True) if n > size * NARROW]
    return {
        "tier_update_s": statistics.median(times),
        "tier_update_max_s": max(times),
        "tier_update_cpu_s": statistics.median(cpu),
        "tier_update_cpu_max_s": max(cpu),
        "tier_update_narrow_cpu_s": statistics.median(narrow) if narrow else None,
        "tier_update_narrow_cpu_max_s": max(narrow) if narrow else None,
        "tier_update_wide_cpu_s": statistics.median(wide) if wide else None,
        "tier_update_wide_cpu_max_s": max(wide) if wide else None,
        "tier_update_touched": touched,
        "tier_update_modes": sorted(set(modes)),
        "tier_update_verified": verified,
    }


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


@dataclasses.dataclass(frozen=True)
class Process:
    cpu_s: float  # the child's user + system time (its own rusage, os.wait4)
    wall_s: float
    peak_gb: float
    out: str
    status: int  # exit code; negative: killed by that signal
    err_tail: str  # the end of stderr (diagnostics repeated by the thousand cut)


def measure(argv: list[str]) -> Process:
    """Run one whole process; its own CPU time, wall time, peak RSS and exit code."""
    with tempfile.TemporaryFile() as sink, tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=sink, stderr=errors)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        sink.seek(0)
        out = sink.read().decode()
        errors.seek(0)
        err_lines = errors.read().decode(errors="replace").splitlines()
    code = os.waitstatus_to_exitcode(status)
    tail = "\n".join(err_lines[-5:])
    cpu = usage.ru_utime + usage.ru_stime
    return Process(cpu, wall, usage.ru_maxrss / 2**20, out, code, tail)


def summary_argv(path: Path) -> list[str]:
    """`netfence matrix --summary -o json -f PATH` as a whole process."""
    return [sys.executable, "-m", "netfence", "matrix", "--summary", "-o", "json", "-f", str(path)]


def end_to_end(json_path: Path, yaml_path: Path | None, repeat: int) -> dict[str, Any]:
    """Interleaved: the json.load floor, the summary from JSON, from YAML."""
    runs: dict[str, list[Process]] = {"floor": [], "e2e_json": [], "e2e_yaml": []}
    for _ in range(repeat):
        runs["floor"].append(measure([sys.executable, "-c", JSON_FLOOR, str(json_path)]))
        runs["e2e_json"].append(measure(summary_argv(json_path)))
        if yaml_path is not None:
            runs["e2e_yaml"].append(measure(summary_argv(yaml_path)))
    out: dict[str, Any] = {"e2e_repeat": repeat}
    failed = [p for p in runs["e2e_json"] + runs["e2e_yaml"] if p.status != 0]
    out["e2e_failures"] = [f"exit {p.status}: {p.err_tail}" for p in failed]
    for name, measured in runs.items():
        if measured:
            out[f"{name}_cpu"] = statistics.median(p.cpu_s for p in measured)
            out[f"{name}_wall"] = statistics.median(p.wall_s for p in measured)
            out[f"{name}_peak_gb"] = max(p.peak_gb for p in measured)
    answers = {_without_sources(p.out) for p in runs["e2e_json"] + runs["e2e_yaml"] if p.out}
    out["e2e_same_answer"] = len(answers) == 1
    return out


def _without_sources(out: str) -> str:
    """The summary's answer, without the input description (file names differ)."""
    data = json.loads(out)
    data.pop("input", None)
    return json.dumps(data, sort_keys=True)


def exponent(small: float, large: float, n_small: int, n_large: int) -> float:
    """k in t ~ n^k between two sizes."""
    return math.log(large / small) / math.log(n_large / n_small)


def data_file(data_dir: Path, size: str, fmt: str, tiers: bool = False) -> Path:
    """The synth cluster of ``size`` in ``fmt`` (``tiers``: with pods/500
    cluster-wide guardrails), generated unless already there."""
    from bench.synth import generate, write

    path = data_dir / (f"{size}-tiers.{fmt}" if tiers else f"{size}.{fmt}")
    if not path.exists():
        pods, policies = SIZES[size]
        write(generate(pods, policies, seed=1, cluster_policies=tier_count(pods) if tiers else 0),
              str(path), fmt)  # fmt: skip
    return path


def tier_count(pods: int) -> int:
    """Cluster-wide guardrails for a cluster of ``pods``: one per 500 pods, at least 8."""
    return max(8, pods // 500)


def main() -> None:
    parser = argparse.ArgumentParser(description="netfence whole-cluster benchmark")
    parser.add_argument("--sizes", default="1k,5k,20k,100k")
    parser.add_argument("--with-500k", action="store_true", help="add 500k (minutes, up to ~8 GB)")
    parser.add_argument("--e2e-sizes", default="20k,100k")
    parser.add_argument("--e2e-repeat", type=int, default=3)
    parser.add_argument("--e2e-repeat-500k", type=int, default=1)
    parser.add_argument("--nca-sizes", default="5k")
    parser.add_argument("--tier-sizes", default="20k,100k", help="with and without tiers")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--nca-timeout", type=float, default=1800)
    parser.add_argument("--data-dir", type=Path, help="where the clusters are (generated once)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path = args.child
        measured = {"json": child, "tiers": tier_child}
        if kind in measured:
            print(json.dumps(measured[kind](path, args.repeat)))
        else:
            print(json.dumps(yaml_end_to_end(path)))
        return
    sizes = [s for s in args.sizes.split(",") if s] + (["500k"] if args.with_500k else [])
    e2e_sizes = set(args.e2e_sizes.split(",")) | ({"500k"} if args.with_500k else set())
    with tempfile.TemporaryDirectory(prefix="netfence-bench-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        data_dir.mkdir(parents=True, exist_ok=True)
        results = run_sizes(sizes, e2e_sizes, data_dir, args)
        _print_scaling(results)
    print(json.dumps(results, indent=2), file=sys.stderr)


def run_sizes(
    sizes: list[str], e2e_sizes: set[str], data_dir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for size in sizes:
        largest = size == "500k"
        json_path = data_file(data_dir, size, "json")
        row = run_child("--child", "json", str(json_path), "--repeat", str(args.repeat))
        if size in e2e_sizes:
            yaml_path = None if largest else data_file(data_dir, size, "yaml")
            repeat = args.e2e_repeat_500k if largest else args.e2e_repeat
            row.update(end_to_end(json_path, yaml_path, repeat))
        if size in args.nca_sizes.split(","):
            row.update(_nca(json_path, args.nca_timeout, args.e2e_repeat))
        results[size] = row
        _print_row(size, row)
    for size in [s for s in args.tier_sizes.split(",") if s]:
        tiered = data_file(data_dir, size, "json", tiers=True)
        row = run_child("--child", "tiers", str(tiered), "--repeat", str(args.repeat))
        results[f"{size}-tiers"] = row
        _print_tiers(size, row)
    return results


def _print_tiers(size: str, row: dict[str, Any]) -> None:
    pods, policies = SIZES[size]
    ratio_cpu = row["with_cpu_s"] / row["without_cpu_s"]
    ratio_wall = row["with_wall_s"] / row["without_wall_s"]
    verdict = "met" if ratio_cpu <= TIER_RATIO else "MISSED"
    modes = "/".join(row["update_modes"])
    print(
        "\n".join([
            f"\n== {pods:,} pods / {policies:,} policies / {row['cluster_policies']} "
            f"cluster-wide policies: {row['classes']:,} classes",
            f"  analysis without tiers {row['without_cpu_s']:6.2f} s CPU, "
            f"{row['without_wall_s']:.2f} s wall",
            f"  analysis with tiers    {row['with_cpu_s']:6.2f} s CPU, "
            f"{row['with_wall_s']:.2f} s wall",
            f"  with / without         {ratio_cpu:6.2f} x CPU, {ratio_wall:.2f} x wall "
            f"(target {TIER_RATIO} x: {verdict})",
            f"  one NetworkPolicy change {row['update_s'] * 1000:6.1f} ms (median of 20, max "
            f"{row['update_max_s'] * 1000:.1f} ms, {modes}, verified: {row['update_verified']})",
            f"  one cluster-wide change  {row['tier_update_s'] * 1000:6.1f} ms (median of 10, max "
            f"{row['tier_update_max_s'] * 1000:.1f} ms, {'/'.join(row['tier_update_modes'])}, "
            f"verified: {row['tier_update_verified']})",
            *_tier_change_lines(row),
            f"  peak memory            {row['peak_rss_gb']:6.2f} GB",
        ]),
        flush=True,
    )  # fmt: skip


def _tier_change_lines(row: dict[str, Any]) -> list[str]:
    """CPU of the cluster-wide changes, narrow and wide apart, and against the full
    analysis with tiers of the same run (what a change would cost without the
    incremental path)."""
    full = row["with_cpu_s"]
    lines = [
        f"    CPU {row['tier_update_cpu_s'] * 1000:6.1f} ms median, max "
        f"{row['tier_update_cpu_max_s'] * 1000:.1f} ms "
        f"({row['tier_update_cpu_s'] / full:.3f} x the full analysis with tiers)"
    ]
    for kind in ("narrow", "wide"):
        median = row.get(f"tier_update_{kind}_cpu_s")
        if median is not None:
            most = row[f"tier_update_{kind}_cpu_max_s"]
            lines.append(
                f"    {kind:6s} CPU {median * 1000:6.1f} ms median, max {most * 1000:.1f} ms "
                f"({median / full:.3f} x the full analysis)"
            )
    return lines


def _nca(path: Path, timeout: float, repeat: int) -> dict[str, Any]:
    """NCA (both commands) and netfence on the same file, whole processes, and the
    answers compared port class by port class. Owners are stripped first: NCA keeps
    only two pods per (namespace, owner, labels) otherwise; owners play no part in
    NetworkPolicy semantics."""
    from bench import nca

    stripped = nca.strip_owner_references(path, path.with_name(path.stem + "-no-owners.json"))
    ours = [measure(summary_argv(stripped)) for _ in range(repeat)]
    if any(p.status != 0 for p in ours):
        raise RuntimeError(f"netfence failed on {stripped}: {ours[0].err_tail}")
    wall = statistics.median(p.wall_s for p in ours)
    cpu = statistics.median(p.cpu_s for p in ours)
    out: dict[str, Any] = {"netfence_wall_s": wall, "netfence_cpu_s": cpu}
    for fmt in ("txt_no_fw_rules", "csv"):
        result = nca.run_nca_connectivity(stripped, timeout, output_format=fmt)
        row: dict[str, Any] = {"wall_s": result.wall_s, "cpu_s": result.cpu_s, "ok": result.ok}
        row["peak_gb"] = (result.peak_rss_bytes or 0) / 2**30
        if result.ok:
            row["ratio_wall"] = result.wall_s / wall
            row["ratio_cpu"] = result.cpu_s / cpu
        if result.ok and fmt == "txt_no_fw_rules":
            counts = nca.compare_port_class_counts(result.connections, json.loads(ours[0].out))
            row["same_answer"] = all(c.netfence == c.nca for c in counts)
            row["port_classes_compared"] = len(counts)
        out[f"nca_{fmt}"] = row
    return out


def _print_row(size: str, row: dict[str, Any]) -> None:
    pods, policies = SIZES[size]
    modes = "/".join(row["update_modes"])
    lines = [
        f"\n== {pods:,} pods / {policies:,} policies: "
        f"{row['classes']:,} classes, {row['port_classes']} port classes",
        f"  load JSON          {row['load_s']:8.2f} s",
        f"  full analysis      {row['analysis_cpu_s']:8.2f} s CPU, {row['analysis_s']:.2f} s wall "
        f"(median of {len(row['analysis_runs'])})",
        f"  one policy change  {row['update_s'] * 1000:8.1f} ms  (median of 20, "
        f"max {row['update_max_s'] * 1000:.1f} ms, {modes}, verified: {row['update_verified']})",
        f"  check after load   {row['check_s'] * 1000:8.3f} ms  (median of 50)",
        f"  peak memory        {row['peak_rss_gb']:8.2f} GB  (the measuring child)",
    ]
    lines += _e2e_lines(row)
    lines += _nca_lines(row)
    lines += _target_lines(size, row)
    print("\n".join(lines), flush=True)


def _e2e_lines(row: dict[str, Any]) -> list[str]:
    if "e2e_json_cpu" not in row:
        return []
    floor = row["floor_cpu"]
    lines = [
        f"  json.load floor    {floor:8.2f} s CPU, {row['floor_wall']:.2f} s wall, "
        f"{row['floor_peak_gb']:.2f} GB (median of {row['e2e_repeat']})"
    ]
    for name, label in (("e2e_json", "summary from JSON"), ("e2e_yaml", "summary from YAML")):
        if f"{name}_cpu" in row:
            lines.append(
                f"  {label:<18} {row[f'{name}_cpu']:8.2f} s CPU, {row[f'{name}_wall']:.2f} s wall, "
                f"{row[f'{name}_peak_gb']:.2f} GB peak, {row[f'{name}_cpu'] / floor:.1f} x floor"
            )
    lines.append(f"  same answer        {row['e2e_same_answer']} (every process, JSON and YAML)")
    lines += [f"  FAILED: {failure}" for failure in row["e2e_failures"]]
    return lines


def _nca_lines(row: dict[str, Any]) -> list[str]:
    if "netfence_wall_s" not in row:
        return []
    lines = [
        f"  netfence process   {row['netfence_wall_s']:8.3f} s wall, "
        f"{row['netfence_cpu_s']:.3f} s CPU (matrix --summary, owners stripped, median)"
    ]
    for fmt in ("txt_no_fw_rules", "csv"):
        nca = row[f"nca_{fmt}"]
        text = f"  NCA -o {fmt:<15} {nca['wall_s']:6.1f} s wall, {nca['cpu_s']:.1f} s CPU"
        text += f", ok={nca['ok']}"
        if nca.get("ratio_wall"):
            target = NCA_TARGETS[fmt]
            verdict = "met" if nca["ratio_wall"] >= target else "MISSED"
            text += (
                f"; NCA/netfence {nca['ratio_wall']:.0f} x wall, {nca['ratio_cpu']:.0f} x CPU "
                f"(target {target:.0f} x: {verdict})"
            )
        if "same_answer" in nca:
            text += f"; same answer: {nca['same_answer']} ({nca['port_classes_compared']} classes)"
        lines.append(text)
    return lines


def _target_lines(size: str, row: dict[str, Any]) -> list[str]:
    measured = {
        "analysis_cpu": row["analysis_cpu_s"],
        "update": row["update_s"],
        "check": row["check_s"],
        **{k: row.get(k) for k in ("e2e_json_cpu", "e2e_yaml_cpu", "e2e_json_wall")},
        "e2e_json_peak_gb": row.get("e2e_json_peak_gb"),
    }
    lines = []
    for name, limit in TARGETS.get(size, {}).items():
        value = measured[name]
        if value is not None:
            verdict = "met" if value <= limit else "MISSED"
            lines.append(f"  target {name:<16} {verdict}: {value:.3f} vs {limit}")
    return lines


def _print_scaling(results: dict[str, Any]) -> None:
    """Exponents k (t ~ n^k) between consecutive sizes measured, from 20k up."""
    measured = [s for s in SIZES if s in results and SIZES[s][0] >= 20_000]
    if len(measured) < 2:
        return
    print("\n== scaling exponents (1.0 is linear)")
    keys = [
        ("analysis_cpu_s", "analysis CPU"),
        ("peak_rss_gb", "child peak RSS"),
        ("e2e_json_cpu", "summary from JSON, CPU"),
        ("e2e_json_wall", "summary from JSON, wall"),
        ("e2e_json_peak_gb", "summary from JSON, peak RSS"),
    ]
    for small, large in itertools.pairwise(measured):
        n1, n2 = SIZES[small][0], SIZES[large][0]
        parts = [
            f"{label} {exponent(results[small][k], results[large][k], n1, n2):.2f}"
            for k, label in keys
            if k in results[small] and k in results[large]
        ]
        print(f"  {small} -> {large}: " + ", ".join(parts))


if __name__ == "__main__":
    main()
