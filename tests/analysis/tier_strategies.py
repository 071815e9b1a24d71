"""Hypothesis strategies for the cluster-wide tiers as model values, over the
labels, namespaces, ports and addresses of tests/analysis/test_scale_oracle.py's
generated pods (so that subjects and peers match some of them)."""

from __future__ import annotations

import dataclasses
import ipaddress

from hypothesis import strategies as st

from netfence.model.cluster import Cluster, Node
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement
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
    TierRule,
)

KEYS = ["app", "tier"]
VALUES = ["x", "y", "z"]
NAMESPACES = ["a", "b", "c"]

labels = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2)
requirement = st.builds(
    Requirement,
    st.sampled_from(KEYS),
    st.sampled_from(list(Operator)),
    st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True).map(tuple),
).map(
    lambda r: (
        r if r.operator in (Operator.IN, Operator.NOT_IN) else dataclasses.replace(r, values=())
    )
)
selector = st.builds(
    lambda ml, me: LabelSelector(Labels.of(ml), tuple(me)),
    labels,
    st.lists(requirement, max_size=1),
)
ns_selector = st.one_of(
    selector,
    st.sampled_from(NAMESPACES).map(
        lambda n: LabelSelector(Labels.of({"kubernetes.io/metadata.name": n}))
    ),
)
pods = st.builds(NamespacedPods, ns_selector, selector)
subject = st.one_of(
    st.builds(lambda s: Subject(namespaces=s), ns_selector),
    st.builds(lambda p: Subject(pods=p), pods),
)
NETWORKS = [
    ("10.9.0.0/16",), ("10.9.1.0/24",), ("0.0.0.0/0",), ("10.9.1.2/32", "fd00::/64"), ("::/0",),
]  # fmt: skip
# v1alpha2 ClusterNetworkPolicyIngressPeer has only namespaces and pods (as v1alpha1's
# ingress peers): networks and nodes are egress peers, as the CRDs validate.
peer = st.one_of(
    st.builds(lambda s: TierPeer(namespaces=s), ns_selector),
    st.builds(lambda p: TierPeer(pods=p), pods),
)
egress_peer = st.one_of(
    peer,
    st.sampled_from(NETWORKS).map(
        lambda ns: TierPeer(networks=tuple(ipaddress.ip_network(n) for n in ns))
    ),
    st.builds(lambda s: TierPeer(nodes=s), selector),
)
port = st.one_of(
    st.builds(
        lambda p, start, width: PortRange(p, start, start + width),
        st.sampled_from(list(Protocol)),
        st.sampled_from([80, 81, 5432]),
        st.sampled_from([0, 0, 1, 6000]),
    ),
    st.sampled_from(["web", "db"]).map(NamedPort),
)


@st.composite
def rules(draw: st.DrawFn, egress: bool) -> tuple[TierRule, ...]:
    found = []
    for index in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(list(RuleAction)))
        peers = tuple(draw(st.lists(egress_peer if egress else peer, min_size=1, max_size=2)))
        ports = draw(st.one_of(st.none(), st.lists(port, min_size=1, max_size=2).map(tuple)))
        found.append(TierRule(index, f"r{index}", action, peers, ports))
    return tuple(found)


@st.composite
def cluster_policy(draw: st.DrawFn, index: int) -> ClusterPolicy:
    tier = draw(st.sampled_from([Tier.ADMIN, Tier.ADMIN, Tier.BASELINE]))
    priority = draw(st.integers(0, 3))  # ties happen: the engine takes input order
    return ClusterPolicy(
        TierKind.CLUSTER_NETWORK_POLICY, f"t{index}", tier, priority, draw(subject),
        draw(rules(False)), draw(rules(True)),
    )  # fmt: skip


@st.composite
def with_tiers(draw: st.DrawFn, cluster: Cluster) -> Cluster:
    """``cluster`` with 0-3 cluster-wide policies, its nodes labelled (so that
    ``nodes`` peers select some; without nodes, one for every hostNetwork pod's
    address)."""
    nodes = tuple(
        dataclasses.replace(n, labels=Labels.of(draw(labels))) for n in cluster.nodes
    ) or tuple(
        Node(f"node-{p.name}", Labels.of(draw(labels)), p.ips)
        for p in cluster.pods
        if p.host_network and p.ips
    )
    tiers = tuple(draw(cluster_policy(i)) for i in range(draw(st.integers(0, 3))))
    return dataclasses.replace(cluster, nodes=nodes, cluster_policies=tiers)


@st.composite
def replicated_cluster(draw: st.DrawFn) -> Cluster:
    """Workloads of 2-3 replicas that share namespace, labels and ports but not
    addresses (spread over 10.9.0.0/24 and 10.9.1.0/24, some with IPv6), and
    hostNetwork pods on labelled nodes: what tiers may tell apart and classes must."""
    from netfence.model.cluster import Namespace, Pod
    from netfence.model.ports import ContainerPort

    namespaces = tuple(
        Namespace(n, Labels.of({"kubernetes.io/metadata.name": n, **draw(labels)}))
        for n in NAMESPACES
    )
    found: list[Pod] = []
    nodes: list[Node] = []
    for w in range(draw(st.integers(1, 4))):
        ns, pod_labels = draw(st.sampled_from(NAMESPACES)), Labels.of(draw(labels))
        ports = tuple(
            ContainerPort(number, draw(st.sampled_from(list(Protocol))), name)
            for name, number in (("web", 80), ("db", 5432))
            if draw(st.booleans())
        )
        host = draw(st.sampled_from([False, False, False, True]))
        for r in range(draw(st.integers(2, 3))):
            n = len(found)
            v4 = ipaddress.ip_address(f"10.9.{r % 2}.{n + 2}")
            ips = (v4, ipaddress.ip_address(f"fd00::{n + 2:x}")) if draw(st.booleans()) else (v4,)
            name = f"w{w}-{r}"
            found.append(
                Pod(ns, name, pod_labels, ips, ports, host, f"node-{name}" if host else None)
            )
            if host:
                nodes.append(Node(f"node-{name}", Labels.of(draw(labels)), ips))
    names = [n.name for n in nodes]  # replicas run on them too (the local-node rule)
    found = [
        p
        if p.host_network or not names
        else dataclasses.replace(p, node=draw(st.sampled_from(names)))
        for p in found
    ]
    tiers = tuple(draw(cluster_policy(i)) for i in range(draw(st.integers(0, 2))))
    return Cluster(
        namespaces, tuple(found), nodes=tuple(nodes), cluster_policies=(*tiers, draw(by_address()))
    )


@st.composite
def by_address(draw: st.DrawFn) -> ClusterPolicy:
    """A policy on every pod whose one egress rule reads addresses (networks or
    nodes: egress peers only, as the CRDs say): the rule that tells replicas apart."""
    chosen = st.one_of(
        st.sampled_from(NETWORKS).map(
            lambda ns: TierPeer(networks=tuple(ipaddress.ip_network(n) for n in ns))
        ),
        st.builds(lambda s: TierPeer(nodes=s), selector),
    )
    rule = TierRule(0, "by-address", draw(st.sampled_from(list(RuleAction))), (draw(chosen),))
    tier = draw(st.sampled_from(list(Tier)))
    everyone = Subject(namespaces=LabelSelector())
    return ClusterPolicy(
        TierKind.CLUSTER_NETWORK_POLICY, "by-address", tier, 0, everyone, (), (rule,)
    )
