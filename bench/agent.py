"""Node agent sync latency at 10k pods / 1k policies, against a cold sync.

Writes bench/synth.py's cluster as one YAML file per namespace, runs the agent
(`netfence.agent.Agent` with a DirectorySource) for one node, and times:

- cold: the first sync of a new agent (what a restart costs, and what every sync
  cost before the agent kept its converted documents between syncs);
- policy changed: one NetworkPolicy selecting a pod of the node loses its first
  rule (its file rewritten), then one sync;
- pod added: a pod is added on the node, then one sync.

Each warm sync is checked against a cold sync of a fresh agent on the same
files: the two rulesets must be equal. The applier records the ruleset instead
of calling nft (bench/nft.py measures nft itself).

    python bench/agent.py [--pods 10000] [--policies 1000] [--changes 5]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench.synth import dumps_yaml, generate
from netfence.agent.agent import Agent
from netfence.agent.sources import DirectorySource

Obj = dict[str, Any]


class Recorder:
    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, text: str) -> None:
        self.applied.append(text)


def write_namespaces(
    root: Path, by_namespace: dict[str, list[Obj]], only: str | None = None
) -> None:
    for namespace, objects in by_namespace.items():
        if only is None or namespace == only:
            (root / f"{namespace}.yaml").write_text(dumps_yaml(objects))


def timed_sync(agent: Agent) -> float:
    start = time.perf_counter()
    agent.sync()
    return time.perf_counter() - start


def cold(root: Path, node: str) -> tuple[float, str]:
    agent = Agent(DirectorySource(root), Recorder(), node=node)
    seconds = timed_sync(agent)
    assert agent.state is not None
    return seconds, agent.state.ruleset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=1_000)
    parser.add_argument("--changes", type=int, default=5)
    args = parser.parse_args()
    objects = generate(args.pods, args.policies, seed=1)
    by_namespace: dict[str, list[Obj]] = {}
    for obj in objects:
        by_namespace.setdefault(obj["metadata"].get("namespace", "_cluster"), []).append(obj)
    nodes = sorted({o["spec"]["nodeName"] for o in objects if o["kind"] == "Pod"})
    node = nodes[len(nodes) // 2]
    times: dict[str, list[float]] = {"cold": [], "policy changed": [], "pod added": []}
    with tempfile.TemporaryDirectory(prefix="netfence-agent-") as tmp:
        root = Path(tmp)
        write_namespaces(root, by_namespace)
        agent = Agent(DirectorySource(root), Recorder(), node=node)
        times["cold"].append(timed_sync(agent))
        local = _local_policies(agent, by_namespace)
        for i in range(args.changes):
            namespace, policy = local[i * len(local) // args.changes]
            spec = policy["spec"]
            for direction in ("ingress", "egress"):
                if spec.get(direction):
                    spec[direction] = spec[direction][1:]
            write_namespaces(root, by_namespace, namespace)
            times["policy changed"].append(timed_sync(agent))
            _check(agent, root, node, times)
            pod_namespace = _add_pod(by_namespace, node, i)
            write_namespaces(root, by_namespace, pod_namespace)
            times["pod added"].append(timed_sync(agent))
            _check(agent, root, node, times)
    print(f"{args.pods:,} pods / {args.policies:,} policies, node {node}, {args.changes} changes")
    baseline = statistics.median(times["cold"])
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<15} {median:>7.3f} s (median of {len(values)})  cold / this: "
              f"{baseline / median:.1f}x")  # fmt: skip


def _check(agent: Agent, root: Path, node: str, times: dict[str, list[float]]) -> None:
    """The warm agent's ruleset is a fresh agent's; the fresh sync is a cold sample."""
    seconds, expected = cold(root, node)
    times["cold"].append(seconds)
    assert agent.state is not None and agent.state.ruleset == expected, "warm sync differs"


def _local_policies(agent: Agent, by_namespace: dict[str, list[Obj]]) -> list[tuple[str, Obj]]:
    """Policies that select a pod of the agent's node, as (namespace, object)."""
    state = agent.state
    assert state is not None
    keys = {
        p.policy.key
        for pod in state.cluster.pods
        if pod.node == agent.node
        for p in state.compiled.policies
        if p.selects(pod)
    }
    return [
        (namespace, obj)
        for namespace, objects in by_namespace.items()
        for obj in objects
        if obj["kind"] == "NetworkPolicy" and f"{namespace}/{obj['metadata']['name']}" in keys
    ]


def _add_pod(by_namespace: dict[str, list[Obj]], node: str, i: int) -> str:
    """A copy of a pod of ``node`` with a new name and address; its namespace."""
    for namespace, objects in by_namespace.items():
        for obj in objects:
            if obj["kind"] == "Pod" and obj["spec"]["nodeName"] == node:
                pod = copy.deepcopy(obj)
                pod["metadata"]["name"] += f"-bench-{i}"
                address = f"10.255.254.{i + 1}"
                pod["status"].update(podIP=address, podIPs=[{"ip": address}])
                objects.append(pod)
                return namespace
    raise RuntimeError(f"no pod on {node}")


if __name__ == "__main__":
    main()
