"""Dataplane cost: iperf3 throughput between two lab pods, with and without netfence's rules.

Also the rate of new connections: sequential TCP connect + close from ui to the
catalog pod (--connects per run), which pays the rules on every SYN; a connect
slower than 0.9 s counts as a stall (the dataplane notes saw ~1 s stalls and
suspected a `ct state invalid drop` rule, which netfence's ruleset does not have).

Builds the EKS lab (root), runs an iperf3 server in the catalog pod and a client
in the ui pod (another node), and alternates two conditions, interleaved so
that both see the same machine state:

- no rules: no netfence table in the node routers;
- rules:    the ruleset of default-deny + allow-ui-egress loaded in every node
            (the one the node agents compute; ui → catalog is allowed, so the
            flow goes through the dispatch maps and policy chains).

Prints each run, the medians and the ratio. The dataplane notes measured ±15 %
run-to-run variance on a 2-core machine: read the ratio with that in mind.

    sudo python bench/iperf.py [--runs 4] [--seconds 3] [--connects 3000]
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
SCENARIO = ROOT / "src" / "netfence" / "scenarios" / "eks-retail"
CONNECTS = """
import json, socket, sys, time
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
start = time.perf_counter()
for _ in range(count):
    t = time.perf_counter()
    with socket.create_connection((host, port), timeout=5):
        pass
    times.append(time.perf_counter() - t)
total = time.perf_counter() - start
times.sort()
print(json.dumps({"per_s": count / total, "median_us": times[count // 2] * 1e6,
                  "p99_ms": times[int(count * 0.99)] * 1000,
                  "stalls": sum(t > 0.9 for t in times)}))
"""


def rulesets(cluster: Any, plan: Any) -> dict[str, str]:
    from netfence.compile import compile_policies
    from netfence.io.cluster import load_cluster
    from netfence.lab.plan import with_lab_nodes
    from netfence.nft.compiler import node_ruleset

    files = [str(SCENARIO / "policies" / f) for f in ("default-deny.yaml", "allow-ui-egress.yaml")]
    policies = load_cluster(files, [], "ui").cluster.policies
    placed = with_lab_nodes(cluster, plan)
    compiled = compile_policies(policies)
    return {n.name: node_ruleset(compiled, placed, n.name).render() for n in plan.nodes}


def main() -> None:
    # SIGTERM (e.g. from `timeout`) must still run the finally that takes the lab down
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connects", type=int, default=3000)
    args = parser.parse_args()
    from netfence.io.cluster import load_cluster
    from netfence.lab import lab

    cluster = load_cluster([], [str(SCENARIO / "cluster")]).cluster
    results: dict[str, list[float]] = {"no rules": [], "rules": []}
    connects: dict[str, list[dict[str, float]]] = {"no rules": [], "rules": []}
    with tempfile.TemporaryDirectory(prefix="netfence-iperf-") as tmp:
        lab_dir = Path(tmp) / "lab"
        plan = lab.up(cluster, lab_dir)
        server = None
        try:
            texts = rulesets(cluster, plan)
            catalog = next(p for p in plan.pods if p.workload == "deployment/catalog")
            ui = next(p for p in plan.pods if p.workload == "deployment/ui")
            serve = lab.exec_argv(lab_dir, plan, catalog.key, ["iperf3", "-s", "-p", "5201"])
            server = subprocess.Popen(serve, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            client = ["iperf3", "-c", catalog.ip, "-p", "5201", "-t", str(args.seconds), "-J"]
            for _ in range(args.runs):
                for condition in results:
                    for node in plan.nodes:
                        if condition == "rules":
                            lab.apply_ruleset(node.name, texts[node.name], lab_dir)
                        else:
                            drop = ["nft", "delete", "table", "inet", "netfence"]
                            argv = lab.exec_argv(lab_dir, plan, f"node:{node.name}", drop)
                            subprocess.run(argv, capture_output=True, check=False)
                    argv = lab.exec_argv(lab_dir, plan, ui.key, client)
                    report = json.loads(
                        subprocess.run(argv, capture_output=True, text=True, check=True).stdout
                    )
                    results[condition].append(
                        report["end"]["sum_received"]["bits_per_second"] / 1e9
                    )
                    rate = [sys.executable, "-c", CONNECTS, catalog.ip, "8080", str(args.connects)]
                    argv = lab.exec_argv(lab_dir, plan, ui.key, rate)
                    done = subprocess.run(argv, capture_output=True, text=True, check=True)
                    connects[condition].append(json.loads(done.stdout))
                    c = connects[condition][-1]
                    print(f"{condition:<9} {results[condition][-1]:6.2f} Gbit/s  "
                          f"connect median {c['median_us']:5.0f} us  p99 {c['p99_ms']:5.2f} ms  "
                          f"stalls {c['stalls']:.0f}", flush=True)  # fmt: skip
        finally:
            if server is not None:
                server.terminate()
                server.wait(5)
            lab.down(lab_dir)
    medians = {c: statistics.median(v) for c, v in results.items()}
    ratio = medians["rules"] / medians["no rules"]
    plain, ruled = medians["no rules"], medians["rules"]
    print(f"median: no rules {plain:.2f} Gbit/s, rules {ruled:.2f} Gbit/s")
    print(f"rules / no rules = {ratio:.2f}")
    latency = {c: statistics.median(r["median_us"] for r in v) for c, v in connects.items()}
    stalls = {c: sum(r["stalls"] for r in v) for c, v in connects.items()}
    print(f"connect latency (median of run medians): no rules {latency['no rules']:.0f} us, "
          f"rules {latency['rules']:.0f} us (rules / no rules = "
          f"{latency['rules'] / latency['no rules']:.2f}); connects slower than 0.9 s: "
          f"no rules {stalls['no rules']:.0f}, rules {stalls['rules']:.0f} "
          f"of {args.connects * args.runs} each")  # fmt: skip


if __name__ == "__main__":
    main()
