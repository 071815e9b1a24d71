"""The cluster-wide tiers compiled once: each ClusterPolicy becomes a subject
matcher and ordered rules whose peer and port matchers remember where they came
from, so a tier's answer can be explained rule by rule.

API text quoted here is network-policy-api's (v1alpha2 unless marked v1alpha1);
the semantics of v1alpha1 AdminNetworkPolicy are the same where both have a field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netfence.compile.compiled import CompiledTiers
from netfence.compile.names import domain_matches
from netfence.model.cluster import Node, Pod
from netfence.model.policy import Direction, IPAddress
from netfence.model.ports import Protocol
from netfence.model.tiers import (
    ClusterPolicy,
    NamedPort,
    NamespacedPods,
    RuleAction,
    Subject,
    Tier,
    TierPeer,
    TierPort,
)


@dataclass(frozen=True, slots=True)
class TierRuleRef:
    """Where a tier rule came from: ``AdminNetworkPolicy.policy.networking.k8s.io/x``
    ``spec.ingress[1]`` (named ``deny-dev``) in tier Admin at priority 10."""

    policy: str
    tier: Tier
    priority: int | None
    direction: Direction
    rule: int
    name: str

    @property
    def path(self) -> str:
        return f"spec.{self.direction.rules_field}[{self.rule}]"


@dataclass(frozen=True, slots=True)
class PeerEnd:
    """What a tier peer looks at on the other end of a connection: its address, the
    pod that owns it (None outside the pods and for hostNetwork pods: "Note that
    host-networked pods are not included in this type of peer"), that pod's
    namespace labels, the node owning the address, and the DNS name the connection
    was made to (egress only; None when it was made to an address)."""

    ip: IPAddress | None
    pod: Pod | None
    namespace_labels: Mapping[str, str]
    node: Node | None = None
    name: str | None = None


def _namespaced_pods(selector: NamespacedPods, pod: Pod, ns_labels: Mapping[str, str]) -> bool:
    return selector.namespace_selector.matches(ns_labels) and selector.pod_selector.matches(
        pod.labels
    )


def subject_selects(subject: Subject, pod: Pod, ns_labels: Mapping[str, str]) -> bool:
    """ "Subject defines the pods to which this ClusterNetworkPolicy applies."
    "Note that host-networked pods are not included in subject selection.\""""
    if pod.host_network:
        return False
    if subject.namespaces is not None:
        return subject.namespaces.matches(ns_labels)
    return subject.pods is not None and _namespaced_pods(subject.pods, pod, ns_labels)


@dataclass(frozen=True, slots=True)
class TierPeerMatcher:
    index: int
    peer: TierPeer

    def matches(self, end: PeerEnd) -> bool:
        """ "If any element matches the source of incoming traffic [destination of
        outgoing traffic] then the specified action is applied.\""""
        peer = self.peer
        if peer.namespaces is not None:
            return end.pod is not None and peer.namespaces.matches(end.namespace_labels)
        if peer.pods is not None:
            return end.pod is not None and _namespaced_pods(
                peer.pods, end.pod, end.namespace_labels
            )
        if peer.nodes is not None:
            # "It selects the nodeIPs as the peer type by matching on the IPs present
            # in the node.Status.Addresses field of the node."
            return end.node is not None and peer.nodes.matches(end.node.labels)
        if peer.networks is not None:
            # "cluster-internal traffic will be checked against the rule as well"
            ip = end.ip
            return ip is not None and any(
                ip.version == net.version and ip in net for net in peer.networks
            )
        if peer.domain_names is not None:
            name = end.name
            return name is not None and any(domain_matches(p, name) for p in peer.domain_names)
        return False  # no field set: refused by validation; matches nothing here


@dataclass(frozen=True, slots=True)
class TierPortMatcher:
    index: int
    port: TierPort

    def matches(self, port: int, protocol: Protocol, destination: Pod | None) -> bool:
        """A number or range matches on its protocol; a named port "selects a
        destination port on a pod based on the ContainerPort name", so it never
        matches an address outside the pods."""
        spec = self.port
        if isinstance(spec, NamedPort):
            return destination is not None and destination.named_port(spec.name, protocol) == port
        return spec.contains(protocol, port)


@dataclass(frozen=True, slots=True)
class CompiledTierRule:
    origin: TierRuleRef
    action: RuleAction
    peers: tuple[TierPeerMatcher, ...]
    ports: tuple[TierPortMatcher, ...] | None


@dataclass(frozen=True, slots=True)
class CompiledClusterPolicy:
    policy: ClusterPolicy
    ingress: tuple[CompiledTierRule, ...]
    egress: tuple[CompiledTierRule, ...]

    def rules(self, direction: Direction) -> tuple[CompiledTierRule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress

    def selects(self, pod: Pod, ns_labels: Mapping[str, str]) -> bool:
        return subject_selects(self.policy.subject, pod, ns_labels)


def _compile_rules(policy: ClusterPolicy, direction: Direction) -> tuple[CompiledTierRule, ...]:
    compiled = []
    for rule in policy.rules(direction):
        origin = TierRuleRef(
            policy.key, policy.tier, policy.priority, direction, rule.index, rule.name
        )
        peers = tuple(TierPeerMatcher(i, p) for i, p in enumerate(rule.peers))
        ports = (
            None
            if rule.ports is None
            else tuple(TierPortMatcher(i, p) for i, p in enumerate(rule.ports))
        )
        compiled.append(CompiledTierRule(origin, rule.action, peers, ports))
    return tuple(compiled)


def compile_cluster_policy(policy: ClusterPolicy) -> CompiledClusterPolicy:
    return CompiledClusterPolicy(
        policy, _compile_rules(policy, Direction.INGRESS), _compile_rules(policy, Direction.EGRESS)
    )


def compile_tiers(policies: Iterable[ClusterPolicy]) -> CompiledTiers:
    compiled = [compile_cluster_policy(p) for p in policies]

    def ordered(tier: Tier) -> tuple[CompiledClusterPolicy, ...]:
        found = [c for c in compiled if c.policy.tier is tier]
        return tuple(sorted(found, key=lambda c: c.policy.priority or 0))  # stable

    return CompiledTiers(ordered(Tier.ADMIN), ordered(Tier.BASELINE))
