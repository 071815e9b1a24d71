"""nftables ruleset load time at 10k pods / 1k policies, against baselines.

Two workloads, each compiled into one ruleset for the whole cluster (every pod
dispatched on one node) and loaded with `nft -f` into fresh network namespaces
(never the host's), all variants interleaved:

- prototype: the inventory of the dataplane prototype (docs/prototype.md,
  "Measurements") rebuilt by bench/prototype_workload.py, which loaded its ruleset
  in 0.19 s on this kind of machine (2 vCPU, Linux 6.18, nft 1.0.6);
- synth: bench/synth.py's busier multi-team cluster;
- synth+20 tiers: the same with 20 ClusterNetworkPolicies (bench/tier_policies.py),
  netfence's layout only, its ratio against synth's.

Variants:

- netfence: the ruleset the agent loads;
- prototype layout (baseline): the prototype's layout rebuilt over netfence's
  compiler: one chain per policy and direction, combination chains that jump to
  them, and an ``all_pods`` set checked first;
- one set per rule (baseline): netfence's layout without sets shared by content.

Then, on the synth workload: one node's ruleset, and one policy change applied
as an update script against a full replace.

    python bench/nft.py [--pods 10000] [--policies 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from netfence.compile import CompiledPolicySet, compile_policies
from netfence.compile.compiled import CompiledPolicy
from netfence.model.cluster import Cluster, Pod
from netfence.model.diagnostics import Source
from netfence.model.policy import Direction
from netfence.nft.compiler import (
    SHORT,
    ChainKey,
    NftOptions,
    NodeRulesetCompiler,
    digest,
    node_pods,
    node_ruleset,
)
from netfence.nft.model import Chain, NftSet, Ruleset
from netfence.parse import RawDocument, build_cluster

PROTOTYPE_LOAD_S = 0.19  # docs/prototype.md, "Measurements": "0.19-0.20 s (3 runs)"


class PrototypeLayout(NodeRulesetCompiler):
    """The prototype's ruleset layout (docs/prototype.md) over
    netfence's compiler and shared sets: per-policy chains that combination
    chains jump to, and an ``all_pods`` set that lets other traffic through first."""

    def __init__(self, compiled: CompiledPolicySet, cluster: Cluster) -> None:
        super().__init__(compiled, cluster, NftOptions())
        self.policy_chains: dict[str, Chain] = {}

    def combo_rules(self, policies: Sequence[CompiledPolicy], direction: Direction) -> ChainKey:
        jumps = []
        for policy in policies:
            name = f"{SHORT[direction]}_{digest(policy.policy.key)}"
            rules = self.policy_lines(policy, direction)
            self.policy_chains.setdefault(name, Chain(name, rules))
            jumps.append(f"jump {name}")
        return self.used_by((direction, (*jumps, self.options.deny_rule)), policies)

    def ruleset(self, pods: Sequence[Pod]) -> Ruleset:
        ruleset = super().ruleset(pods)
        addresses = sorted({str(ip) for p in self.cluster.pods if (ip := p.ip_of_version(4))})
        all_pods = NftSet("all_pods", "ipv4_addr", tuple(addresses))
        bases = [c for c in ruleset.chains if c.hook]
        first = ("ip saddr != @all_pods ip daddr != @all_pods accept", "ct state invalid drop")
        bases[0] = dataclasses.replace(
            bases[0], rules=(bases[0].rules[0], *first, *bases[0].rules[1:])
        )
        combos = [c for c in ruleset.chains if not c.hook]
        chains = (*bases, *self.policy_chains.values(), *combos)
        return dataclasses.replace(ruleset, sets=(*ruleset.sets, all_pods), chains=chains)


def load_seconds(path: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        ["unshare", "--net", "nft", "-f", str(path)], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[:2000])
    return elapsed


def cluster_of(objects: list[dict[str, Any]], name: str) -> Cluster:
    documents = [RawDocument(Source(name, i), o) for i, o in enumerate(objects)]
    return build_cluster(documents).cluster


def variants(cluster: Cluster) -> dict[str, Ruleset]:
    if cluster.cluster_policies:  # the tiers: netfence's layout only, against synth's
        tiered = compile_policies(cluster.policies, cluster.cluster_policies)
        return {"netfence": node_ruleset(tiered, cluster)}
    compiled = compile_policies(cluster.policies)
    everyone = node_pods(cluster, None)
    return {
        "netfence": node_ruleset(compiled, cluster),
        "prototype layout": PrototypeLayout(compiled, cluster).ruleset(everyone),
        "one set per rule": node_ruleset(compiled, cluster, options=NftOptions(share_sets=False)),
    }


def measure(
    workloads: dict[str, Cluster], runs: int, tmp: Path
) -> dict[tuple[str, str], dict[str, Any]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for workload, cluster in workloads.items():
        for variant, ruleset in variants(cluster).items():
            path = tmp / f"{workload}-{len(rows)}.nft"
            path.write_text(ruleset.render())
            rows[(workload, variant)] = {"path": path, "ruleset": ruleset, "loads": []}
    for _ in range(runs):  # interleaved: every variant sees the same machine state
        for row in rows.values():
            row["loads"].append(load_seconds(row["path"]))
    return rows


def print_rows(rows: dict[tuple[str, str], dict[str, Any]]) -> None:
    print(f"{'workload':<15} {'variant':<17} {'sets':>5} {'elements':>9} {'chains':>6} "
          f"{'rules':>6} {'KB':>6} {'load s':>7} {'ratio':>6}")  # fmt: skip
    for (workload, variant), row in rows.items():
        r: Ruleset = row["ruleset"]
        elements = sum(len(s.elements) for s in r.sets) + sum(len(m.elements) for m in r.maps)
        load = statistics.median(row["loads"])
        against = "synth" if workload == "synth+20 tiers" else workload
        mine = statistics.median(rows[(against, "netfence")]["loads"])
        print(f"{workload:<15} {variant:<17} {len(r.sets):>5} {elements:>9} {len(r.chains):>6} "
              f"{sum(len(c.rules) for c in r.chains):>6} {row['path'].stat().st_size / 1024:>6.0f} "
              f"{load:>7.3f} {load / mine:>5.2f}x")  # fmt: skip
    mine = statistics.median(rows[("prototype", "netfence")]["loads"])
    print(f"prototype workload: netfence {mine:.3f} s against the prototype's own "
          f"{PROTOTYPE_LOAD_S:.2f} s ({PROTOTYPE_LOAD_S / mine:.2f}x)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from bench import prototype_workload
    from bench.synth import generate
    from bench.tier_policies import tier_policies

    objects = generate(args.pods, args.policies, seed=1)
    workloads = {
        "prototype": cluster_of(prototype_workload.generate(), "prototype"),
        "synth": cluster_of(objects, "synth"),
        "synth+20 tiers": cluster_of(objects + tier_policies(objects, 20, seed=1), "tiers"),
    }
    print(
        f"whole-cluster rulesets, {args.runs} loads each, interleaved; ratio = load / "
        "netfence (synth+20 tiers: / synth's netfence)"
    )
    with tempfile.TemporaryDirectory(prefix="netfence-nft-") as tmp:
        print_rows(measure(workloads, args.runs, Path(tmp)))
    cluster = workloads["synth"]
    compiled = compile_policies(cluster.policies)
    node = _per_node(cluster, compiled, args.runs)
    _updates(cluster, compiled, args.runs)
    _updates(cluster, compiled, args.runs, node)


def _per_node(cluster: Cluster, compiled: CompiledPolicySet, runs: int) -> str:
    """What one node's agent loads: its own pods in the maps (about 100 per node in
    bench/synth.py), every pod of the cluster in the peer sets."""
    nodes = sorted({p.node for p in cluster.pods if p.node})
    node = nodes[len(nodes) // 2]
    start = time.perf_counter()
    ruleset = node_ruleset(compiled, cluster, node)
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
    return node


def _updates(
    cluster: Cluster, compiled: CompiledPolicySet, runs: int, node: str | None = None
) -> None:
    """One policy changed (its first rule dropped): the update script against a full
    replace, applied to a namespace holding the old table, interleaved. With
    ``node``, that node's ruleset, and policies that select one of its pods."""
    import random

    from netfence.nft.diff import update_script

    old = node_ruleset(compiled, cluster, node)
    policies = list(cluster.policies)
    local = {
        p.policy.key
        for pod in node_pods(cluster, node)
        for d in Direction
        for p in compiled.selecting(pod, d)
    }
    candidates = [i for i, p in enumerate(policies) if p.key in local]
    rng = random.Random(5)
    times: dict[str, list[float]] = {"update": [], "replace": []}
    compile_times = []
    for _ in range(runs):
        i = rng.choice(candidates)
        p = policies[i]
        changed = [
            *policies[:i],
            dataclasses.replace(p, ingress=p.ingress[1:], egress=p.egress[:-1]),
            *policies[i + 1 :],
        ]
        start = time.perf_counter()
        new = node_ruleset(
            compile_policies(changed), dataclasses.replace(cluster, policies=tuple(changed)), node
        )
        script = update_script(old, new) or ""
        compile_times.append(time.perf_counter() - start)
        for kind, text in (("update", script), ("replace", new.render())):
            times[kind].append(_timed_apply(old.render(), text))
    update, replace = (statistics.median(times[k]) * 1000 for k in ("update", "replace"))
    where = f"node {node}" if node else "whole cluster"
    print(f"{where}, one policy changed ({runs} changes): compile + diff "
          f"{statistics.median(compile_times):.2f} s; nft apply: update script {update:.1f} ms, "
          f"full replace {replace:.1f} ms")  # fmt: skip


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
