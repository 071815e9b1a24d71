"""The cluster-wide tiers in the nftables ruleset: for generated clusters with
Admin and Baseline policies, the compiled ruleset (read by a small interpreter of
nftables' semantics, tests/nft/ruleset_interpreter.py) decides every pod pair,
port and protocol as the engine does."""

from __future__ import annotations

import dataclasses
import ipaddress
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests.analysis.test_scale_oracle import clusters
from tests.analysis.tier_strategies import replicated_cluster, with_tiers
from tests.conftest import assert_golden
from tests.nft.ruleset_interpreter import Interpreter, Packet
from tests.nft.test_ruleset import _nft_check, needs_nft

from netfence.compile import compile_policies
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster, Pod
from netfence.model.diagnostics import Source
from netfence.model.policy import IPAddress
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint
from netfence.nft.compiler import NftOptions, node_ruleset
from netfence.parse import RawDocument, build_cluster

PORTS = (80, 81, 5432, 6000)
OUTSIDE = {4: ipaddress.ip_address("192.0.2.7"), 6: ipaddress.ip_address("2001:db8::7")}


def ends(
    cluster: Cluster, family: int
) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, Pod | None]]:
    found: list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, Pod | None]] = [
        (ip, pod) for pod in cluster.pods if (ip := pod.ip_of_version(family)) is not None
    ]
    return [*found, (OUTSIDE[family], None)]


def from_local_node(cluster: Cluster, source: IPAddress, destination: Pod | None) -> bool:
    node = cluster.node_by_ip(source)
    return destination is not None and node is not None and node.name == destination.node


def differences(cluster: Cluster) -> list[str]:
    """Every (source, destination, protocol, port) where the ruleset and the engine
    disagree, in both families; pods to pods, pods to and from an outside address."""
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    interpreter = Interpreter(node_ruleset(compiled, cluster))
    wrong = []
    for family in (4, 6):
        for (src_ip, src), (dst_ip, dst) in itertools.permutations(ends(cluster, family), 2):
            if src is None and dst is None:
                continue
            for protocol, port in itertools.product(Protocol, PORTS):
                conn = Connection(Endpoint(src_ip, src), Endpoint(dst_ip, dst), port, protocol)
                engine = evaluate(compiled, cluster, conn).allowed
                packet = Packet(src_ip, dst_ip, protocol.value.lower(), port)
                if interpreter.delivered(packet, from_local_node(cluster, src_ip, dst)) != engine:
                    wrong.append(f"{conn.format()}: engine {engine}")
    return wrong


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_ruleset_decides_as_the_engine_with_tiers(data: st.DataObject) -> None:
    cluster = data.draw(with_tiers(data.draw(clusters())))
    assert not differences(cluster)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replicated_cluster())
def test_ruleset_decides_as_the_engine_dual_stack_nodes_and_networks(cluster: Cluster) -> None:
    assert not differences(cluster)


def conformance_numbers() -> list[int]:
    from tests.corpus.test_npa_conformance_corpus import numbered

    return sorted(numbered())


def conformance_cluster(*numbers: int) -> Cluster:
    """The conformance corpus' model with the policies of the given cases."""
    from tests.corpus.test_npa_conformance_corpus import model_documents, numbered

    cases = numbered()
    policies = [p for n in numbers for p in cases[n]["policies"]]
    objects = [*model_documents(), *policies]
    built = build_cluster([RawDocument(Source("case", i + 1), o) for i, o in enumerate(objects)])
    assert not built.errors, [d.format() for d in built.errors]
    return built.cluster


def conformance_ruleset(cluster: Cluster, node: str | None, deny: str = "drop") -> str:
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    return node_ruleset(compiled, cluster, node, NftOptions(deny=deny)).render()


def test_golden_tiered_ruleset() -> None:
    """Node peers with Accept / Pass / Deny (case 102), an ingress named port (105),
    Admin Pass to a Baseline Deny (155), on node-1."""
    text = conformance_ruleset(conformance_cluster(102, 105, 155), "node-1")
    assert_golden("nft-tiers-node-1.nft", text)
    for fragment in ("ip saddr vmap @adm_eg4", "ip6 daddr vmap @bl_in6", " return", "@n4_"):
        assert fragment in text


@needs_nft
@pytest.mark.parametrize("number", sorted(conformance_numbers()), ids=str)
def test_nft_accepts_the_ruleset_of_every_conformance_case(number: int, tmp_path: Path) -> None:
    """``nft -c`` in a fresh network namespace, on every node and the whole cluster;
    deny by reject in every other case."""
    cluster = conformance_cluster(number)
    deny = "reject" if number % 2 else "drop"
    text = "".join(conformance_ruleset(cluster, node, deny) for node in (None, "node-1", "node-2"))
    result = _nft_check(text, tmp_path)
    assert result.returncode == 0, result.stderr


@st.composite
def with_a_twin(draw: st.DrawFn) -> tuple[Cluster, Pod]:
    """A tiered cluster where a second live pod (other namespace, labels, ports)
    claims the addresses of one of its pods."""
    from tests.analysis.tier_strategies import NAMESPACES, labels

    from netfence.model.labels import Labels
    from netfence.model.ports import ContainerPort

    cluster = draw(st.one_of(replicated_cluster(), clusters().flatmap(with_tiers)))
    selectable = [p for p in cluster.pods if not p.host_network]
    if not selectable:
        return cluster, cluster.pods[0]
    victim = draw(st.sampled_from(selectable))
    ports = tuple(
        ContainerPort(number, draw(st.sampled_from(list(Protocol))), name)
        for name, number in (("web", 81), ("db", 5432))
        if draw(st.booleans())
    )
    twin = Pod(
        draw(st.sampled_from(NAMESPACES)), "twin", Labels.of(draw(labels)), victim.ips, ports
    )
    return dataclasses.replace(cluster, pods=(*cluster.pods, twin)), victim


