"""The cluster-wide tiers in the nftables ruleset: for generated clusters with
Admin and Baseline policies, the compiled ruleset (read by a small interpreter of
nftables' semantics, tests/nft/ruleset_interpreter.py) decides every pod pair,
port and protocol as the engine does."""

from __future__ import annotations

import ipaddress
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis.test_scale_oracle import clusters
from tests.analysis.tier_strategies import replicated_cluster, with_tiers
from tests.nft.ruleset_interpreter import Interpreter, Packet

from netfence.compile import compile_policies
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster, Pod
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint
from netfence.nft.compiler import node_ruleset

PORTS = (80, 81, 5432, 6000)
OUTSIDE = {4: ipaddress.ip_address("192.0.2.7"), 6: ipaddress.ip_address("2001:db8::7")}


def ends(
    cluster: Cluster, family: int
) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, Pod | None]]:
    found: list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, Pod | None]] = [
        (ip, pod) for pod in cluster.pods if (ip := pod.ip_of_version(family)) is not None
    ]
    return [*found, (OUTSIDE[family], None)]


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
                if interpreter.forward(packet) != engine:
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
