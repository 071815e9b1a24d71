"""The cluster-wide policy tiers as frozen values: AdminNetworkPolicy and
BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1), ClusterNetworkPolicy
(policy.networking.k8s.io/v1alpha2, and Amazon EKS's networking.k8s.aws/v1alpha1).

One shape for all four kinds: each becomes a ``ClusterPolicy`` with a tier, a
priority, a subject and ordered rules whose action is Accept, Deny or Pass. What
differs between the kinds (the word ``Allow`` of v1alpha1 for ``Accept``; the
``ports`` schema of v1alpha1 and of EKS against the ``protocols`` schema of
v1alpha2; which peers exist) is settled by the parser, so every consumer reads
one model. EKS's namespaced ApplicationNetworkPolicy is a NetworkPolicy (the
NetworkPolicy tier) and is not modelled here.

network-policy-api v1alpha2 (ClusterNetworkPolicySpec.tier): "Policy tiers are
evaluated in the following order: * Admin tier * NetworkPolicy tier * Baseline
tier". "If a given connection wasn't allowed or denied by any of the tiers, the
default kubernetes policy is applied, which says that all pods can communicate
with each other."
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from netfence.model.diagnostics import Source
from netfence.model.labels import LabelSelector
from netfence.model.policy import Direction, IPNetwork
from netfence.model.ports import Protocol


class Tier(enum.Enum):
    """The two cluster-wide tiers; the NetworkPolicy tier lies between them."""

    ADMIN = "Admin"
    BASELINE = "Baseline"


class RuleAction(enum.Enum):
    """v1alpha2: "Accept: Accepts the selected traffic [...] No further
    ClusterNetworkPolicy or NetworkPolicy rules will be processed." "Deny: Drops
    the selected traffic. No further ClusterNetworkPolicy or NetworkPolicy rules
    will be processed." "Pass: Skips all further ClusterNetworkPolicy rules in the
    current tier for the selected traffic, and passes evaluation to the next
    tier." v1alpha1 spells Accept ``Allow``; BaselineAdminNetworkPolicy has no Pass.
    """

    ACCEPT = "Accept"
    DENY = "Deny"
    PASS = "Pass"


class TierKind(enum.Enum):
    """Which API a cluster-wide policy was written in: (group, version, kind)."""

    ADMIN_NETWORK_POLICY = ("policy.networking.k8s.io", "v1alpha1", "AdminNetworkPolicy")
    BASELINE_ADMIN_NETWORK_POLICY = (
        "policy.networking.k8s.io",
        "v1alpha1",
        "BaselineAdminNetworkPolicy",
    )
    CLUSTER_NETWORK_POLICY = ("policy.networking.k8s.io", "v1alpha2", "ClusterNetworkPolicy")
    EKS_CLUSTER_NETWORK_POLICY = ("networking.k8s.aws", "v1alpha1", "ClusterNetworkPolicy")

    @property
    def group(self) -> str:
        return self.value[0]

    @property
    def api_version(self) -> str:
        return f"{self.value[0]}/{self.value[1]}"

    @property
    def kind(self) -> str:
        return self.value[2]


@dataclass(frozen=True, slots=True)
class NamespacedPods:
    """NamespacedPod: "NamespaceSelector follows standard label selector
    semantics; if empty, it selects all Namespaces." "PodSelector is used to
    explicitly select pods within a namespace; if empty, it selects all Pods."
    """

    namespace_selector: LabelSelector
    pod_selector: LabelSelector


@dataclass(frozen=True, slots=True)
class Subject:
    """Exactly one of the two is set. "Note that host-networked pods are not
    included in subject selection." (``namespaces``: every pod of the selected
    namespaces.)"""

    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None


@dataclass(frozen=True, slots=True)
class TierPeer:
    """One peer of a rule: exactly one field is set.

    ``namespaces``/``pods`` select pods (never host-networked ones); ``nodes``
    selects nodes' addresses (egress only); ``networks`` are CIDRs that "will be
    checked against [cluster-internal traffic] as well"; ``domain_names`` are
    egress-only names (Accept rules only in v1alpha2).
    """

    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None
    nodes: LabelSelector | None = None
    networks: tuple[IPNetwork, ...] | None = None
    domain_names: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class PortRange:
    """A destination port or inclusive range on one protocol (``start == end`` for
    a single port). v1alpha2 ``protocols: [{tcp: {}}]`` is not valid (MinProperties),
    so every range names at least one port."""

    protocol: Protocol
    start: int
    end: int

    def contains(self, protocol: Protocol, port: int) -> bool:
        return protocol is self.protocol and self.start <= port <= self.end


@dataclass(frozen=True, slots=True)
class NamedPort:
    """A container port name, looked up on the destination pod. v1alpha2
    (destinationNamedPort) and v1alpha1 (namedPort) give no protocol: the name
    decides it ("You can't use this in a rule that targets resources without named
    ports (e.g. Nodes or Networks)")."""

    name: str


TierPort = PortRange | NamedPort


@dataclass(frozen=True, slots=True)
class TierRule:
    """One ingress or egress rule. ``ports`` None: "If unspecified,
    protocol-specific attributes will not be used to match traffic."
    ``index`` is the rule's place in its list (rules match in written order)."""

    index: int
    name: str
    action: RuleAction
    peers: tuple[TierPeer, ...]
    ports: tuple[TierPort, ...] | None = None


@dataclass(frozen=True, slots=True)
class ClusterPolicy:
    """One cluster-wide policy of any of the four kinds.

    ``priority``: "a value from 0 to 1000 indicating the precedence of the policy
    within its tier. Policies with lower priority values have higher precedence".
    None for a BaselineAdminNetworkPolicy (a singleton named ``default``, without
    priority). Rules: "The relative precedence of ingress rules within a single
    CNP object (all of which share the priority) will be determined by the order
    in which the rule is written."
    """

    kind: TierKind
    name: str
    tier: Tier
    priority: int | None
    subject: Subject
    ingress: tuple[TierRule, ...] = ()
    egress: tuple[TierRule, ...] = ()
    source: Source | None = None

    @property
    def key(self) -> str:
        """Unique across kinds: the two ClusterNetworkPolicy APIs may share a name."""
        return f"{self.kind.kind}.{self.kind.group}/{self.name}"

    def rules(self, direction: Direction) -> tuple[TierRule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress


UPSTREAM_KEY_GROUP = ".policy.networking.k8s.io/"


def short_key(key: str) -> str:
    """A ``ClusterPolicy.key`` as messages show it: ``AdminNetworkPolicy/x`` for the
    upstream kinds; the EKS kind keeps its group
    (``ClusterNetworkPolicy.networking.k8s.aws/x``) so that the two
    ClusterNetworkPolicy APIs never read alike."""
    return key.replace(UPSTREAM_KEY_GROUP, "/", 1)
