"""The nftables ruleset: golden files, table-driven rule shapes, and `nft -c` on real rulesets."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from tests.conftest import SCENARIO, assert_golden

from netfence.compile import compile_policies
from netfence.compile.ir import PeerEnd
from netfence.io.cluster import load_cluster
from netfence.model.diagnostics import Source
from netfence.nft.compiler import NftOptions, node_ruleset
from netfence.parse import RawDocument, build_cluster, parse_documents

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "netpol_e2e"


def workshop(*policies: str) -> Any:
    files = [str(SCENARIO / "policies" / p) for p in policies]
    return load_cluster(files, [str(SCENARIO / "cluster")], "ui").cluster


def test_golden_workshop_final_ruleset() -> None:
    cluster = workshop("default-deny.yaml", "allow-ui-egress.yaml")
    assert_golden(
        "nft-eks-final.nft", node_ruleset(compile_policies(cluster.policies), cluster).render()
    )


def test_golden_workshop_all_policies_with_reject() -> None:
    cluster = workshop(
        "default-deny.yaml",
        "allow-ui-egress.yaml",
        "allow-catalog-ingress-db.yaml",
        "allow-catalog-ingress-webservice.yaml",
        "allow-order-ingress-success-debug.yaml",
    )
    text = node_ruleset(
        compile_policies(cluster.policies), cluster, options=NftOptions(deny="reject")
    ).render()
    assert_golden("nft-eks-ingress-reject.nft", text)
    assert "counter reject with icmpx type admin-prohibited" in text


def small(policy: dict[str, Any]) -> str:
    """The ruleset for one policy on a fixed three-pod cluster."""
    pods = [
        {
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "a", "labels": {"app": "web"}},
            "spec": {
                "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]
            },
            "status": {"podIPs": [{"ip": "10.1.0.1"}, {"ip": "fd00::1"}]},
        },
        {
            "kind": "Pod",
            "metadata": {"name": "db", "namespace": "a", "labels": {"app": "db"}},
            "spec": {
                "containers": [{"name": "c", "ports": [{"name": "pg", "containerPort": 5432}]}]
            },
            "status": {"podIP": "10.1.0.2"},
        },
        {
            "kind": "Pod",
            "metadata": {"name": "other", "namespace": "b"},
            "status": {"podIP": "10.2.0.1"},
        },
    ]
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "a"},
        **policy,
    }
    cluster = build_cluster(
        [RawDocument(Source("t", i), o) for i, o in enumerate([*pods, policy])]
    ).cluster
    return node_ruleset(compile_policies(cluster.policies), cluster).render()


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"podSelector": {}, "policyTypes": ["Egress"]}, ["counter drop"]),
        ({"podSelector": {}, "egress": [{}]}, ["    accept"]),
        (
            {
                "podSelector": {"matchLabels": {"app": "web"}},
                "egress": [
                    {
                        "to": [{"podSelector": {"matchLabels": {"app": "db"}}}],
                        "ports": [{"port": 5432}],
                    }
                ],
            },
            ["ip daddr @a4_", "meta l4proto tcp th dport 5432 accept", "10.1.0.1 : jump eg_set_"],
        ),
        (
            {
                "podSelector": {},
                "ingress": [
                    {
                        "ports": [
                            {"port": 30000, "endPort": 32767, "protocol": "UDP"},
                            {"port": 80, "protocol": "SCTP"},
                        ]
                    }
                ],
            },
            [
                "meta l4proto udp th dport 30000-32767 accept",
                "meta l4proto sctp th dport 80 accept",
            ],
        ),
        (
            {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]},
            [
                "ip daddr . meta l4proto . th dport @n4_",
                "10.1.0.1 . tcp . 8080",
                "fd00::1 . tcp . 8080",
            ],
        ),
        (
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}],
            },
            ["0.0.0.0-9.255.255.255", "11.0.0.0-255.255.255.255"],
        ),
        (
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": "2001:db8::/32", "except": ["2001:db8:1::/48"]}}]}
                ],
            },
            [
                "ip6 daddr @a6_",
                "2001:db8::/48",
                "2001:db8:2::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
            ],
        ),
    ],
    ids=[
        "deny-all-egress",
        "allow-all-egress",
        "peer-and-port",
        "endport-udp-sctp",
        "named-ingress-both-families",
        "except-v4",
        "except-v6",
    ],
)
def test_rule_shapes(spec: dict[str, Any], expected: list[str]) -> None:
    text = small({"spec": spec})
    for fragment in expected:
        assert fragment in text, f"{fragment!r} not in\n{text}"


def test_ipv4_only_peers_make_no_ipv6_rule() -> None:
    text = small(
        {
            "spec": {
                "podSelector": {"matchLabels": {"app": "web"}},
                "egress": [{"to": [{"podSelector": {"matchLabels": {"app": "db"}}}]}],
            }
        }
    )
    assert "ip6 daddr @" not in text


def test_sets_are_shared_by_content() -> None:
    peer = {"to": [{"namespaceSelector": {}}]}
    text = small({"spec": {"podSelector": {}, "egress": [peer, {**peer, "ports": [{"port": 53}]}]}})
    assert text.count("  set a4_") == 1


def _nft_check(text: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "ruleset.nft"
    path.write_text(text)
    # A new network namespace: nothing touches the host's own ruleset.
    return subprocess.run(
        ["unshare", "--net", "nft", "-c", "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


needs_nft = pytest.mark.skipif(
    shutil.which("nft") is None
    or shutil.which("unshare") is None
    or subprocess.run(["unshare", "--net", "true"], check=False).returncode != 0,
    reason="needs nft and permission to create a network namespace (root)",
)


def corpus_cases() -> list[Path]:
    return sorted((CORPUS / "cases").glob("*.yaml"))


@needs_nft
@pytest.mark.parametrize("case", corpus_cases(), ids=lambda p: p.stem)
def test_nft_accepts_the_ruleset_of_every_corpus_case(case: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(case.read_text())
    docs = parse_documents((CORPUS / "model.yaml").read_text(), "model.yaml")
    docs += [RawDocument(Source(case.name, i + 1), p) for i, p in enumerate(data["policies"])]
    cluster = build_cluster(docs).cluster
    result = _nft_check(
        node_ruleset(compile_policies(cluster.policies), cluster).render(), tmp_path
    )
    assert result.returncode == 0, result.stderr


@needs_nft
def test_nft_accepts_the_workshop_ruleset(tmp_path: Path) -> None:
    cluster = workshop("default-deny.yaml", "allow-ui-egress.yaml")
    result = _nft_check(
        node_ruleset(compile_policies(cluster.policies), cluster).render(), tmp_path
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("case", corpus_cases()[::4], ids=lambda p: p.stem)
def test_indexed_peer_pods_equal_the_peer_matcher(case: Path) -> None:
    """The nft compiler's indexed lookups are the engine's PeerMatcher and
    CompiledPolicy.selects, pod for pod."""
    from netfence.nft.compiler import NodeRulesetCompiler

    data = yaml.safe_load(case.read_text())
    docs = parse_documents((CORPUS / "model.yaml").read_text(), "model.yaml")
    docs += [RawDocument(Source(case.name, i + 1), p) for i, p in enumerate(data["policies"])]
    cluster = build_cluster(docs).cluster
    compiled = compile_policies(cluster.policies)
    builder = NodeRulesetCompiler(compiled, cluster, NftOptions()).b
    for policy in compiled.policies:
        assert builder.selected_pods(policy) == [p for p in cluster.pods if policy.selects(p)]
        for rule in (*policy.ingress, *policy.egress):
            for m in rule.peers or ():
                if m.peer.ip_block is not None:
                    continue
                expected = [
                    p
                    for p in cluster.pods
                    if not p.host_network
                    and m.matches(PeerEnd(None, p, cluster.namespace_labels(p.namespace)))
                ]
                assert list(builder.peer_pods(m.selection)) == expected


@given(
    family=st.sampled_from([4, 6]),
    lo=st.integers(min_value=0, max_value=2**32 - 1),
    span=st.integers(min_value=0, max_value=2**20),
    shift=st.integers(min_value=0, max_value=96),
)
@example(family=4, lo=0x0A000000, span=255, shift=0)  # 10.0.0.0/24
@example(family=4, lo=0, span=2**32 - 1, shift=0)  # 0.0.0.0/0
@example(family=4, lo=0x0A000001, span=1, shift=0)  # 10.0.0.1-10.0.0.2
@example(family=6, lo=0xFD000000, span=0, shift=96)  # fd00::/32
@example(family=6, lo=0xFD000000, span=2, shift=96)  # three /32s: a range
def test_range_text_is_the_summarized_range(family: int, lo: int, span: int, shift: int) -> None:
    """The fast set-element text equals what ipaddress makes of the same range."""
    import ipaddress

    from netfence.nft.compiler import range_text

    scale = 1 << shift if family == 6 else 1
    lo, hi = lo * scale, (lo + span) * scale + scale - 1
    top = 2**32 - 1 if family == 4 else 2**128 - 1
    hi = min(hi, top)
    address = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
    networks = list(ipaddress.summarize_address_range(address(lo), address(hi)))
    if lo == hi:
        expected = str(address(lo))
    elif len(networks) == 1:
        expected = str(networks[0])
    else:
        expected = f"{address(lo)}-{address(hi)}"
    assert range_text(family, lo, hi) == expected
