"""networking.k8s.io/v1 NetworkPolicy as frozen values."""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from netfence.model.diagnostics import Source
from netfence.model.labels import LabelSelector
from netfence.model.ports import PolicyPort

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Direction(enum.Enum):
    INGRESS = "Ingress"
    EGRESS = "Egress"

    @property
    def rules_field(self) -> str:
        return "ingress" if self is Direction.INGRESS else "egress"

    @property
    def peers_field(self) -> str:
        return "from" if self is Direction.INGRESS else "to"


@dataclass(frozen=True, slots=True)
class IPBlock:
    """API reference: "IPBlock describes a particular CIDR (Ex. "192.168.1.0/24",
    "2001:db8::/64") that is allowed to the pods matched by a NetworkPolicySpec's
    podSelector. The except entry describes CIDRs that should not be included
    within this rule."
    """

    cidr: IPNetwork
    except_: tuple[IPNetwork, ...] = ()

    def contains(self, ip: IPAddress) -> bool:
        if ip.version != self.cidr.version or ip not in self.cidr:
            return False
        return not any(ip in excluded for excluded in self.except_)

    def format(self) -> str:
        if not self.except_:
            return f"ipBlock {self.cidr}"
        return f"ipBlock {self.cidr} except {', '.join(str(e) for e in self.except_)}"


@dataclass(frozen=True, slots=True)
class Peer:
    """One NetworkPolicyPeer: either selectors (ANDed) or an ipBlock.

    ``pod_selector`` None means the field was absent; ``namespace_selector`` None
    likewise. An ipBlock peer has neither. ``domain_names`` is set only on an
    egress peer of an EKS ApplicationNetworkPolicy, and then alone: "This field is
    mutually exclusive with PodSelector, NamespaceSelector, and IPBlock."
    """

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None
    domain_names: tuple[str, ...] | None = None

    def format(self) -> str:
        if self.domain_names is not None:
            return f"domainNames {', '.join(self.domain_names)}"
        if self.ip_block is not None:
            return self.ip_block.format()
        parts = []
        if self.namespace_selector is not None:
            parts.append(f"namespaceSelector {self.namespace_selector.format()}")
        if self.pod_selector is not None:
            parts.append(f"podSelector {self.pod_selector.format()}")
        return " AND ".join(parts)


@dataclass(frozen=True, slots=True)
class Rule:
    """One ingress or egress rule.

    ``peers`` / ``ports`` None means the field was absent or empty: API reference:
    "If this field is empty or missing, this rule matches all sources" (resp.
    destinations, ports).
    """

    peers: tuple[Peer, ...] | None = None
    ports: tuple[PolicyPort, ...] | None = None


class PolicyOrigin(enum.Enum):
    """The kind a NetworkPolicy-tier policy was written as. Amazon EKS's
    ApplicationNetworkPolicy (networking.k8s.aws/v1alpha1, short name ``anp``, like
    AdminNetworkPolicy's) is a namespaced NetworkPolicy whose egress peers may also
    be ``domainNames``."""

    NETWORK_POLICY = "NetworkPolicy"
    APPLICATION_NETWORK_POLICY = "ApplicationNetworkPolicy"


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    namespace: str
    name: str
    pod_selector: LabelSelector
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]
    policy_types: frozenset[Direction]
    source: Source | None = None
    origin: PolicyOrigin = PolicyOrigin.NETWORK_POLICY

    @property
    def key(self) -> str:
        """``namespace/name``; an ApplicationNetworkPolicy's is prefixed with its
        kind, so that it never collides with a NetworkPolicy of the same name."""
        if self.origin is PolicyOrigin.APPLICATION_NETWORK_POLICY:
            return f"{self.origin.value}:{self.namespace}/{self.name}"
        return f"{self.namespace}/{self.name}"

    def rules(self, direction: Direction) -> tuple[Rule, ...]:
        return self.ingress if direction is Direction.INGRESS else self.egress

    def isolates(self, direction: Direction) -> bool:
        return direction in self.policy_types


def effective_policy_types(
    declared: frozenset[Direction] | None, egress_rule_count: int
) -> frozenset[Direction]:
    """API reference (policyTypes): "If this field is not specified, it will
    default based on the existence of ingress or egress rules; policies that
    contain an egress section are assumed to affect egress, and all policies
    (whether or not they contain an ingress section) are assumed to affect
    ingress."

    The API server's defaulting tests ``len(spec.egress) != 0``, so ``egress: []``
    is not an egress section.
    """
    if declared:
        return declared
    if egress_rule_count > 0:
        return frozenset({Direction.INGRESS, Direction.EGRESS})
    return frozenset({Direction.INGRESS})
