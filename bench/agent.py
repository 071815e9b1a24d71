"""Node agent sync latency, warm (one object changed) against cold (a new agent).

Writes bench/synth.py's cluster as one file per namespace (YAML, or JSON with
``--format json``), moves pods so that the agent's node has ``--node-pods`` of
them (synth puts about 100 on each node: the pods of the next nodes are moved
onto it), runs the agent (`netfence.agent.Agent` with a DirectorySource) for
that node, and times each sync in CPU (time.process_time of this process, which
does nothing else meanwhile) and wall time:

- cold: the first sync of a new agent (what a restart costs);
- recompute: the desired state computed whole from the agent's current
  documents, with their conversions kept (state.desired_state with the agent's
  ConversionCache): what every warm sync cost before the agent kept its model
  between syncs (the baseline of the warm syncs, measured once a round);
- then, in each of ``--changes`` rounds, one change and one sync each:
  a policy selecting a pod of the node loses its first rule; a pod is added on
  the node; a pod of the node is removed; a pod of the node takes the labels
  of another pod of its namespace; the namespace of a pod of the node takes
  the labels of another namespace (its name label kept).

After each round, the warm agent's ruleset is checked equal to a cold sync's of
a new agent on the same files (each such cold sync is a cold sample), and the
bench says how many warm syncs were full ones (none expected). The applier
records the ruleset instead of calling nft (bench/nft.py measures nft).

With ``--tiers N`` the same runs again, rounds interleaved, on the same cluster
with N ClusterNetworkPolicies added (bench/tier_policies.py: Admin and Baseline,
namespaces/pods/networks peers, named ports; the second one's subject made every
namespace), and a table of the ratios with / without tiers per kind of sync.
That run also times four changes of the cluster-wide policies in each round: a
narrow one (its subject pods of the namespaces some label selects) has the
action of its first rule flipped (Accept/Deny); a copy of it is added, then
removed; the wide one (subject: every namespace) has its first rule flipped.

    python bench/agent.py [--pods 10000] [--policies 1000] [--node-pods 1000]
                          [--changes 3] [--format yaml|json] [--tiers 20]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from bench.synth import dumps_yaml, generate
from bench.tier_policies import tier_policies
from netfence.agent.agent import Agent
from netfence.agent.sources import DirectorySource
from netfence.agent.state import desired_state
from netfence.model.policy import Direction

Obj = dict[str, Any]
KINDS = (
    "policy changed",
    "pod added",
    "pod removed",
    "pod relabelled",
    "namespace relabelled",
)
TIER_CHANGES = (
    "cluster policy changed",
    "cluster policy added",
    "cluster policy removed",
    "wide cluster policy changed",
)


class Recorder:
    def __init__(self) -> None:
        self.applied: list[str] = []

    def apply(self, text: str) -> None:
        self.applied.append(text)


class Cluster:
    """The manifests, one file per namespace, and the node under test."""

    def __init__(self, root: Path, objects: list[Obj], node_pods: int, fmt: str) -> None:
        self.root, self.fmt = root, fmt
        self.files: dict[str, list[Obj]] = {}
        for obj in objects:
            self.files.setdefault(obj["metadata"].get("namespace", "_cluster"), []).append(obj)
        pods = [o for o in objects if o["kind"] == "Pod"]
        nodes = sorted({p["spec"]["nodeName"] for p in pods})
        per_node = max(1, len(pods) // len(nodes))
        self.node = nodes[len(nodes) // 2]
        moved = set(nodes[len(nodes) // 2 : len(nodes) // 2 + max(1, node_pods // per_node)])
        for pod in pods:
            if pod["spec"]["nodeName"] in moved:
                pod["spec"]["nodeName"] = self.node
        self.local = [p for p in pods if p["spec"]["nodeName"] == self.node]
        for namespace in self.files:
            self.write(namespace)

    def write(self, namespace: str) -> None:
        objects = self.files[namespace]
        if self.fmt == "json":
            text = json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
        else:
            text = dumps_yaml(objects)
        (self.root / f"{namespace}.{self.fmt}").write_text(text)


def timed(agent: Agent) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    agent.sync()
    return time.process_time() - cpu, time.perf_counter() - wall


def new_agent(cluster: Cluster) -> Agent:
    return Agent(DirectorySource(cluster.root), Recorder(), node=cluster.node)


@dataclass
class Run:
    """One agent on its own copy of the cluster (with or without cluster-wide
    policies), timed change by change."""

    name: str
    cluster: Cluster
    agent: Agent
    changes: dict[str, Callable[[int], str]]
    cpu: dict[str, list[float]]
    wall: dict[str, list[float]]
    checks: list[bool]


def start(
    name: str, root: Path, objects: list[Obj], args: argparse.Namespace, tiered: bool = False
) -> Run:
    root.mkdir()
    cluster = Cluster(root, objects, args.node_pods, args.format)
    changes = (*KINDS, *(TIER_CHANGES if tiered else ()))
    cpu: dict[str, list[float]] = {k: [] for k in ("cold", "recompute", *changes)}
    wall: dict[str, list[float]] = {k: [] for k in cpu}
    agent = new_agent(cluster)
    _record(cpu, wall, "cold", timed(agent))
    kinds = _changes(cluster, agent)
    if tiered:
        kinds.update(_tier_changes(cluster))
    return Run(name, cluster, agent, kinds, cpu, wall, [])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--policies", type=int, default=1_000)
    parser.add_argument("--node-pods", type=int, default=1_000)
    parser.add_argument("--changes", type=int, default=3, help="rounds of the five changes")
    parser.add_argument("--format", choices=("yaml", "json"), default="yaml")
    parser.add_argument(
        "--tiers",
        type=int,
        default=0,
        help="also run with this many ClusterNetworkPolicies (bench/tier_policies.py), "
        "side by side, rounds interleaved",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netfence-agent-") as tmp:
        runs = [
            start("without tiers", Path(tmp) / "plain", generate(args.pods, args.policies, 1), args)
        ]
        if args.tiers:
            objects = generate(args.pods, args.policies, seed=1)
            tiers = tier_policies(objects, args.tiers, seed=1)
            if len(tiers) > 1:
                tiers[1]["spec"]["subject"] = {"namespaces": {}}  # the wide one
            objects += tiers
            name = f"{args.tiers} tier policies"
            runs.append(start(name, Path(tmp) / "tiers", objects, args, tiered=True))
        for i in range(args.changes):
            for kind in (*KINDS, *TIER_CHANGES):
                for run in runs:
                    if kind in run.changes:
                        run.cluster.write(run.changes[kind](i))
                        _record(run.cpu, run.wall, kind, timed(run.agent))
            for run in runs:
                _record(run.cpu, run.wall, "recompute", _recompute(run.agent))
                fresh = new_agent(run.cluster)
                _record(run.cpu, run.wall, "cold", timed(fresh))
                assert run.agent.state is not None and fresh.state is not None
                run.checks.append(run.agent.state.model == fresh.state.model)
                del fresh
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cluster = runs[0].cluster
    print(
        f"{args.pods:,} pods / {args.policies:,} policies ({args.format}), node {cluster.node} "
        f"with {len(cluster.local):,} pods, {args.changes} rounds; peak RSS {peak:,.0f} MiB "
        f"(the process, {len(runs)} agent(s) and their cold twins)"
    )
    for run in runs:
        report(run, args)
    if len(runs) == 2:
        side_by_side(*runs)
    if not all(c for run in runs for c in run.checks):
        raise SystemExit("a warm sync's ruleset differs from a cold sync's")


def report(run: Run, args: argparse.Namespace) -> None:
    cpu, wall = run.cpu, run.wall
    cold_cpu, cold_wall = statistics.median(cpu["cold"]), statistics.median(wall["cold"])
    was_cpu, was_wall = statistics.median(cpu["recompute"]), statistics.median(wall["recompute"])
    print(f"\n{run.name}:")
    print(
        f"{'sync':<28}{'CPU':>10}{'wall':>10}{'cold/this CPU':>15}{'wall':>8}"
        f"{'recompute/this CPU':>20}{'wall':>8}  (medians)"
    )
    for kind in cpu:
        c, w = statistics.median(cpu[kind]), statistics.median(wall[kind])
        print(
            f"{kind:<28}{c * 1000:>8.1f}ms{w * 1000:>8.1f}ms"
            f"{cold_cpu / c:>14.1f}x{cold_wall / w:>7.1f}x"
            f"{was_cpu / c:>19.1f}x{was_wall / w:>7.1f}x  (n={len(cpu[kind])})"
        )
    checks = run.checks
    print(f"warm == cold after each round: {all(checks)} ({sum(checks)}/{len(checks)})")
    full = run.agent.full_syncs - 1
    print(f"full syncs among the warm ones: {full} of {args.changes * len(run.changes)}")


def side_by_side(plain: Run, tiered: Run) -> None:
    """Each kind of sync with tiers against the same without, medians."""
    print(f"\n{'sync':<28}{'with/without tiers: CPU':>24}{'wall':>8}")
    for kind in plain.cpu:  # (the tier changes have no counterpart without tiers)
        c = statistics.median(tiered.cpu[kind]) / statistics.median(plain.cpu[kind])
        w = statistics.median(tiered.wall[kind]) / statistics.median(plain.wall[kind])
        print(f"{kind:<28}{c:>23.2f}x{w:>7.2f}x")


def _recompute(agent: Agent) -> tuple[float, float]:
    """The desired state computed whole, conversions kept (the warm sync before)."""
    state = agent.state
    assert state is not None
    documents = agent.source.snapshot().documents
    cpu, wall = time.process_time(), time.perf_counter()
    desired_state(documents, agent.node, state.good_documents, agent.options, agent.conversions)
    return time.process_time() - cpu, time.perf_counter() - wall


def _record(
    cpu: dict[str, list[float]], wall: dict[str, list[float]], kind: str, t: tuple[float, float]
) -> None:
    cpu[kind].append(t[0])
    wall[kind].append(t[1])


def _changes(cluster: Cluster, agent: Agent) -> dict[str, Callable[[int], str]]:
    """Per kind of change: make the i-th change in the objects; the namespace whose
    file to write."""
    local_policies = _local_policies(cluster, agent)
    local = cluster.local

    def policy(i: int) -> str:
        namespace, obj = local_policies[(i * 7919) % len(local_policies)]
        spec = obj["spec"]
        for direction in ("ingress", "egress"):
            if spec.get(direction):
                spec[direction] = spec[direction][1:]
        return namespace

    def pod_added(i: int) -> str:
        pod = copy.deepcopy(local[i])
        pod["metadata"]["name"] += f"-bench-{i}"
        address = f"10.255.254.{i + 1}"
        pod["status"].update(podIP=address, podIPs=[{"ip": address}])
        cluster.files[pod["metadata"]["namespace"]].append(pod)
        return str(pod["metadata"]["namespace"])

    def pod_removed(i: int) -> str:
        pod = local[len(local) // 2 + i]
        cluster.files[pod["metadata"]["namespace"]].remove(pod)
        return str(pod["metadata"]["namespace"])

    def pod_relabelled(i: int) -> str:
        pod = local[len(local) // 3 + i]
        namespace = pod["metadata"]["namespace"]
        others = [
            o
            for o in cluster.files[namespace]
            if o["kind"] == "Pod" and o["metadata"]["labels"] != pod["metadata"]["labels"]
        ]
        pod["metadata"]["labels"] = copy.deepcopy(others[i % len(others)]["metadata"]["labels"])
        return str(namespace)

    def namespace_relabelled(i: int) -> str:
        namespaces = [o for o in cluster.files["_cluster"] if o["kind"] == "Namespace"]
        own = local[len(local) // 4 + i]["metadata"]["namespace"]
        target = next(o for o in namespaces if o["metadata"]["name"] == own)
        others = [o for o in namespaces if _plain(o) != _plain(target)]
        other = others[i % len(others)]
        labels = dict(other["metadata"].get("labels") or {})
        labels["kubernetes.io/metadata.name"] = own
        target["metadata"]["labels"] = labels
        return "_cluster"

    return {
        "policy changed": policy,
        "pod added": pod_added,
        "pod removed": pod_removed,
        "pod relabelled": pod_relabelled,
        "namespace relabelled": namespace_relabelled,
    }


def _tier_changes(cluster: Cluster) -> dict[str, Callable[[int], str]]:
    """The changes of the cluster-wide policies (all in the ``_cluster`` file)."""
    objects = cluster.files["_cluster"]
    policies = [o for o in objects if o["kind"] == "ClusterNetworkPolicy"]
    narrow = next(p for p in policies if _narrow(p) and _first_rule(p) is not None)
    wide = next(p for p in policies if p["spec"]["subject"] == {"namespaces": {}})
    added: list[Obj] = []

    def flip(policy: Obj) -> str:
        rule = _first_rule(policy)
        assert rule is not None
        rule["action"] = "Deny" if rule["action"] != "Deny" else "Accept"
        return "_cluster"

    def add(i: int) -> str:
        new = copy.deepcopy(narrow)
        new["metadata"]["name"] = f"bench-added-{i}"
        new["spec"]["priority"] = (narrow["spec"]["priority"] + 1 + i) % 1001
        objects.append(new)
        added.append(new)
        return "_cluster"

    def remove(i: int) -> str:
        objects.remove(added.pop())
        return "_cluster"

    return {
        "cluster policy changed": lambda i: flip(narrow),
        "cluster policy added": add,
        "cluster policy removed": remove,
        "wide cluster policy changed": lambda i: flip(wide),
    }


def _narrow(policy: Obj) -> bool:
    """A subject of pods (by label) in the namespaces a label selects."""
    pods = policy["spec"]["subject"].get("pods")
    return pods is not None and bool(pods["namespaceSelector"])


def _first_rule(policy: Obj) -> Obj | None:
    """The first rule whose action may be Accept or Deny (no domainNames peer)."""
    for direction, field in (("ingress", "from"), ("egress", "to")):
        for rule in policy["spec"].get(direction, []):
            if not any("domainNames" in peer for peer in rule[field]):
                return rule
    return None


def _plain(namespace: Obj) -> dict[str, str]:
    """A namespace's labels but its name label."""
    labels = dict(namespace["metadata"].get("labels") or {})
    labels.pop("kubernetes.io/metadata.name", None)
    return labels


def _local_policies(cluster: Cluster, agent: Agent) -> list[tuple[str, Obj]]:
    """Policies that select a pod of the node, as (namespace, object)."""
    state = agent.state
    assert state is not None
    keys = {
        p.policy.key
        for pod in state.cluster.pods
        if pod.node == cluster.node
        for direction in Direction
        for p in state.compiled.selecting(pod, direction)
    }
    return [
        (namespace, obj)
        for namespace, objects in cluster.files.items()
        for obj in objects
        if obj["kind"] == "NetworkPolicy" and f"{namespace}/{obj['metadata']['name']}" in keys
    ]


if __name__ == "__main__":
    main()
