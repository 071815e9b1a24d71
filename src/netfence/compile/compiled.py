"""Each policy compiled once into a target and short lists of peer and port matchers.

Every matcher keeps the policy, rule and item it came from, so any verdict can be
explained rule by rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netfence.compile.ir import (
    NamesMatching,
    PeerEnd,
    PortSelection,
    Selection,
    of_peer,
    of_policy_port,
)
from netfence.model.cluster import Pod
from netfence.model.labels import LabelSelector
from netfence.model.policy import Direction, NetworkPolicy, Peer
from netfence.model.ports import PolicyPort, Protocol

if TYPE_CHECKING:
    from netfence.compile.tiers import CompiledClusterPolicy
    from netfence.model.tiers import ClusterPolicy, Tier


@dataclass(frozen=True, slots=True)
class RuleRef:
    """Where a matcher came from: ``ui/allow-ui-egress`` ``spec.egress[0]``."""

    policy: str
    direction: Direction
    rule: int

    @property
    def path(self) -> str:
        return f"spec.{self.direction.rules_field}[{self.rule}]"

    def format(self) -> str:
        return f"{self.policy} {self.path}"


@dataclass(frozen=True, slots=True)
class PeerMatcher:
    """One peer of a rule and its selection (compile/ir.py: decided once here, with
    the API text quoted there). ``peer`` is the peer as written, for display."""

    origin: RuleRef
    index: int
    peer: Peer
    policy_namespace: str
    selection: Selection

    @property
    def path(self) -> str:
        return f"{self.origin.path}.{self.origin.direction.peers_field}[{self.index}]"

    def matches(self, end: PeerEnd) -> bool:
        """Does this peer cover the other end of the connection? (A hostNetwork pod
        is no ``end.pod``: selectors select *Pods*, and hostNetwork pods are not
        selectable, as in the upstream conformance tests; an ipBlock matches their
        address.)"""
        return self.selection.covers(end)


@dataclass(frozen=True, slots=True)
class PortMatcher:
    """One NetworkPolicyPort of a rule and its port selection."""

    origin: RuleRef
    index: int
    port: PolicyPort
    selection: PortSelection

    @property
    def path(self) -> str:
        return f"{self.origin.path}.ports[{self.index}]"

    def matches(self, port: int, protocol: Protocol, destination: Pod | None) -> bool:
        """API reference: "If present, only traffic on the specified protocol AND
        port will be matched." """
        return self.selection.matches(port, protocol, destination)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """``peers`` None: the rule has none and matches every address. An EKS
    ApplicationNetworkPolicy's ``domainNames`` peers ("mutually exclusive with
    PodSelector, NamespaceSelector, and IPBlock") are kept apart in ``names``: a
    rule whose peers are all names has ``peers == ()``, so every consumer of the
    address peers reads it as matching no address, never as a rule without peers.
    A name matches a connection made to it, never one made to an address."""

    origin: RuleRef
    peers: tuple[PeerMatcher, ...] | None
    ports: tuple[PortMatcher, ...] | None
    names: tuple[PeerMatcher, ...] = ()


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    policy: NetworkPolicy
    target: LabelSelector
    ingress: tuple[CompiledRule, ...]
    egress: tuple[CompiledRule, ...]

    def rules(self, direction: Direction) -> tuple[CompiledRule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress

    def selects(self, pod: Pod) -> bool:
        """API reference (spec.podSelector): "Selects the pods to which this
        NetworkPolicy object applies. [...] An empty podSelector selects all pods
        in this namespace." HostNetwork pods are never selected."""
        return (
            not pod.host_network
            and pod.namespace == self.policy.namespace
            and self.target.matches(pod.labels)
        )


@dataclass(frozen=True)
class CompiledTiers:
    """The Admin and Baseline tiers, each in order of precedence: "Policies with
    lower priority values have higher precedence, and are checked before policies
    with higher priority values in the same tier." Equal priorities keep their
    input order here; the engine reports them as ambiguous."""

    admin: tuple[CompiledClusterPolicy, ...] = ()
    baseline: tuple[CompiledClusterPolicy, ...] = ()

    def tier(self, tier: Tier) -> tuple[CompiledClusterPolicy, ...]:
        return self.admin if tier.value == "Admin" else self.baseline  # no import at start-up

    def __bool__(self) -> bool:
        return bool(self.admin or self.baseline)


@dataclass(frozen=True)
class CompiledPolicySet:
    """All policies, compiled, indexed by namespace."""

    policies: tuple[CompiledPolicy, ...]
    # the Admin and Baseline tiers around the NetworkPolicy tier (compile/tiers.py)
    tiers: CompiledTiers = field(default_factory=CompiledTiers)
    by_namespace: dict[str, tuple[CompiledPolicy, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _selecting: dict[tuple[object, ...], tuple[CompiledPolicy, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        grouped: dict[str, list[CompiledPolicy]] = {}
        for compiled in self.policies:
            grouped.setdefault(compiled.policy.namespace, []).append(compiled)
        self.by_namespace.update((ns, tuple(items)) for ns, items in grouped.items())

    def selecting(self, pod: Pod, direction: Direction) -> tuple[CompiledPolicy, ...]:
        """The policies that select ``pod`` and isolate it for ``direction``
        (remembered per namespace, labels and hostNetwork: all that selection reads)."""
        key = (pod.namespace, pod.labels, pod.host_network, direction)
        found = self._selecting.get(key)
        if found is None:
            found = self._selecting[key] = tuple(
                c
                for c in self.by_namespace.get(pod.namespace, ())
                if c.policy.isolates(direction) and c.selects(pod)
            )
        return found


def _compile_rule(policy: NetworkPolicy, direction: Direction, index: int) -> CompiledRule:
    rule = policy.rules(direction)[index]
    origin = RuleRef(policy.key, direction, index)
    ports = (
        tuple(PortMatcher(origin, i, p, of_policy_port(p)) for i, p in enumerate(rule.ports))
        if rule.ports
        else None
    )
    if not rule.peers:
        return CompiledRule(origin, None, ports)
    matchers = [
        PeerMatcher(origin, i, p, policy.namespace, of_peer(p, policy.namespace))
        for i, p in enumerate(rule.peers)
    ]
    peers = tuple(m for m in matchers if not isinstance(m.selection, NamesMatching))
    names = tuple(m for m in matchers if isinstance(m.selection, NamesMatching))
    return CompiledRule(origin, peers, ports, names)


def compile_policy(policy: NetworkPolicy) -> CompiledPolicy:
    return CompiledPolicy(
        policy=policy,
        target=policy.pod_selector,
        ingress=tuple(
            _compile_rule(policy, Direction.INGRESS, i) for i in range(len(policy.ingress))
        ),
        egress=tuple(_compile_rule(policy, Direction.EGRESS, i) for i in range(len(policy.egress))),
    )


def compile_policies(
    policies: Iterable[NetworkPolicy], cluster_policies: Iterable[ClusterPolicy] = ()
) -> CompiledPolicySet:
    """NetworkPolicies and, when given, the cluster-wide tiers around them."""
    tiers = CompiledTiers()
    if cluster_policies:
        from netfence.compile.tiers import compile_tiers  # only when there are some

        tiers = compile_tiers(cluster_policies)
    return CompiledPolicySet(tuple(compile_policy(p) for p in policies), tiers)
