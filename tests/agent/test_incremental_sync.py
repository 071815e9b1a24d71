"""The agent's incremental desired state (agent/incremental.py) against the full
computation (state.desired_state, the oracle): after any sequence of changes the
ruleset, diagnostics and last good documents are the oracle's, and a fresh
(cold) sync of the final state gives the same ruleset."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from bench.synth import generate
from bench.tier_policies import tier_policies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netfence.agent.incremental import NodeState
from netfence.agent.state import DesiredState, desired_state
from netfence.model.diagnostics import Source
from netfence.nft.compiler import NftOptions
from netfence.parse.documents import RawDocument

Obj = dict[str, Any]
BASE = generate(200, 20, seed=3)  # two nodes of 100 pods, 20 policies
TIERED = BASE + tier_policies(BASE, 8, seed=5)  # and eight ClusterNetworkPolicies
OPTIONS = NftOptions()


class World:
    """Manifests as files of documents. A changed file is read again whole (new
    document objects, as DirectorySource gives); the others keep theirs."""

    def __init__(self, objects: list[Obj]) -> None:
        self.files: dict[str, list[Obj]] = {}
        for obj in copy.deepcopy(objects):
            namespace = obj["metadata"].get("namespace", "_cluster")
            self.files.setdefault(f"{namespace}.yaml", []).append(obj)
        self._read: dict[str, tuple[RawDocument, ...]] = {}
        self.serial = 0

    def touch(self, file: str) -> None:
        self._read.pop(file, None)

    def parts(self) -> tuple[tuple[RawDocument, ...], ...]:
        for file, objects in self.files.items():
            if file not in self._read:  # re-read: new objects for every document
                fresh = json.loads(json.dumps(objects))
                self._read[file] = tuple(
                    RawDocument(Source(file, i + 1), o) for i, o in enumerate(fresh)
                )
        return tuple(self._read[f] for f in sorted(self.files))

    def of_kind(self, kind: str) -> list[tuple[str, Obj]]:
        return [(f, o) for f, objects in self.files.items() for o in objects if o["kind"] == kind]

    def next_address(self) -> str:
        self.serial += 1
        return f"10.250.{self.serial // 250}.{self.serial % 250 + 1}"


def _pod_labels(world: World) -> list[tuple[str, str]]:
    return sorted(
        {(k, v) for _, o in world.of_kind("Pod") for k, v in o["metadata"]["labels"].items()}
    )


def change(world: World, op: str, i: int, j: int, node: str) -> None:
    """One change of the cluster: ``i`` and ``j`` pick objects and variants."""
    pods, policies = world.of_kind("Pod"), world.of_kind("NetworkPolicy")
    file, pod = pods[i % len(pods)] if pods else ("", {})
    if op == "relabel pod" and pod:
        labels = _pod_labels(world)
        key, value = labels[j % len(labels)]
        pod["metadata"]["labels"][key] = value
    elif op == "unlabel pod" and pod and pod["metadata"]["labels"]:
        del pod["metadata"]["labels"][sorted(pod["metadata"]["labels"])[0]]
    elif op == "add pod" and pod:
        new = copy.deepcopy(pod)
        new["metadata"]["name"] += f"-n{world.next_address().replace('.', '-')}"
        address = world.next_address()
        new["status"].update(podIP=address, podIPs=[{"ip": address}])
        if j % 2:
            new["spec"]["nodeName"] = node
        world.files[file].append(new)
    elif op == "remove pod" and pod:
        world.files[file].remove(pod)
    elif op == "move pod" and pod:
        address = world.next_address()
        pod["status"].update(podIP=address, podIPs=[{"ip": address}])
    elif op == "pod takes an address" and len(pods) > 1:
        other = pods[j % len(pods)][1]["status"]["podIP"]
        pod["status"].update(podIP=other, podIPs=[{"ip": other}])
    elif op == "invalid pod" and pod:
        pod["status"].update(podIP="10.1.2.300", podIPs=[{"ip": "10.1.2.300"}])
    elif op == "finished pod" and pod:
        pod["status"]["phase"] = "Succeeded"
    elif op == "pod loses its address" and pod:
        pod["status"] = {"phase": "Pending"}
    elif op == "hostNetwork pod" and pod:
        pod["spec"]["hostNetwork"] = True
    elif op.endswith("cluster policy") and world.of_kind("ClusterNetworkPolicy"):
        _change_cluster_policy(world, op, i, j)
        return
    elif op.endswith("application policy"):
        _change_application_policy(world, op, i, j)
        return
    elif op.endswith("policy") and policies:
        file, policy = policies[i % len(policies)]
        _change_policy(world, op, file, policy, j)
    elif op == "relabel namespace":
        file, namespace = world.of_kind("Namespace")[i % len(world.of_kind("Namespace"))]
        labels = [("team", "a"), ("team", "b"), ("env", "prod"), ("tier", "1")]
        key, value = labels[j % len(labels)]
        namespace["metadata"].setdefault("labels", {})[key] = value
    elif op in ("namespace takes another's labels", "namespace loses its labels"):
        namespaces = [o for _, o in world.of_kind("Namespace")]
        file, namespace = world.of_kind("Namespace")[i % len(namespaces)]
        name = namespace["metadata"]["name"]
        other = namespaces[j % len(namespaces)]["metadata"].get("labels") or {}
        labels = dict(other) if op == "namespace takes another's labels" else {}
        labels["kubernetes.io/metadata.name"] = name  # as the API server keeps it
        namespace["metadata"]["labels"] = labels
    elif op == "change service" and world.of_kind("Service"):
        file, service = world.of_kind("Service")[i % len(world.of_kind("Service"))]
        service["metadata"].setdefault("labels", {})["changed"] = str(j)
    world.touch(file)


def _change_cluster_policy(world: World, op: str, i: int, j: int) -> None:
    found = world.of_kind("ClusterNetworkPolicy")
    file, policy = found[i % len(found)]
    spec = policy["spec"]
    if op == "change cluster policy":
        if j % 5 == 0:
            spec["priority"] = j % 1001
        elif j % 5 == 1:
            key, value = _pod_labels(world)[j % len(_pod_labels(world))]
            spec["subject"] = {
                "pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {key: value}}}
            }
        elif j % 5 == 2:
            rule = {
                "name": "new",
                "action": ("Accept", "Deny", "Pass")[j % 3],
                "from": [{"namespaces": {}}],
            }
            spec["ingress"] = [rule, *spec.get("ingress", [])]
        elif j % 5 == 3:
            key, value = _pod_labels(world)[j % len(_pod_labels(world))]
            peer = {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {key: value}}}}
            rule = {"name": "to", "action": ("Accept", "Deny", "Pass")[j % 3], "to": [peer]}
            rule["protocols"] = [{"tcp": {"destinationPort": {"number": 80 + j % 3}}}]
            spec["egress"] = [*spec.get("egress", []), rule]
        else:
            spec["subject"] = {"namespaces": {}}  # every pod: the widest change
    elif op == "remove cluster policy":
        world.files[file].remove(policy)
    elif op == "add cluster policy":
        new = copy.deepcopy(policy)
        new["metadata"]["name"] += f"-copy{world.next_address().replace('.', '-')}"
        if new["spec"]["tier"] == "Admin":
            new["spec"]["priority"] = j % 1001
        target = "extra.yaml" if j % 2 else file
        world.files.setdefault(target, []).append(new)
        world.touch(target)
    world.touch(file)


def _change_application_policy(world: World, op: str, i: int, j: int) -> None:
    """EKS ApplicationNetworkPolicies (the NetworkPolicy tier, domainNames egress)."""
    found = world.of_kind("ApplicationNetworkPolicy")
    namespaces = [o["metadata"]["name"] for _, o in world.of_kind("Namespace")]
    if op == "add application policy" or not found:
        namespace = namespaces[i % len(namespaces)]
        key, value = _pod_labels(world)[j % len(_pod_labels(world))]
        policy = {
            "apiVersion": "networking.k8s.aws/v1alpha1",
            "kind": "ApplicationNetworkPolicy",
            "metadata": {"name": f"anp-{world.next_address().replace('.', '-')}"},
            "spec": {
                "podSelector": {"matchLabels": {key: value}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"domainNames": ["*.example.com"]}]},
                    {"to": [{"podSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]},
                ],
            },
        }
        policy["metadata"]["namespace"] = namespace
        world.files.setdefault(f"{namespace}.yaml", []).append(policy)
        world.touch(f"{namespace}.yaml")
        return
    file, policy = found[i % len(found)]
    if op == "change application policy":
        policy["spec"]["egress"] = policy["spec"]["egress"][j % 2 :]
    else:
        world.files[file].remove(policy)
    world.touch(file)


def _change_policy(world: World, op: str, file: str, policy: Obj, j: int) -> None:
    spec = policy["spec"]
    if op == "change policy":
        if j % 3 == 0:
            for direction in ("ingress", "egress"):
                if spec.get(direction):
                    spec[direction] = spec[direction][1:]
        elif j % 3 == 1:
            key, value = _pod_labels(world)[j % len(_pod_labels(world))]
            spec["podSelector"] = {"matchLabels": {key: value}}
        else:
            key, value = _pod_labels(world)[j % len(_pod_labels(world))]
            rule = {"from": [{"podSelector": {"matchLabels": {key: value}}}]}
            spec.setdefault("ingress", []).append(rule)
            spec["policyTypes"] = sorted({*spec.get("policyTypes", []), "Ingress"})
    elif op == "remove policy":
        world.files[file].remove(policy)
    elif op == "add policy":
        new = copy.deepcopy(policy)
        new["metadata"]["name"] += f"-copy{world.next_address().replace('.', '-')}"
        target = "extra.yaml" if j % 2 else file
        world.files.setdefault(target, []).append(new)
        world.touch(target)
    elif op == "invalid policy":
        spec["ingress"] = [{"ports": [{"port": 99999}]}]


OPS = [
    "relabel pod",
    "unlabel pod",
    "add pod",
    "remove pod",
    "move pod",
    "pod takes an address",
    "invalid pod",
    "finished pod",
    "pod loses its address",
    "hostNetwork pod",
    "change policy",
    "remove policy",
    "add policy",
    "invalid policy",
    "relabel namespace",
    "namespace takes another's labels",
    "namespace loses its labels",
    "change service",
]
TIER_OPS = [
    *OPS,
    "change cluster policy",
    "remove cluster policy",
    "add cluster policy",
    "add application policy",
    "change application policy",
    "remove application policy",
]


def assert_same(state: DesiredState, oracle: DesiredState) -> None:
    assert state.model == oracle.model
    assert sorted(map(repr, state.unenforced)) == sorted(map(repr, oracle.unenforced))
    assert state.diagnostics == oracle.diagnostics
    assert dict(state.good_documents) == dict(oracle.good_documents)
    assert (state.quarantined, state.kept) == (oracle.quarantined, oracle.kept)


def nodes_of(world: World) -> list[str]:
    return sorted({o["spec"]["nodeName"] for _, o in world.of_kind("Pod")})


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(OPS), st.integers(0, 10_000), st.integers(0, 10_000)),
        min_size=1,
        max_size=8,
    ),
    which=st.integers(0, 3),
)
def test_any_sequence_of_changes_gives_the_full_computation(
    changes: list[tuple[str, int, int]], which: int
) -> None:
    check_changes(BASE, changes, which)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(TIER_OPS), st.integers(0, 10_000), st.integers(0, 10_000)),
        min_size=1,
        max_size=8,
    ),
    which=st.integers(0, 3),
)
def test_any_sequence_of_changes_with_tiers_gives_the_full_computation(
    changes: list[tuple[str, int, int]], which: int
) -> None:
    """The same with cluster-wide policies (Admin and Baseline, named ports,
    domainNames), changed and removed too: the tier chains follow every change."""
    check_changes(TIERED, changes, which)


def check_changes(base: list[Obj], changes: list[tuple[str, int, int]], which: int) -> None:
    world = World(base)
    nodes = nodes_of(world)
    node = None if which == 3 else nodes[which % len(nodes)]
    engine = NodeState(node, OPTIONS)
    last_good: dict[str, RawDocument] | Any = {}
    parts = world.parts()
    docs = tuple(d for part in parts for d in part)
    state = engine.sync(docs, last_good, parts)
    assert_same(state, desired_state(docs, node, last_good, OPTIONS))
    last_good = state.good_documents
    for op, i, j in changes:
        change(world, op, i, j, nodes[0])
        parts = world.parts()
        docs = tuple(d for part in parts for d in part)
        oracle = desired_state(docs, node, last_good, OPTIONS)
        state = engine.sync(docs, last_good, parts)
        assert_same(state, oracle)
        last_good = state.good_documents
    assert engine.failed_fast == 0
    cold = NodeState(node, OPTIONS).sync(docs, last_good, parts)
    assert cold.model == state.model
    assert state.cluster == oracle.cluster


@pytest.mark.parametrize("tiered", [False, True])
def test_clean_changes_take_the_fast_way_and_give_the_full_computation(tiered: bool) -> None:
    """Pods added, removed and relabelled, policies changed, added and removed,
    namespaces relabelled: no full sync after the first, each ruleset the oracle's
    (with cluster-wide policies too: their chains are in every ruleset, and they
    and ApplicationNetworkPolicies are changed, added and removed the fast way)."""
    world = World(TIERED if tiered else BASE)
    node = nodes_of(world)[1]
    engine = NodeState(node, OPTIONS)
    parts = world.parts()
    docs = tuple(d for part in parts for d in part)
    engine.sync(docs, {}, parts)
    last_good: Any = {}
    clean = [
        ("relabel pod", 5, 7),
        ("add pod", 11, 1),
        ("add pod", 12, 0),
        ("remove pod", 40, 0),
        ("move pod", 41, 0),
        ("change policy", 3, 0),
        ("change policy", 4, 1),
        ("change policy", 5, 2),
        ("add policy", 6, 1),
        ("add policy", 7, 0),
        ("remove policy", 8, 0),
        ("relabel namespace", 1, 0),
        ("relabel namespace", 2, 1),
        ("namespace takes another's labels", 0, 1),
        ("namespace takes another's labels", 1, 3),
        ("namespace loses its labels", 3, 0),
        ("namespace takes another's labels", 3, 0),
        ("unlabel pod", 9, 0),
    ]
    if tiered:  # cluster-wide policies changed, added and removed: no full sync either
        clean += [
            ("change cluster policy", i, j)
            for i, j in ((0, 5), (1, 1), (2, 2), (3, 3), (4, 4), (5, 10))
        ]
        clean += [
            ("add cluster policy", 0, 7),
            ("add cluster policy", 1, 8),
            ("remove cluster policy", 2, 0),
            ("add application policy", 1, 2),
            ("change application policy", 0, 1),
            ("add application policy", 2, 3),
            ("remove application policy", 0, 0),
            ("relabel pod", 6, 3),
        ]
    for op, i, j in clean:
        change(world, op, i, j, node)
        parts = world.parts()
        docs = tuple(d for part in parts for d in part)
        oracle = desired_state(docs, node, last_good, OPTIONS)
        state = engine.sync(docs, last_good, parts)
        assert_same(state, oracle)
        last_good = state.good_documents
        tier_chains = [c for c in state.model.chains if c.name.startswith(("adm_", "bl_"))]
        assert bool(tier_chains) == tiered
    assert (engine.full_syncs, engine.failed_fast) == (1, 0)


def test_the_kubernetes_source_parts_give_the_full_computation() -> None:
    """Watch events through KubernetesSource (its parts: one per kind and
    namespace), synced incrementally: each state is the oracle's, and the
    snapshot's documents are every object sorted by kind, namespace and name."""
    from netfence.agent.kubernetes import KubernetesSource

    class NoClient:
        def list(self, kind: str) -> tuple[list[Obj], str]:
            return [], "1"

        def watch(self, kind: str, resource_version: str) -> Any:
            return iter(())

    source = KubernetesSource(NoClient())
    world = World(BASE)
    for _, obj in sorted(
        ((f, o) for f, objects in world.files.items() for o in objects),
        key=lambda fo: fo[1]["kind"] != "Namespace",
    ):
        source.apply_event(obj["kind"], "ADDED", obj)
    node = nodes_of(world)[0]
    engine = NodeState(node, OPTIONS)
    last_good: Any = {}
    pods = [o for _, o in world.of_kind("Pod")]
    policies = [o for _, o in world.of_kind("NetworkPolicy")]
    events: list[tuple[str, str, Obj]] = [
        ("Pod", "MODIFIED", {**pods[3], "metadata": {**pods[3]["metadata"], "labels": {}}}),
        ("Pod", "DELETED", pods[4]),
        ("NetworkPolicy", "MODIFIED", {**policies[2], "spec": {"podSelector": {}}}),
        ("NetworkPolicy", "DELETED", policies[3]),
        ("Pod", "ADDED", pods[4]),
    ]
    for i in range(len(events) + 1):
        snapshot = source.snapshot()
        assert snapshot.parts is not None
        assert snapshot.documents == tuple(d for part in snapshot.parts for d in part)
        keys = [
            (d.kind, d.obj["metadata"].get("namespace") or "", d.obj["metadata"]["name"])
            for d in snapshot.documents
        ]
        assert keys == sorted(keys)
        oracle = desired_state(snapshot.documents, node, last_good, OPTIONS)
        state = engine.sync(snapshot.documents, last_good, snapshot.parts)
        assert_same(state, oracle)
        last_good = state.good_documents
        if i < len(events):
            source.apply_event(*events[i])
    assert (engine.full_syncs, engine.failed_fast) == (1, 0)