def owned_by(cluster: Cluster, owner: Pod, ip: object) -> Cluster:
    """``cluster`` where ``owner`` alone holds ``ip``."""
    pods = tuple(p for p in cluster.pods if p is owner or ip not in p.ips or p.host_network)
    return dataclasses.replace(cluster, pods=pods)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_a_twin())
def test_a_contested_address_never_gets_the_looser_treatment(case: tuple[Cluster, Pod]) -> None:
    """An address two live pods claim: its own node denies all traffic to and from
    it; and as the other end of a pod's connection (the claimants on other nodes),
    whichever claimant really holds it, the pod's egress (or ingress) chain allows
    nothing the engine denies in that direction for that claimant: the stricter of
    the treatments, never the looser. Every other connection is decided exactly as
    the engine does."""
    cluster, victim = case
    assume(not victim.host_network)  # (a cluster of hostNetwork pods only: no twin)
    contested = set(victim.ips)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    interpreter = Interpreter(node_ruleset(compiled, cluster))
    claimants = [p for p in cluster.pods if contested & set(p.ips) and not p.host_network]
    worlds = [owned_by(cluster, owner, next(iter(contested))) for owner in claimants]
    wrong = []
    for family in (4, 6):
        for (src_ip, src), (dst_ip, dst) in itertools.permutations(ends(cluster, family), 2):
            if src_ip == dst_ip or (src is None and dst is None):
                continue
            for protocol, port in itertools.product(Protocol, PORTS):
                packet = Packet(src_ip, dst_ip, protocol.value.lower(), port)
                conn = Connection(Endpoint(src_ip, src), Endpoint(dst_ip, dst), port, protocol)
                if src_ip not in contested and dst_ip not in contested:
                    local = from_local_node(cluster, src_ip, dst)
                    if (
                        interpreter.delivered(packet, local)
                        != evaluate(compiled, cluster, conn).allowed
                    ):
                        wrong.append(f"{conn.format()}: engine differs")
                    continue
                if interpreter.forward(packet):
                    wrong.append(f"{conn.format()}: a contested address is not denied")
                local = "forward_ingress" if src_ip in contested else "forward_egress"
                if not interpreter.accepts(local, packet):
                    continue
                for world in worlds:  # each claimant as the real owner
                    s = world.pod_by_ip(src_ip) if src_ip in contested else src
                    d = world.pod_by_ip(dst_ip) if dst_ip in contested else dst
                    one = Connection(Endpoint(src_ip, s), Endpoint(dst_ip, d), port, protocol)
                    decision = evaluate(compiled, world, one)
                    verdict = decision.ingress if src_ip in contested else decision.egress
                    if not verdict.allowed:
                        wrong.append(f"{one.format()}: {local} allows, the engine denies")
    assert not wrong, wrong[:5]


def shared_cluster(action: str, peer: str, egress: bool) -> Cluster:
    """x (a, app=x) and y (b, app=y) both claim 10.9.0.1; z (a, app=z) has an Admin
    policy whose first rule (``action``) matches ``peer`` (x only, or everyone),
    and whose second rule denies everyone."""
    pods = [
        {"kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
         "spec": {"containers": [{"name": "c", "ports": [{"name": "web", "containerPort": 80}]}]},
         "status": {"podIP": ip}}
        for name, ns, ip in (("x", "a", "10.9.0.1"), ("y", "b", "10.9.0.1"), ("z", "a", "10.9.0.2"))
    ]  # fmt: skip
    chosen = {"x only": {"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "x"}}}},
              "everyone": {"namespaces": {}}}[peer]  # fmt: skip
    field = "to" if egress else "from"
    rules = [{"name": "first", "action": action, field: [chosen], "protocols": [{"destinationNamedPort": "web"}]},
             {"name": "rest", "action": "Deny", field: [{"namespaces": {}}]}]  # fmt: skip
    cnp = {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
           "metadata": {"name": "guard"},
           "spec": {"tier": "Admin", "priority": 1, "subject": {"pods": {"namespaceSelector": {},
                    "podSelector": {"matchLabels": {"app": "z"}}}},
                    ("egress" if egress else "ingress"): rules}}  # fmt: skip
    if not egress:  # a named port is the destination's (z's): numbers for ingress
        rules[0]["protocols"] = [{"tcp": {"destinationPort": {"number": 80}}}]
    built = build_cluster([RawDocument(Source("t", i + 1), o) for i, o in enumerate([*pods, cnp])])
    return built.cluster


@pytest.mark.parametrize("egress", [True, False], ids=["egress", "ingress"])
@pytest.mark.parametrize("action", ["Accept", "Pass"])
def test_a_rule_some_claimants_match_denies_the_contested_address(
    action: str, egress: bool
) -> None:
    """Accept or Pass for x would be the looser treatment if y holds the address
    (the next rule denies y): the rule denies it. When every claimant matches, the
    rule's own action applies."""
    shared, z = ipaddress.ip_address("10.9.0.1"), ipaddress.ip_address("10.9.0.2")
    packet = Packet(z, shared, "tcp", 80) if egress else Packet(shared, z, "tcp", 80)
    chain = "forward_egress" if egress else "forward_ingress"
    for peer, allowed in (("x only", False), ("everyone", True)):
        cluster = shared_cluster(action, peer, egress)
        compiled = compile_policies(cluster.policies, cluster.cluster_policies)
        interpreter = Interpreter(node_ruleset(compiled, cluster))
        assert interpreter.accepts(chain, packet) is allowed, (action, peer)
        assert not interpreter.forward(packet)  # its own node denies it both ways
