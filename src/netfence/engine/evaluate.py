"""The per-connection oracle: exact networking.k8s.io/v1 semantics, explained.

Concepts (kubernetes.io, "Network Policies"): "By default, a pod is non-isolated
for egress; all outbound connections are allowed. A pod is isolated for egress
if there is any NetworkPolicy that both selects the pod and has "Egress" in its
policyTypes" (likewise for ingress). "Network policies do not conflict; they are
additive. If any policy or policies apply to a given pod for a given direction,
the connections allowed in that direction from that pod is the union of what
the applicable policies allow." "For a connection from a source pod to a
destination pod to be allowed, both the egress policy on the source pod and the
ingress policy on the destination pod need to allow the connection."
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netfence.compile.compiled import CompiledPolicySet, CompiledRule
from netfence.compile.ir import PeerEnd
from netfence.engine.decision import (
    Decision,
    DirectionVerdict,
    MissCode,
    Outcome,
    RuleMatch,
    RuleMiss,
)
from netfence.model.cluster import Cluster, Pod
from netfence.model.policy import Direction
from netfence.model.traffic import Connection, Endpoint

if TYPE_CHECKING:
    from netfence.engine.tiers import TierVerdict


def evaluate(compiled: CompiledPolicySet, cluster: Cluster, conn: Connection) -> Decision:
    """Decide ``conn``: the source's egress AND the destination's ingress."""
    if conn.src.pod is not None and conn.src.pod == conn.dst.pod:
        return Decision(
            conn,
            DirectionVerdict(Direction.EGRESS, Outcome.LOOPBACK),
            DirectionVerdict(Direction.INGRESS, Outcome.LOOPBACK),
        )
    egress = _direction(compiled, cluster, conn, Direction.EGRESS)
    ingress = _direction(compiled, cluster, conn, Direction.INGRESS)
    return Decision(conn, egress, ingress)


def _direction(
    compiled: CompiledPolicySet, cluster: Cluster, conn: Connection, direction: Direction
) -> DirectionVerdict:
    subject, peer = (conn.src, conn.dst) if direction is Direction.EGRESS else (conn.dst, conn.src)
    if subject.pod is None:
        return DirectionVerdict(direction, Outcome.NOT_A_POD)
    if subject.pod.host_network:
        return DirectionVerdict(direction, Outcome.HOST_NETWORK)
    asked = _Asked(compiled, cluster, conn, direction, subject.pod, peer)
    return _tiered(asked) if compiled.tiers else _network_policies(asked)


@dataclass(frozen=True, slots=True)
class _Asked:
    """One direction of one connection: ``pod`` is the subject (the source for
    egress, the destination for ingress), ``peer`` the other end."""

    compiled: CompiledPolicySet
    cluster: Cluster
    conn: Connection
    direction: Direction
    pod: Pod
    peer: Endpoint


def _tiered(asked: _Asked) -> DirectionVerdict:
    """v1alpha2 (spec.tier): "Policy tiers are evaluated in the following order:
    * Admin tier * NetworkPolicy tier * Baseline tier". "If Admin tier has made a
    final decision (Accept or Deny) on a connection, then no further evaluation is
    done." "v1.NetworkPolicy always makes a final decision for selected pods.
    Further evaluation only happens for Pods not selected by a v1.NetworkPolicy."
    "If a given connection wasn't allowed or denied by any of the tiers, the
    default kubernetes policy is applied, which says that all pods can communicate
    with each other." Pass ("passes evaluation to the next tier") and no match
    both go on."""
    from netfence.engine.tiers import Traffic, evaluate_tier  # not at start-up
    from netfence.model.tiers import Tier

    conn, direction, pod = asked.conn, asked.direction, asked.pod
    ns_labels = asked.cluster.namespace_labels(pod.namespace)
    end = _peer_end(asked.cluster, asked.peer, direction)
    traffic = Traffic(conn.port, conn.protocol, conn.dst.pod)

    def ask(tier: Tier) -> TierVerdict:
        return evaluate_tier(asked.compiled.tiers, tier, direction, pod, ns_labels, end, traffic)

    admin = ask(Tier.ADMIN)
    consulted: tuple[TierVerdict, ...] = (admin,) if admin.policies else ()
    if admin.final:
        return DirectionVerdict(direction, _final(admin), tiers=consulted)
    verdict = _network_policies(asked)
    if verdict.outcome is not Outcome.NOT_ISOLATED:
        return replace(verdict, tiers=consulted)
    baseline = ask(Tier.BASELINE)
    consulted += (baseline,) if baseline.policies else ()
    if baseline.final:
        return DirectionVerdict(direction, _final(baseline), tiers=consulted)
    return DirectionVerdict(direction, Outcome.NOT_ISOLATED, tiers=consulted)


_FINAL = {  # (tier, answer) values: the tier modules load only when there are tiers
    ("Admin", "accept"): Outcome.ADMIN_ACCEPT,
    ("Admin", "deny"): Outcome.ADMIN_DENY,
    ("Baseline", "accept"): Outcome.BASELINE_ACCEPT,
    ("Baseline", "deny"): Outcome.BASELINE_DENY,
}


def _final(verdict: TierVerdict) -> Outcome:
    return _FINAL[verdict.tier.value, verdict.answer.value]


def _peer_end(
    cluster: Cluster, peer: Endpoint, direction: Direction, with_node: bool = True
) -> PeerEnd:
    """The other end as peers see it: with the node owning its address (only tier
    peers select nodes). A name counts only for egress, where ``domainNames`` peers
    exist."""
    pod = _selectable(peer.pod)
    labels = cluster.namespace_labels(pod.namespace) if pod is not None else {}
    node = cluster.node_by_ip(peer.ip) if with_node and peer.ip is not None else None
    name = peer.name if direction is Direction.EGRESS else None
    return PeerEnd(peer.ip, pod, labels, node, name)


def _network_policies(asked: _Asked) -> DirectionVerdict:
    """The NetworkPolicy tier: isolated pods get the union of what their policies
    allow; a pod no policy isolates is NOT_ISOLATED.

    API reference (NetworkPolicySpec.ingress): "Traffic is allowed to a pod if there
    are no NetworkPolicies selecting the pod (and cluster policy otherwise allows
    the traffic), OR if the traffic source is the pod's local node, OR if the
    traffic matches at least one ingress rule across all of the NetworkPolicy
    objects whose podSelector matches the pod." The local node: the source address
    is one of the addresses of the node the pod runs on (a hostNetwork pod there
    has the node's address)."""
    cluster, conn, direction, pod, peer = (
        asked.cluster, asked.conn, asked.direction, asked.pod, asked.peer
    )  # fmt: skip
    policies = asked.compiled.selecting(pod, direction)
    if not policies:
        return DirectionVerdict(direction, Outcome.NOT_ISOLATED)
    if direction is Direction.INGRESS and _from_local_node(cluster, peer, pod):
        keys = tuple(p.policy.key for p in policies)
        return DirectionVerdict(direction, Outcome.LOCAL_NODE, keys)
    matches: list[RuleMatch] = []
    misses: list[RuleMiss] = []
    end = _peer_end(cluster, peer, direction, with_node=False)
    for policy in policies:
        rules = policy.rules(direction)
        if not rules:
            misses.append(RuleMiss(policy.policy.key, None, MissCode.NO_RULES))
        for rule in rules:
            result = _match_rule(rule, end, conn)
            if isinstance(result, RuleMatch):
                matches.append(result)
            else:
                misses.append(_miss(policy.policy.key, rule, result))
    outcome = Outcome.ALLOWED_BY_RULE if matches else Outcome.NO_RULE_MATCHED
    return DirectionVerdict(
        direction,
        outcome,
        tuple(p.policy.key for p in policies),
        tuple(matches),
        tuple(misses),
    )


def _match_rule(rule: CompiledRule, end: PeerEnd, conn: Connection) -> RuleMatch | MissCode:
    """A RuleMatch when ``rule`` allows ``conn``, else why it does not.

    API reference (rule.from / rule.to): "If this field is empty or missing, this
    rule matches all sources [destinations] [...]. If this field is present and
    contains at least one item, this rule allows traffic only if the traffic
    matches at least one item in the from list." An ApplicationNetworkPolicy's
    ``domainNames`` peer matches a connection made to one of its names (egress
    only: a destination's name). (ports): "If this field is empty
    or missing, this rule matches all ports [...]. If this field is present and
    contains at least one item, then this rule allows traffic only if the traffic
    matches at least one port in the list." Both must hold.
    """
    peer_hit = None
    if rule.peers is not None:
        peer_hit = next((m for m in rule.peers if m.matches(end)), None)
        if peer_hit is None and rule.names:
            peer_hit = next((m for m in rule.names if m.matches(end)), None)
        if peer_hit is None:
            return MissCode.NO_PEER_MATCHES
    port_hit = None
    if rule.ports is not None:
        dst = conn.dst.pod
        port_hit = next((m for m in rule.ports if m.matches(conn.port, conn.protocol, dst)), None)
        if port_hit is None:
            return MissCode.NO_PORT_MATCHES
    return RuleMatch(
        rule.origin,
        None if peer_hit is None else peer_hit.index,
        None if port_hit is None else port_hit.index,
        None if peer_hit is None else peer_hit.peer,
        None if port_hit is None else port_hit.port,
    )


def _miss(policy: str, rule: CompiledRule, code: MissCode) -> RuleMiss:
    peers = len(rule.peers) + len(rule.names) if rule.peers is not None else 0
    ports = tuple(m.port for m in rule.ports) if rule.ports is not None else ()
    return RuleMiss(policy, rule.origin, code, peers, ports)


def _from_local_node(cluster: Cluster, peer: Endpoint, pod: Pod) -> bool:
    """Is the source address one of the addresses of ``pod``'s own node?"""
    if peer.ip is None or pod.node is None:
        return False
    node = cluster.node_by_ip(peer.ip)
    return node is not None and node.name == pod.node


def _selectable(pod: Pod | None) -> Pod | None:
    """Pods that selectors can match: hostNetwork pods are not among them."""
    return None if pod is None or pod.host_network else pod
