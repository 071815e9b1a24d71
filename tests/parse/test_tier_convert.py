"""Valid cluster-wide policies → model.tiers values; EKS ApplicationNetworkPolicy →
model.policy.NetworkPolicy. Every kind, both ClusterNetworkPolicy port schemas."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from netfence.model.diagnostics import Source
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement
from netfence.model.policy import Direction, NetworkPolicy, PolicyOrigin
from netfence.model.ports import Protocol
from netfence.model.tiers import (
    ClusterPolicy,
    NamedPort,
    NamespacedPods,
    PortRange,
    RuleAction,
    Subject,
    Tier,
    TierKind,
    TierPeer,
)
from netfence.parse.tier_read import read_tier_object

SOURCE = Source("t.yaml", 1)
EVERYTHING = LabelSelector(Labels.of({}), ())


def _sel(**labels: str) -> LabelSelector:
    return LabelSelector(Labels.of(labels), ())


def read(obj: dict[str, Any]) -> ClusterPolicy | NetworkPolicy:
    result = read_tier_object(obj, SOURCE, "default")
    assert result is not None and result.policy is not None, result
    return result.policy


def cluster_policy(obj: dict[str, Any]) -> ClusterPolicy:
    policy = read(obj)
    assert isinstance(policy, ClusterPolicy)
    return policy


ANP = {
    "apiVersion": "policy.networking.k8s.io/v1alpha1",
    "kind": "AdminNetworkPolicy",
    "metadata": {"name": "guard"},
    "spec": {
        "priority": 7,
        "subject": {
            "pods": {"namespaceSelector": {"matchLabels": {"team": "a"}}, "podSelector": {}}
        },
        "ingress": [
            {
                "name": "monitoring",
                "action": "Allow",
                "from": [{"namespaces": {"matchLabels": {"name": "mon"}}}],
                "ports": [
                    {"portNumber": {"port": 9090}},
                    {"portRange": {"start": 1000, "end": 2000, "protocol": "UDP"}},
                    {"namedPort": "metrics"},
                ],
            },
            {
                "action": "Pass",
                "from": [
                    {
                        "pods": {
                            "namespaceSelector": {},
                            "podSelector": {"matchLabels": {"app": "x"}},
                        }
                    }
                ],
            },
        ],
        "egress": [
            {
                "action": "Deny",
                "to": [
                    {"networks": ["10.1.2.3/8", "2001:db8::/32"]},
                    {"nodes": {"matchExpressions": [{"key": "role", "operator": "Exists"}]}},
                ],
            },
            {"action": "Allow", "to": [{"domainNames": ["*.example.com"]}]},
        ],
    },
}


def test_admin_network_policy() -> None:
    policy = cluster_policy(ANP)
    assert (policy.kind, policy.name, policy.tier, policy.priority) == (
        TierKind.ADMIN_NETWORK_POLICY,
        "guard",
        Tier.ADMIN,
        7,
    )
    assert policy.source == SOURCE
    assert policy.key == "AdminNetworkPolicy.policy.networking.k8s.io/guard"
    assert policy.subject == Subject(pods=NamespacedPods(_sel(team="a"), EVERYTHING))
    first, second = policy.ingress
    assert (first.index, first.name, first.action) == (0, "monitoring", RuleAction.ACCEPT)
    assert first.peers == (TierPeer(namespaces=_sel(name="mon")),)
    assert first.ports == (
        PortRange(Protocol.TCP, 9090, 9090),
        PortRange(Protocol.UDP, 1000, 2000),
        NamedPort("metrics"),
    )
    assert (second.index, second.name, second.action, second.ports) == (
        1,
        "",
        RuleAction.PASS,
        None,
    )
    assert second.peers == (TierPeer(pods=NamespacedPods(EVERYTHING, _sel(app="x"))),)
    deny, allow = policy.egress
    assert deny.action is RuleAction.DENY
    assert deny.peers == (
        TierPeer(
            networks=(ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32"))
        ),
        TierPeer(nodes=LabelSelector(Labels.of({}), (Requirement("role", Operator.EXISTS, ()),))),
    )
    assert allow.peers == (TierPeer(domain_names=("*.example.com",)),)
    assert policy.rules(Direction.EGRESS) == policy.egress


def test_baseline_admin_network_policy_has_no_priority() -> None:
    obj = {
        "apiVersion": "policy.networking.k8s.io/v1alpha1",
        "kind": "BaselineAdminNetworkPolicy",
        "metadata": {"name": "default"},
        "spec": {
            "subject": {"namespaces": {"matchLabels": {"env": "prod"}}},
            "egress": [{"action": "Deny", "to": [{"namespaces": {}}]}],
        },
    }
    policy = cluster_policy(obj)
    assert (policy.tier, policy.priority, policy.kind) == (
        Tier.BASELINE,
        None,
        TierKind.BASELINE_ADMIN_NETWORK_POLICY,
    )
    assert policy.subject == Subject(namespaces=_sel(env="prod"))
    assert policy.ingress == ()
    assert policy.egress[0].peers == (TierPeer(namespaces=EVERYTHING),)


def _cnp(rules_key: str, ports: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {
        "apiVersion": top.get("api_version", "policy.networking.k8s.io/v1alpha2"),
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": "same"},
        "spec": {
            "tier": "Baseline",
            "priority": 3,
            "subject": {
                "pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "db"}}}
            },
            "ingress": [
                {
                    "name": "r",
                    "action": "Accept",
                    "from": [{"pods": {"namespaceSelector": {}, "podSelector": {}}}],
                    rules_key: ports,
                }
            ],
        },
    }


PROTOCOLS = [
    {"tcp": {"destinationPort": {"number": 5432}}},
    {"udp": {"destinationPort": {"range": {"start": 100, "end": 200}}}},
    {"sctp": {"destinationPort": {"number": 9}}},
    {"destinationNamedPort": "pg"},
]
PORTS = [
    {"portNumber": {"port": 5432, "protocol": "TCP"}},
    {"portRange": {"start": 100, "end": 200, "protocol": "UDP"}},
    {"portNumber": {"port": 9, "protocol": "SCTP"}},
    {"namedPort": "pg"},
]


def test_cluster_network_policy_in_both_port_schemas_and_eks_read_the_same() -> None:
    """The same policy written with v0.2.0's protocols, with the ports schema of
    v1alpha2 before v0.2.0, and as an EKS object: one model, but for the kind."""
    v020 = cluster_policy(_cnp("protocols", PROTOCOLS))
    before = cluster_policy(_cnp("ports", PORTS))
    eks = cluster_policy(_cnp("ports", PORTS, api_version="networking.k8s.aws/v1alpha1"))
    assert v020.kind is before.kind is TierKind.CLUSTER_NETWORK_POLICY
    assert eks.kind is TierKind.EKS_CLUSTER_NETWORK_POLICY
    assert v020 == before
    assert (eks.tier, eks.priority, eks.subject, eks.ingress) == (
        v020.tier,
        v020.priority,
        v020.subject,
        v020.ingress,
    )
    assert v020.key != eks.key  # the two APIs may share a name
    assert v020.tier is Tier.BASELINE and v020.priority == 3
    assert v020.ingress[0].ports == (
        PortRange(Protocol.TCP, 5432, 5432),
        PortRange(Protocol.UDP, 100, 200),
        PortRange(Protocol.SCTP, 9, 9),
        NamedPort("pg"),
    )


def test_v1alpha2_pods_without_namespace_selector_selects_all_namespaces() -> None:
    obj = _cnp("protocols", PROTOCOLS)
    obj["spec"]["subject"] = {"pods": {"podSelector": {"matchLabels": {"app": "db"}}}}
    assert cluster_policy(obj).subject == Subject(pods=NamespacedPods(EVERYTHING, _sel(app="db")))


@pytest.mark.parametrize("tier", ["Admin", "Baseline"])
def test_cluster_network_policy_tier(tier: str) -> None:
    obj = _cnp("protocols", PROTOCOLS)
    obj["spec"]["tier"] = tier
    assert cluster_policy(obj).tier is Tier(tier)


APPLICATION = {
    "apiVersion": "networking.k8s.aws/v1alpha1",
    "kind": "ApplicationNetworkPolicy",
    "metadata": {"name": "allow", "namespace": "ui"},
    "spec": {
        "podSelector": {"matchLabels": {"app": "ui"}},
        "egress": [
            {
                "to": [{"domainNames": ["api.example.com", "*.amazonaws.com"]}],
                "ports": [{"port": 443}],
            },
            {
                "to": [
                    {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
                    {"namespaceSelector": {}},
                ]
            },
        ],
    },
}


def test_application_network_policy_is_a_network_policy_with_domain_names() -> None:
    policy = read(APPLICATION)
    assert isinstance(policy, NetworkPolicy)
    assert policy.origin is PolicyOrigin.APPLICATION_NETWORK_POLICY
    assert (policy.namespace, policy.name) == ("ui", "allow")
    assert policy.key == "ApplicationNetworkPolicy:ui/allow"  # never a NetworkPolicy's key
    assert policy.pod_selector == _sel(app="ui")
    assert policy.policy_types == frozenset({Direction.INGRESS, Direction.EGRESS})
    names, others = policy.egress
    assert names.peers is not None and others.peers is not None
    (peer,) = names.peers
    assert peer.domain_names == ("api.example.com", "*.amazonaws.com")
    assert (peer.pod_selector, peer.namespace_selector, peer.ip_block) == (None, None, None)
    assert peer.format() == "domainNames api.example.com, *.amazonaws.com"
    assert names.ports is not None and names.ports[0].port == 443
    block, namespaces = others.peers
    assert block.ip_block is not None and block.domain_names is None
    assert block.ip_block.except_ == (ipaddress.ip_network("10.1.0.0/16"),)
    assert namespaces.namespace_selector == EVERYTHING and namespaces.pod_selector is None
    assert others.ports is None


def test_application_network_policy_takes_the_default_namespace() -> None:
    obj = {**APPLICATION, "metadata": {"name": "allow"}}
    result = read_tier_object(obj, SOURCE, "shop")
    assert result is not None and isinstance(result.policy, NetworkPolicy)
    assert result.policy.namespace == "shop"


def test_other_kinds_are_not_read_here() -> None:
    for api_version, kind in [
        ("networking.k8s.io/v1", "NetworkPolicy"),
        ("cilium.io/v2", "CiliumNetworkPolicy"),
        ("v1", "Pod"),
    ]:
        obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
        assert read_tier_object(obj, SOURCE, "default") is None
