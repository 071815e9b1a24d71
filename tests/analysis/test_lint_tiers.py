"""Lint of the cluster-wide tiers (NF201-NF206), table-driven on model values."""

from __future__ import annotations

import ipaddress

import pytest
from tests.engine.test_tiers import (
    ACCEPT,
    ALL_NS,
    ALLOW_BLUE_NP,
    DENY,
    FROM_ANY_POD,
    FROM_BLUE,
    NAMESPACES,
    NODE,
    PASS,
    PODS,
    RED,
    TCP8080,
    TO_NAMES,
    TO_NET,
    WEB_ONLY,
    policy,
    sel,
)

from netfence.analysis.lint import lint_report
from netfence.compile import compile_policies
from netfence.model.cluster import Cluster, Namespace, Pod
from netfence.model.labels import Labels
from netfence.model.policy import NetworkPolicy
from netfence.model.ports import ContainerPort, Protocol
from netfence.model.tiers import ClusterPolicy, PortRange, RuleAction, Subject, Tier, TierPeer

KUBE_SYSTEM = Namespace("kube-system", Labels.of({"kubernetes.io/metadata.name": "kube-system"}))
COREDNS = Pod(
    "kube-system", "coredns", Labels.of({"k8s-app": "kube-dns"}),
    (ipaddress.ip_address("10.0.9.9"),),
    (ContainerPort(53, Protocol.UDP, "dns"), ContainerPort(53, Protocol.TCP, "dns-tcp")),
)  # fmt: skip
TO_DNS = (TierPeer(namespaces=sel(**{"kubernetes.io/metadata.name": "kube-system"})),)
DNS_PORTS = (PortRange(Protocol.UDP, 53, 53), PortRange(Protocol.TCP, 53, 53))
TO_ANY_POD = FROM_ANY_POD
BLUE = Subject(namespaces=sel(team="blue"))


def _findings(
    tiers: tuple[ClusterPolicy, ...], policies: tuple[NetworkPolicy, ...] = ()
) -> list[tuple[str, str, str | None]]:
    pods = (*PODS.values(), COREDNS)
    cluster = Cluster((*NAMESPACES, KUBE_SYSTEM), pods, nodes=(NODE,), cluster_policies=tiers)
    report = lint_report(cluster, compile_policies(policies, tiers))
    return sorted(
        (f.check.id, f.obj.name if f.obj else "", f.field)
        for f in report.findings
        if f.check.id.startswith("NF2")
    )