def test_pods_the_build_gives_an_address_to_go_the_full_way() -> None:
    """A hostNetwork pod and a pod without an address (the build assigns them
    one; the second is not programmed) removed or changed: each state is still
    the oracle's (a full sync), and a clean change after is fast again."""
    world = World(BASE)
    file, pod = world.of_kind("Pod")[0]
    host = copy.deepcopy(pod)
    host["metadata"]["name"] += "-host"
    host["spec"]["hostNetwork"] = True
    del host["status"]
    bare = copy.deepcopy(pod)
    bare["metadata"]["name"] += "-bare"
    del bare["status"]
    world.files[file] += [host, bare]
    world.touch(file)
    node = nodes_of(world)[0]
    engine = NodeState(node, OPTIONS)
    parts = world.parts()
    docs = tuple(d for part in parts for d in part)
    last_good: Any = engine.sync(docs, {}, parts).good_documents
    for change_it in (
        lambda: world.files[file].remove(host),
        lambda: bare["metadata"]["labels"].update(app="other"),
        lambda: world.files[file].remove(bare),
        lambda: change(world, "relabel pod", 7, 3, node),
    ):
        change_it()
        world.touch(file)
        parts = world.parts()
        docs = tuple(d for part in parts for d in part)
        oracle = desired_state(docs, node, last_good, OPTIONS)
        state = engine.sync(docs, last_good, parts)
        assert_same(state, oracle)
        last_good = state.good_documents
    assert engine.full_syncs == 4  # the first, and one for each of the three


