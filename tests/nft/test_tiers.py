"""The cluster-wide tiers in the nftables ruleset: for generated clusters with
Admin and Baseline policies, the compiled ruleset (read by a small interpreter of
nftables' semantics, tests/nft/ruleset_interpreter.py) decides every pod pair,
port and protocol as the engine does."""

from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
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