A, B = RuleAction, Tier
CASES = [
    ("a rule after one that covers it in the same policy", (
        policy("p", B.ADMIN, 1, RED, ingress=((DENY, FROM_ANY_POD, None), (ACCEPT, FROM_BLUE, TCP8080))),
    ), [("NF201", "p", "spec.ingress[1]")]),
    ("a narrower rule first is fine", (
        policy("p", B.ADMIN, 1, RED, ingress=((ACCEPT, FROM_BLUE, TCP8080), (DENY, FROM_ANY_POD, None))),
    ), []),
    ("a higher-precedence policy whose subject includes this one's", (
        policy("wide", B.ADMIN, 1, ALL_NS, ingress=((DENY, FROM_BLUE, None),)),
        policy("narrow", B.ADMIN, 5, WEB_ONLY, ingress=((ACCEPT, FROM_BLUE, TCP8080),)),
    ), [("NF201", "narrow", "spec.ingress[0]")]),
    ("a higher-precedence policy with a narrower subject shadows nothing", (
        policy("narrow", B.ADMIN, 1, WEB_ONLY, ingress=((DENY, FROM_BLUE, None),)),
        policy("wide", B.ADMIN, 5, RED, ingress=((ACCEPT, FROM_BLUE, TCP8080),)),
    ), []),
    ("networks within networks, names within wildcards", (
        policy("p", B.ADMIN, 1, ALL_NS, egress=(
            (DENY, TO_NET, None),
            (ACCEPT, (TierPeer(networks=(ipaddress.ip_network("203.0.113.128/25"),)),), None),
            (ACCEPT, TO_NAMES, None),
            (DENY, (TierPeer(domain_names=("a.b.example.com", "*.c.example.com")),), None),
            (DENY, (TierPeer(domain_names=("example.com",)),), None),
        )),
    ), [("NF201", "p", "spec.egress[1]"), ("NF201", "p", "spec.egress[3]")]),
    ("pass with no NetworkPolicy below", (
        policy("p", B.ADMIN, 1, RED, ingress=((PASS, FROM_BLUE, None),)),
    ), [("NF202", "p", "spec.ingress[0]")]),
    ("equal priorities with shared subjects", (
        policy("one", B.ADMIN, 3, RED, ingress=((DENY, FROM_BLUE, None),)),
        policy("two", B.ADMIN, 3, WEB_ONLY, ingress=((ACCEPT, FROM_BLUE, None),)),
    ), [("NF203", "two", "spec.priority")]),
    ("equal priorities with disjoint subjects", (
        policy("one", B.ADMIN, 3, RED, ingress=((DENY, FROM_BLUE, None),)),
        policy("two", B.ADMIN, 3, BLUE, ingress=((ACCEPT, FROM_BLUE, None),)),
    ), []),
    ("a baseline rule an admin deny decides", (
        policy("admin", B.ADMIN, 1, ALL_NS, ingress=((DENY, FROM_BLUE, None),)),
        policy("default", B.BASELINE, None, RED, ingress=((ACCEPT, FROM_BLUE, TCP8080),)),
    ), [("NF204", "default", "spec.ingress[0]")]),
    ("an admin pass first keeps the baseline rule reachable", (
        policy("pass", B.ADMIN, 0, RED, ingress=((PASS, FROM_BLUE, TCP8080),)),
        policy("admin", B.ADMIN, 1, ALL_NS, ingress=((DENY, FROM_BLUE, None),)),
        policy("default", B.BASELINE, None, RED, ingress=((ACCEPT, FROM_BLUE, TCP8080),)),
    ), [("NF202", "pass", "spec.ingress[0]")]),
    ("an admin deny of all pods denies DNS", (
        policy("lockdown", B.ADMIN, 1, BLUE, egress=((DENY, TO_ANY_POD, None),)),
    ), [("NF205", "lockdown", "spec.egress[0]")]),
    ("an accept of kube-dns first keeps DNS", (
        policy("lockdown", B.ADMIN, 1, BLUE, egress=((ACCEPT, TO_DNS, DNS_PORTS), (DENY, TO_ANY_POD, None))),
    ), []),
    ("a baseline deny of DNS", (
        policy("default", B.BASELINE, None, BLUE, egress=((DENY, TO_ANY_POD, None),)),
    ), [("NF205", "default", "spec.egress[0]")]),
    ("domainNames for pods that cannot resolve", (
        policy("names", B.ADMIN, 1, BLUE, egress=((ACCEPT, TO_NAMES, None), (DENY, TO_ANY_POD, None))),
    ), [("NF205", "names", "spec.egress[1]"), ("NF206", "names", "spec.egress[0]")]),
    ("domainNames with DNS allowed", (
        policy("names", B.ADMIN, 1, BLUE, egress=((ACCEPT, TO_DNS, DNS_PORTS), (ACCEPT, TO_NAMES, None), (DENY, TO_ANY_POD, None))),
    ), []),
]  # fmt: skip


@pytest.mark.parametrize(("name", "tiers", "expected"), CASES, ids=[c[0] for c in CASES])
def test_tier_lint(
    name: str, tiers: tuple[ClusterPolicy, ...], expected: list[tuple[str, str, str | None]]
) -> None:
    assert _findings(tiers) == sorted(expected)


def test_pass_with_a_network_policy_below_is_fine() -> None:
    tiers = (policy("p", Tier.ADMIN, 1, RED, ingress=((PASS, FROM_BLUE, None),)),)
    assert _findings(tiers, (ALLOW_BLUE_NP,)) == []


def test_equal_priorities_without_pods_may_overlap() -> None:
    tiers = (
        policy("one", Tier.ADMIN, 3, RED, ingress=((DENY, FROM_BLUE, None),)),
        policy("two", Tier.ADMIN, 3, BLUE, ingress=((ACCEPT, FROM_BLUE, None),)),
    )
    cluster = Cluster(NAMESPACES, (), cluster_policies=tiers)
    report = lint_report(cluster, compile_policies((), tiers))
    found = [f for f in report.findings if f.check.id == "NF203"]
    assert len(found) == 1 and "no pods in the input" in found[0].message
    assert {s.check.id for s in report.skipped} >= {"NF202", "NF205", "NF206"}


def test_every_check_is_documented() -> None:
    from pathlib import Path

    from netfence.analysis.lint import CHECKS

    text = (Path(__file__).parents[2] / "docs" / "lint.md").read_text()
    missing = [c.id for c, _ in CHECKS if f"## {c.id} {c.name} ({c.severity.value})" not in text]
    assert missing == []
