"""The synthetic cluster generator (bench/synth.py): deterministic, exact sizes, valid
for netfence, with every policy feature of the mix, and pods that group by workload."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bench.synth import APP_KINDS, NAMESPACE_KINDS, POLICY_MIX, dumps_json, generate, main
from bench.synth import policy_counts as mix_counts

from netfence.compile import compile_policies
from netfence.engine.check import Verdict, check
from netfence.engine.targets import resolve_target
from netfence.io.cluster import load_cluster
from netfence.model.cluster import Cluster, WorkloadRef
from netfence.model.ports import Protocol
from netfence.parse import BuildResult, build_cluster, parse_documents

PODS, POLICIES, SEED = 2000, 200, 1
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def objects() -> list[Obj]:
    return generate(PODS, POLICIES, SEED)


@pytest.fixture(scope="module")
def built(objects: list[Obj]) -> BuildResult:
    return build_cluster(parse_documents(dumps_json(objects), "synth.json"))


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def test_same_arguments_give_the_same_bytes(objects: list[Obj]) -> None:
    assert dumps_json(generate(PODS, POLICIES, SEED)) == dumps_json(objects)
    assert dumps_json(generate(PODS, POLICIES, SEED + 1)) != dumps_json(objects)


@pytest.mark.parametrize(
    ("pods", "policies"), [(PODS, POLICIES), (0, 0), (1, 1), (7, 40), (150, 15), (999, 3)]
)
def test_exact_counts(pods: int, policies: int) -> None:
    objects = generate(pods, policies, SEED)
    kinds = Counter(o["kind"] for o in objects)
    assert kinds["Pod"] == pods
    assert kinds["NetworkPolicy"] == policies
    assert kinds["Namespace"] >= max(3, round(pods / 100))
    assert not build_cluster(parse_documents(dumps_json(objects), "synth.json")).diagnostics


def test_namespaces_are_about_one_per_hundred_pods() -> None:
    namespaces = of_kind(generate(20_000, 10, SEED), "Namespace")
    assert len(namespaces) == 200
    for ns in namespaces:
        if ns["metadata"]["name"] != "kube-system":
            assert {"team", "env"} <= ns["metadata"]["labels"].keys()


def test_everything_is_valid_for_netfence(objects: list[Obj], built: BuildResult) -> None:
    assert built.diagnostics == ()  # no errors, no warnings, no undeclared namespaces
    assert built.skipped == {}
    cluster = built.cluster
    assert len(cluster.pods) == PODS
    assert len(cluster.policies) == POLICIES
    assert len(cluster.services) == len(of_kind(objects, "Service"))


def test_pod_ips_are_unique_and_given(objects: list[Obj], built: BuildResult) -> None:
    ips = [p["status"]["podIP"] for p in of_kind(objects, "Pod")]
    assert len(set(ips)) == len(ips)
    assert sorted(str(p.ips[0]) for p in built.cluster.pods) == sorted(ips)


def test_pods_group_into_their_workloads(objects: list[Obj], built: BuildResult) -> None:
    by_key = {f"{p.namespace}/{p.name}": p for p in built.cluster.pods}
    workloads: Counter[tuple[str, WorkloadRef]] = Counter()
    for raw in of_kind(objects, "Pod"):
        meta = raw["metadata"]
        pod = by_key[f"{meta['namespace']}/{meta['name']}"]
        owner = meta["ownerReferences"][0]
        assert pod.workload is not None
        workloads[pod.namespace, pod.workload] += 1
        if owner["kind"] == "ReplicaSet":
            pod_hash = meta["labels"]["pod-template-hash"]
            assert owner["name"] == f"{pod.workload.name}-{pod_hash}"
            assert pod.workload.kind == "Deployment"
            assert meta["name"].startswith(f"{owner['name']}-")
            if "version" in meta["labels"] and pod.workload.name != meta["labels"]["app"]:
                assert pod.workload.name == f"{meta['labels']['app']}-{meta['labels']['version']}"
        else:
            assert pod.workload == WorkloadRef("StatefulSet", owner["name"])
            assert meta["name"].rsplit("-", 1) == [owner["name"], meta["name"].rsplit("-", 1)[1]]
            assert meta["name"].rsplit("-", 1)[1].isdigit()
    kinds = Counter(ref.kind for _, ref in workloads)
    assert kinds["Deployment"] > 3 * kinds["StatefulSet"] > 0
    assert max(workloads.values()) <= 10
    assert Counter(workloads.values()).most_common(1)[0][0] <= 2  # most apps are small
    assert workloads["kube-system", WorkloadRef("Deployment", "coredns")] == 2


def test_apps_with_two_versions(objects: list[Obj]) -> None:
    versions: dict[tuple[str, str], set[str]] = {}
    for pod in of_kind(objects, "Pod"):
        labels = pod["metadata"]["labels"]
        if "version" in labels:
            versions.setdefault((pod["metadata"]["namespace"], labels["app"]), set()).add(
                labels["version"]
            )
    assert sum(1 for v in versions.values() if v == {"v1", "v2"}) >= 10
    assert sum(1 for v in versions.values() if v == {"v1"}) >= 10


def test_kube_dns(objects: list[Obj], built: BuildResult) -> None:
    service = built.cluster.service("kube-system", "kube-dns")
    assert service is not None
    backends = built.cluster.service_backends(service)
    assert [p.workload for p in backends] == [WorkloadRef("Deployment", "coredns")] * 2
    ports = {(p.name, p.port, p.protocol) for p in backends[0].ports}
    assert {("dns", 53, Protocol.UDP), ("dns-tcp", 53, Protocol.TCP)} <= ports


def test_container_ports_are_named_with_every_protocol(objects: list[Obj]) -> None:
    ports = [
        port
        for pod in of_kind(objects, "Pod")
        for container in pod["spec"]["containers"]
        for port in container["ports"]
    ]
    assert all(port["name"] for port in ports)
    assert {p["protocol"] for p in ports} == {"TCP", "UDP", "SCTP"}
    assert {"http", "grpc", "metrics", "postgres", "redis"} <= {p["name"] for p in ports}


# ---- the policy mix ----------------------------------------------------------------


def peers(policy: Obj) -> Iterator[Obj]:
    spec = policy["spec"]
    for rule in spec.get("ingress", []):
        yield from rule.get("from", [])
    for rule in spec.get("egress", []):
        yield from rule.get("to", [])


def rules(policy: Obj) -> Iterator[Obj]:
    yield from policy["spec"].get("ingress", [])
    yield from policy["spec"].get("egress", [])


def ports(policy: Obj) -> Iterator[Obj]:
    for rule in rules(policy):
        yield from rule.get("ports", [])


def selectors(policy: Obj) -> Iterator[Obj]:
    yield policy["spec"]["podSelector"]
    for peer in peers(policy):
        yield from (peer[k] for k in ("podSelector", "namespaceSelector") if k in peer)


def test_policy_mix_has_every_feature(objects: list[Obj]) -> None:
    policies = of_kind(objects, "NetworkPolicy")
    spec_keys = [p["spec"]["podSelector"].get("matchLabels", {}).keys() for p in policies]
    all_ports = [port for p in policies for port in ports(p)]
    all_peers = [peer for p in policies for peer in peers(p)]
    blocks = {
        (peer["ipBlock"]["cidr"], tuple(peer["ipBlock"].get("except", ())))
        for peer in all_peers
        if "ipBlock" in peer
    }
    operators = {
        expr["operator"]
        for p in policies
        for selector in selectors(p)
        for expr in selector.get("matchExpressions", [])
    }

    def has(predicate: Any) -> bool:
        return any(predicate(p) for p in policies)

    everything: Obj = {"podSelector": {}}
    # default deny, both directions, and the defaulted spelling
    assert has(lambda p: p["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]})
    assert has(lambda p: p["spec"] == {"podSelector": {}, "policyTypes": ["Egress"]})
    assert has(lambda p: p["spec"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})
    assert has(lambda p: p["spec"] == {"podSelector": {}})
    assert has(lambda p: "policyTypes" not in p["spec"] and "ingress" in p["spec"])
    # same namespace
    assert has(lambda p: p["spec"].get("ingress") == [{"from": [everything]}])
    # namespaceSelector alone (team, env), AND-ed with a podSelector, separate peers
    ns_only = [
        peer["namespaceSelector"] for peer in all_peers if list(peer) == ["namespaceSelector"]
    ]
    assert {"team"} in [s.get("matchLabels", {}).keys() for s in ns_only]
    assert {"env"} in [s.get("matchLabels", {}).keys() for s in ns_only]
    assert any(peer.keys() == {"namespaceSelector", "podSelector"} for peer in all_peers)
    assert has(lambda p: any(len(r.get("from", [])) >= 2 for r in rules(p)))
    assert operators == {"In", "NotIn", "Exists", "DoesNotExist"}
    # DNS egress to kube-dns on 53 UDP and TCP
    dns_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    dns_ports = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    assert has(lambda p: {"to": [dns_peer], "ports": dns_ports} in p["spec"].get("egress", []))
    # ipBlocks with except
    assert ("0.0.0.0/0", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")) in blocks
    assert ("198.51.100.0/24", ("198.51.100.128/25",)) in blocks
    # ports: ranges, names, numbers, every protocol
    assert {"protocol": "TCP", "port": 30000, "endPort": 32767} in all_ports
    assert any(isinstance(p["port"], str) for p in all_ports)
    assert {"port": "http"} in all_ports
    assert any(isinstance(p["port"], int) and "endPort" not in p for p in all_ports)
    assert {p.get("protocol", "TCP") for p in all_ports} == {"TCP", "UDP", "SCTP"}
    # selecting by tier, by app, by version
    assert {"tier"} in spec_keys
    assert {"app"} in spec_keys
    assert {"app", "version"} in spec_keys


def test_mix_proportions() -> None:
    assert [kind for kind, _ in POLICY_MIX] == [k for k, _ in NAMESPACE_KINDS + APP_KINDS]
    assert sum(w for _, w in POLICY_MIX) == 100
    counts = mix_counts(10_000, 997)
    assert counts == {kind: weight * 100 for kind, weight in POLICY_MIX}
    for policies, namespaces in [(16, 1), (200, 17), (1000, 3), (12345, 120)]:
        counts = mix_counts(policies, namespaces)
        assert sum(counts.values()) == policies
        assert min(counts.values()) >= 1
        assert all(counts[kind] <= namespaces for kind, _ in NAMESPACE_KINDS)


def test_dns_works_where_egress_is_denied_only_with_the_dns_policy(built: BuildResult) -> None:
    """The namespace-wide policies are laid out so that most, not all, namespaces that
    deny egress allow DNS: the classic "default deny breaks everything"."""
    cluster: Cluster = built.cluster
    compiled = compile_policies(cluster.policies)
    names: dict[str, set[str]] = {}
    for policy in cluster.policies:
        names.setdefault(policy.namespace, set()).add(policy.name)
    coredns = resolve_target("kube-system/deployment/coredns", cluster)
    seen: Counter[bool] = Counter()
    for namespace, policy_names in sorted(names.items()):
        if not policy_names & {"default-deny-all", "default-deny-egress"}:
            continue
        dns = "allow-dns-egress" in policy_names
        seen[dns] += 1
        for pod in list(cluster.pods_in(namespace))[:3]:
            source = resolve_target(f"{namespace}/{pod.name}", cluster)
            report = check(compiled, cluster, source, coredns, 53, Protocol.UDP)
            assert report.verdict is (Verdict.ALLOWED if dns else Verdict.DENIED), pod.key
    assert seen[True] > seen[False] > 0


# ---- the command line --------------------------------------------------------------


def test_cli_writes_what_netfence_loads(tmp_path: Path) -> None:
    for name in ("a.json", "b.json", "c.yaml"):
        main(["--pods", "300", "--policies", "40", "--seed", "7", "-o", str(tmp_path / name)])
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    document = json.loads((tmp_path / "a.json").read_text())
    assert document["kind"] == "List"
    assert document["items"] == generate(300, 40, 7)
    for name in ("a.json", "c.yaml"):
        result = load_cluster([str(tmp_path / name)])
        assert result.diagnostics == ()
        assert (len(result.cluster.pods), len(result.cluster.policies)) == (300, 40)


def test_cli_rejects_impossible_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--pods", "-1", "--policies", "0", "-o", "-"])
    assert exc.value.code == 2
    assert "must not be negative" in capsys.readouterr().err
