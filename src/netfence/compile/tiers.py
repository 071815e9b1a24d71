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
from netfence.compile.ir import (
    PeerEnd,
    PodsSelected,
    PortSelection,
    Selection,
    namespace_scope,
    of_tier_peer,
    of_tier_port,
    pod_scope,
    selects,
)
from netfence.model.cluster import Pod
from netfence.model.policy import Direction
from netfence.model.ports import Protocol
from netfence.model.tiers import (
    ClusterPolicy,
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


def subject_selection(subject: Subject) -> PodsSelected:
    """ "Subject defines the pods to which this ClusterNetworkPolicy applies." Its
    ``namespaces`` and ``pods`` select as the peers of the same names do."""
    if subject.namespaces is not None:
        return PodsSelected(namespace_scope(subject.namespaces))
    pods = subject.pods
    assert pods is not None  # exactly one is set: validation refuses others
    return PodsSelected(namespace_scope(pods.namespace_selector), pod_scope(pods.pod_selector))


def subject_selects(subject: Subject, pod: Pod, ns_labels: Mapping[str, str]) -> bool:
    """ "Note that host-networked pods are not included in subject selection." """
    return not pod.host_network and selects(
        subject_selection(subject), PeerEnd(None, pod, ns_labels)
    )


@dataclass(frozen=True, slots=True)
class TierPeerMatcher:
    """One peer of a tier rule and its selection (compile/ir.of_tier_peer, with the
    API text quoted there): "If any element matches the source of incoming traffic
    [destination of outgoing traffic] then the specified action is applied." """

    index: int
    peer: TierPeer
    selection: Selection

    def matches(self, end: PeerEnd) -> bool:
        return self.selection.covers(end)


@dataclass(frozen=True, slots=True)
class TierPortMatcher:
    index: int
    port: TierPort
    selection: PortSelection

    def matches(self, port: int, protocol: Protocol, destination: Pod | None) -> bool:
        """A named port "selects a destination port on a pod based on the
        ContainerPort name", so it never matches an address outside the pods."""
        return self.selection.matches(port, protocol, destination)


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
    subject: PodsSelected

    def rules(self, direction: Direction) -> tuple[CompiledTierRule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress

    def selects(self, pod: Pod, ns_labels: Mapping[str, str]) -> bool:
        """ "Note that host-networked pods are not included in subject selection." """
        return not pod.host_network and selects(self.subject, PeerEnd(None, pod, ns_labels))


def _compile_rules(policy: ClusterPolicy, direction: Direction) -> tuple[CompiledTierRule, ...]:
    compiled = []
    for rule in policy.rules(direction):
        origin = TierRuleRef(
            policy.key, policy.tier, policy.priority, direction, rule.index, rule.name
        )
        peers = tuple(TierPeerMatcher(i, p, of_tier_peer(p)) for i, p in enumerate(rule.peers))
        ports = (
            None
            if rule.ports is None
            else tuple(TierPortMatcher(i, p, of_tier_port(p)) for i, p in enumerate(rule.ports))
        )
        compiled.append(CompiledTierRule(origin, rule.action, peers, ports))
    return tuple(compiled)


def compile_cluster_policy(policy: ClusterPolicy) -> CompiledClusterPolicy:
    return CompiledClusterPolicy(
        policy,
        _compile_rules(policy, Direction.INGRESS),
        _compile_rules(policy, Direction.EGRESS),
        subject_selection(policy.subject),
    )


def compile_tiers(policies: Iterable[ClusterPolicy]) -> CompiledTiers:
    compiled = [compile_cluster_policy(p) for p in policies]

    def ordered(tier: Tier) -> tuple[CompiledClusterPolicy, ...]:
        found = [c for c in compiled if c.policy.tier is tier]
        return tuple(sorted(found, key=lambda c: c.policy.priority or 0))  # stable

    return CompiledTiers(ordered(Tier.ADMIN), ordered(Tier.BASELINE))
