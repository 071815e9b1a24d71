"""What audit mode adds to an agent's sync: the audit table (nft/audit.py) compiled
beside the enforced one (docs/agent.md, "Audit mode").

bench/synth.py's cluster (one JSON file a namespace), one node's agent
(``Agent`` with a DirectorySource and an applier that records instead of calling
nft), in a child process each run, without audit mode (the baseline) and with it
(``--candidates``: a directory of one staged deny-all policy), interleaved,
``--runs`` times each. Each child measures, in CPU (time.process_time) and wall
time: the cold sync (a new agent), and a warm sync after one policy changed
(a rule dropped). Printed: the medians, the ratio audit / baseline, and each
child's peak RSS.

    python bench/audit.py [--pods 20000] [--policies 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

Obj = dict[str, Any]
DENY_ALL = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: staged-deny-all, namespace: %s}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
"""


def write_cluster(objects: list[Obj], root: Path) -> tuple[str, str]:
    """One file a namespace; returns (node to run for, a namespace with a policy)."""
    by_ns: dict[str, list[Obj]] = {}
    for obj in objects:
        ns = obj["metadata"].get("namespace") or obj["metadata"]["name"]
        by_ns.setdefault(ns, []).append(obj)
    for ns, items in by_ns.items():
        (root / f"{ns}.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                      "items": items}))  # fmt: skip
    node = next(o["spec"]["nodeName"] for o in objects if o["kind"] == "Pod")
    policy_ns = next(o["metadata"]["namespace"] for o in objects if o["kind"] == "NetworkPolicy")
    return node, policy_ns


def child(root: str, node: str, policy_ns: str, candidates: str | None) -> None:
    """One agent's cold and warm sync; prints JSON."""
    from netfence.agent.agent import Agent
    from netfence.agent.audit import AuditOptions, Auditor, AuditSelection
    from netfence.agent.sources import DirectorySource

    class Recording:
        def apply(self, ruleset: str) -> None:
            self.last = ruleset

    audit = None
    if candidates is not None:
        staged = DirectorySource(candidates)
        audit = Auditor(AuditOptions(), AuditSelection(), Recording(), node, staged)
    agent = Agent(DirectorySource(root), Recording(), node=node, audit=audit)
    out = {}
    cpu, wall = time.process_time(), time.perf_counter()
    agent.sync()
    out["cold"] = (time.process_time() - cpu, time.perf_counter() - wall)
    path = Path(root) / f"{policy_ns}.json"
    listing = json.loads(path.read_text())
    policy = next(o for o in listing["items"] if o["kind"] == "NetworkPolicy")
    for field in ("ingress", "egress"):
        if policy["spec"].get(field):
            policy["spec"][field] = policy["spec"][field][1:]
            break
    else:
        policy["spec"]["ingress"] = [{}]
    path.write_text(json.dumps(listing))
    cpu, wall = time.process_time(), time.perf_counter()
    agent.sync()
    out["warm"] = (time.process_time() - cpu, time.perf_counter() - wall)
    if audit is not None:
        assert audit.stats.failures == 0 and audit._current is not None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"times": out, "rss_mib": rss}))


def run_child(args: list[str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", *args],
                          capture_output=True, text=True, check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--policies", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        root, node, policy_ns, candidates = args.child
        child(root, node, policy_ns, None if candidates == "-" else candidates)
        return
    from bench.synth import generate

    objects = generate(args.pods, args.policies, args.seed)
    results: dict[str, list[dict[str, Any]]] = {"baseline": [], "audit": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for kind in ("baseline", "audit"):  # interleaved
                root = Path(tmp) / f"{kind}-{run}"
                root.mkdir()
                node, policy_ns = write_cluster(objects, root)
                staged = "-"
                if kind == "audit":
                    (Path(tmp) / f"staged-{run}").mkdir()
                    staged = str(Path(tmp) / f"staged-{run}")
                    Path(staged, "deny.yaml").write_text(DENY_ALL % policy_ns)
                results[kind].append(run_child([str(root), node, policy_ns, staged]))
    print(f"{args.pods:,} pods, {args.policies:,} policies, {args.runs} runs each, medians")
    print(f"{'sync':<6} {'baseline cpu/wall s':>20} {'audit cpu/wall s':>18} {'ratio cpu':>10}")
    for sync in ("cold", "warm"):
        base = [statistics.median(r["times"][sync][i] for r in results["baseline"]) for i in (0, 1)]
        audit = [statistics.median(r["times"][sync][i] for r in results["audit"]) for i in (0, 1)]
        print(f"{sync:<6} {base[0]:>9.3f}/{base[1]:<10.3f} {audit[0]:>8.3f}/{audit[1]:<9.3f}"
              f" {audit[0] / base[0]:>10.2f}")  # fmt: skip
    for kind, rows in results.items():
        print(f"peak RSS {kind}: {max(r['rss_mib'] for r in rows):.0f} MiB")


if __name__ == "__main__":
    main()
