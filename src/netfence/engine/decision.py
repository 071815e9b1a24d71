"""Verdicts as data. Formatting them is render's job."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netfence.compile.compiled import RuleRef
from netfence.model.policy import Direction, Peer
from netfence.model.ports import PolicyPort
from netfence.model.traffic import Connection

if TYPE_CHECKING:
    from netfence.engine.tiers import TierVerdict


class Outcome(enum.Enum):
    """Why one direction allowed or denied."""

    NOT_A_POD = "not-a-pod"  # the endpoint is outside the pods: no policy applies
    HOST_NETWORK = "host-network"  # hostNetwork pods are never selected by policies
    NOT_ISOLATED = "not-isolated"  # no policy selects the pod for this direction
    ALLOWED_BY_RULE = "allowed-by-rule"
    NO_RULE_MATCHED = "no-rule-matched"
    LOOPBACK = "loopback"  # a pod talking to itself: allowed by convention
    # NetworkPolicySpec.ingress: "the traffic source is the pod's local node"
    LOCAL_NODE = "local-node"
    # the cluster-wide tiers (engine/tiers.py): a final answer of the Admin tier,
    # before any NetworkPolicy, or of the Baseline tier, for a pod no NetworkPolicy
    # isolates
    ADMIN_ACCEPT = "admin-accept"
    ADMIN_DENY = "admin-deny"
    BASELINE_ACCEPT = "baseline-accept"
    BASELINE_DENY = "baseline-deny"

    @property
    def allowed(self) -> bool:
        return self not in _DENYING


_DENYING = frozenset({Outcome.NO_RULE_MATCHED, Outcome.ADMIN_DENY, Outcome.BASELINE_DENY})


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """A rule that allowed the connection, with the peer and port items that matched.

    ``peer`` / ``port`` are the items' indices, and ``peer_spec`` / ``port_spec``
    the items themselves; None when the rule had no peers / ports (matches all).
    """

    rule: RuleRef
    peer: int | None
    port: int | None
    peer_spec: Peer | None = None
    port_spec: PolicyPort | None = None


class MissCode(enum.Enum):
    """Why a selecting policy's rule did not allow the connection (render/ words it)."""

    NO_RULES = "no-rules"  # the policy has no rules for the direction: it allows nothing
    NO_PEER_MATCHES = "no-peer-matches"  # the other end is none of the rule's peers
    NO_PORT_MATCHES = "no-port-matches"  # the port is none of the rule's ports


@dataclass(frozen=True, slots=True)
class RuleMiss:
    """A selecting policy's rule that did not allow the connection, and why.

    ``rule`` is None for NO_RULES. ``peers``: how many peers the rule has
    (NO_PEER_MATCHES); ``ports``: the rule's ports (NO_PORT_MATCHES).
    """

    policy: str
    rule: RuleRef | None
    code: MissCode
    peers: int = 0
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True, slots=True)
class DirectionVerdict:
    direction: Direction
    outcome: Outcome
    policies: tuple[str, ...] = ()  # the policies selecting the pod for this direction
    matches: tuple[RuleMatch, ...] = ()
    misses: tuple[RuleMiss, ...] = ()
    # the cluster-wide tiers that had the pod as a subject, in the order they were
    # asked (Admin, then Baseline when neither Admin nor a NetworkPolicy decided)
    tiers: tuple[TierVerdict, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.outcome.allowed


@dataclass(frozen=True, slots=True)
class Decision:
    """API reference: a connection is allowed only if the source's egress and the
    destination's ingress both allow it."""

    connection: Connection
    egress: DirectionVerdict
    ingress: DirectionVerdict

    @property
    def allowed(self) -> bool:
        return self.egress.allowed and self.ingress.allowed
