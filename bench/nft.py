"""nftables ruleset load time at 10k pods / 1k policies, against a baseline.

Generates a deterministic cluster (bench/synth.py), compiles one ruleset for
the whole cluster, and loads it with `nft -f` into fresh network namespaces
(never the host's), interleaving two variants:

- shared: netfence's ruleset (address sets keyed by content, shared by rules);
- naive:  the same ruleset with one set per rule (the baseline).

Prints compile time, size, element counts, median load times and the ratio.
A prototype measured 0.19 s for its own 10k/1k workload with shared sets
(shared/notes/dataplane.md); this workload differs, so compare the ratio.

    python bench/nft.py [--pods 10000] [--policies 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def load_seconds(path: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        ["unshare", "--net", "nft", "-f", str(path)], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[:2000])
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from bench.synth import generate
    from netfence.compile import compile_policies
    from netfence.model.diagnostics import Source
    from netfence.nft.compiler import NftOptions, node_ruleset
    from netfence.parse import RawDocument, build_cluster

    objects = generate(args.pods, args.policies, seed=1)
    cluster = build_cluster(
        [RawDocument(Source("synth", i), o) for i, o in enumerate(objects)]
    ).cluster
    compiled = compile_policies(cluster.policies)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="netfence-nft-") as tmp:
        for name, share in (("shared", True), ("naive", False)):
            start = time.perf_counter()
            ruleset = node_ruleset(compiled, cluster, options=NftOptions(share_sets=share))
            text = ruleset.render()
            compile_s = time.perf_counter() - start
            path = Path(tmp) / f"{name}.nft"
            path.write_text(text)
            elements = sum(len(s.elements) for s in ruleset.sets) + sum(
                len(m.elements) for m in ruleset.maps
            )
            rows[name] = {
                "path": path,
                "compile_s": compile_s,
                "bytes": len(text),
                "sets": len(ruleset.sets),
                "elements": elements,
                "chains": len(ruleset.chains),
                "loads": [],
            }
        for _ in range(args.runs):  # interleaved: both variants see the same machine state
            for row in rows.values():
                row["loads"].append(load_seconds(row["path"]))
    print(f"{args.pods:,} pods / {args.policies:,} policies, {args.runs} loads each, interleaved")
    header = ("variant", "compile s", "KB", "sets", "elements", "chains", "load s (median)")
    widths = (-8, 9, 7, 5, 9, 6, 16)
    print(
        " ".join(
            f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w in zip(header, widths, strict=True)
        )
    )
    for name, row in rows.items():
        print(
            f"{name:<8} {row['compile_s']:>9.2f} {row['bytes'] / 1024:>7.0f} {row['sets']:>5} "
            f"{row['elements']:>9} {row['chains']:>6} {statistics.median(row['loads']):>16.3f}"
        )
    ratio = statistics.median(rows["naive"]["loads"]) / statistics.median(rows["shared"]["loads"])
    print(f"naive / shared load time: {ratio:.1f}x")
    _per_node(cluster, compiled, args.runs)
    _updates(cluster, compiled, args.runs)


def _per_node(cluster: object, compiled: object, runs: int) -> None:
    """What one node's agent loads: its own pods in the maps (about 100 per node in
    bench/synth.py), every pod of the cluster in the peer sets."""
    from netfence.nft.compiler import node_ruleset

    nodes = sorted({p.node for p in cluster.pods if p.node})  # type: ignore[attr-defined]
    node = nodes[len(nodes) // 2]
    start = time.perf_counter()
    ruleset = node_ruleset(compiled, cluster, node)  # type: ignore[arg-type]
    compile_s = time.perf_counter() - start
    elements = sum(len(s.elements) for s in ruleset.sets) + sum(
        len(m.elements) for m in ruleset.maps
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "node.nft"
        path.write_text(ruleset.render())
        load = statistics.median(load_seconds(path) for _ in range(runs))
    print(f"one node of {len(nodes)} ({node}): compile {compile_s:.2f} s, {elements} elements, "
          f"{len(ruleset.chains)} chains, load {load:.3f} s (median of {runs})")  # fmt: skip


def _updates(cluster: object, compiled: object, runs: int) -> None:
    """One policy changed (its first rule dropped): the update script against a full
    replace, applied to a namespace holding the old table, interleaved."""
    import dataclasses
    import random

    from netfence.compile import compile_policies
    from netfence.nft.compiler import node_ruleset
    from netfence.nft.diff import update_script

    old = node_ruleset(compiled, cluster)  # type: ignore[arg-type]
    policies = list(cluster.policies)  # type: ignore[attr-defined]
    rng = random.Random(5)
    times: dict[str, list[float]] = {"update": [], "replace": []}
    compile_times = []
    for _ in range(runs):
        i = rng.randrange(len(policies))
        p = policies[i]
        changed = [
            *policies[:i],
            dataclasses.replace(p, ingress=p.ingress[1:], egress=p.egress[:-1]),
            *policies[i + 1 :],
        ]
        start = time.perf_counter()
        new = node_ruleset(
            compile_policies(changed), dataclasses.replace(cluster, policies=tuple(changed))
        )  # type: ignore[type-var]
        script = update_script(old, new) or ""
        compile_times.append(time.perf_counter() - start)
        for kind, text in (("update", script), ("replace", new.render())):
            times[kind].append(_timed_apply(old.render(), text))
    update, replace = (statistics.median(times[k]) * 1000 for k in ("update", "replace"))
    compile_s = statistics.median(compile_times)
    print(f"one policy changed ({runs} changes): compile + diff {compile_s:.2f} s")
    print(f"nft apply: update script {update:.1f} ms, full replace {replace:.1f} ms")


def _timed_apply(base: str, change: str) -> float:
    """Load ``base`` in a fresh namespace, then time applying ``change`` there."""
    script = (
        'nft -f "$0" && start=$(date +%s%N) && nft -f "$1" && echo $(( $(date +%s%N) - start ))'
    )
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "base.nft", Path(tmp) / "change.nft"
        a.write_text(base)
        b.write_text(change)
        proc = subprocess.run(
            ["unshare", "--net", "sh", "-c", script, str(a), str(b)],
            capture_output=True,
            text=True,
            check=True,
        )
    return int(proc.stdout.strip()) / 1e9


if __name__ == "__main__":
    main()