def test_an_incremental_sync_that_raises_gives_way_to_a_full_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fault half way through changing the live model: that sync and the later
    ones are full ones from a new model, each the oracle's."""
    from netfence.nft.incremental import LiveNodeCompiler

    world = World(BASE)
    node = nodes_of(world)[0]
    engine = NodeState(node, OPTIONS)
    parts = world.parts()
    docs = tuple(d for part in parts for d in part)
    last_good: Any = engine.sync(docs, {}, parts).good_documents

    def broken(*args: object) -> None:
        raise RuntimeError("half way")

    monkeypatch.setattr(LiveNodeCompiler, "change_pod", broken)
    for op, i, j in [("relabel pod", 3, 5), ("relabel pod", 8, 2)]:
        change(world, op, i, j, node)
        parts = world.parts()
        docs = tuple(d for part in parts for d in part)
        oracle = desired_state(docs, node, last_good, OPTIONS)
        state = engine.sync(docs, last_good, parts)
        assert_same(state, oracle)
        last_good = state.good_documents
        monkeypatch.undo()
    assert (engine.failed_fast, engine.full_syncs) == (1, 2)


def test_the_first_cluster_policy_and_the_last_go_the_fast_way() -> None:
    """A cluster without tiers gets its first cluster-wide policy (the base chains
    gain the Admin and Baseline lookups, its domainNames rule is said not
    enforced), which is then changed and removed: fast syncs, each the oracle's."""
    world = World(BASE)
    node = nodes_of(world)[0]
    engine = NodeState(node, OPTIONS)
    parts = world.parts()
    engine.sync(tuple(d for part in parts for d in part), {}, parts)
    policy = tier_policies(BASE, 1, seed=7)[0]
    policy["spec"]["subject"] = {"namespaces": {}}
    steps: list[Any] = [
        lambda: world.files["_cluster.yaml"].append(policy),
        lambda: policy["spec"].update(priority=(policy["spec"]["priority"] + 1) % 1001),
        lambda: world.files["_cluster.yaml"].remove(policy),
    ]
    tiered = []
    for step in steps:
        step()
        world.touch("_cluster.yaml")
        parts = world.parts()
        docs = tuple(d for part in parts for d in part)
        state = engine.sync(docs, {}, parts)
        assert_same(state, desired_state(docs, node, {}, OPTIONS))
        tiered.append((any("vmap @adm_" in line for line in state.ruleset.splitlines()),
                       bool(state.unenforced)))  # fmt: skip
    assert tiered == [(True, True), (True, True), (False, False)]
    assert (engine.full_syncs, engine.failed_fast) == (1, 0)
