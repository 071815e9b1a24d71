"""The cluster-wide tiers (Admin, Baseline) as nftables rules of one node.

network-policy-api v1alpha2 (spec.tier): "Policy tiers are evaluated in the
following order: * Admin tier * NetworkPolicy tier * Baseline tier". "If Admin
tier has made a final decision (Accept or Deny) on a connection, then no further
evaluation is done." "v1.NetworkPolicy always makes a final decision for selected
pods. Further evaluation only happens for Pods not selected by a
v1.NetworkPolicy." (RuleAction) "Pass: Skips all further ClusterNetworkPolicy
rules in the current tier for the selected traffic, and passes evaluation to the
next tier."

Layout (docs/nft.md): each base chain looks up the pod's address in the Admin
verdict map, then the NetworkPolicy map, then the Baseline map. A tier map sends
the pod to a chain named by content holding the rules of every policy of the tier
whose subject is the pod, policies by priority (equal priorities in input order,
as the engine), rules as written: Accept is ``accept`` (ends only this base chain:
the other direction is still judged), Deny is the configured deny (final), Pass
is ``return`` (on to the next map); the end of the chain is no match (``return``).
A pod some NetworkPolicy isolates in a direction never reaches the Baseline map
(its NetworkPolicy chain ends in accept or deny), and is not put there.

Addresses whose owner is in doubt (claimed by two pods, or quarantined) go to the
deny-only chain from the Admin map, before any tier. As a peer, such an address
is matched by a rule only when every pod claiming it matches; where some but not
all do, the rule denies it (a Deny rule denies it as it would any match): Accept
or Pass given for one claimant could be the looser treatment for the other one.

``domainNames`` peers match a connection made to a name; the dataplane sees only
addresses (and the engine never matches them for a connection made to an
address), so they are left out here and listed by ``unenforced_rules``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol as Interface

from netfence.compile.addresses import AddressRanges, Ranges, merge_ranges
from netfence.compile.compiled import CompiledTiers
from netfence.compile.ir import (
    AddressesIn,
    NamesMatching,
    NodesSelected,
    PeerEnd,
    PodsSelected,
    PortNamed,
    Selection,
)
from netfence.compile.tiers import (
    CompiledClusterPolicy,
    CompiledTierRule,
    TierRuleRef,
)
from netfence.model.cluster import Node, Pod
from netfence.model.labels import Labels, LabelSelector
from netfence.model.policy import Direction, IPAddress
from netfence.model.ports import Protocol
from netfence.model.tiers import RuleAction, Tier
from netfence.nft.compiler import FAMILIES, IP_KEYWORD, ports_text

Entry = tuple[IPAddress, Protocol, int]
TierChainKey = tuple[Tier, Direction, tuple[str, ...]]


@dataclass(frozen=True)
class TierInput:
    """The compiled tiers and the nodes (whose addresses ``nodes`` peers match)."""

    tiers: CompiledTiers
    nodes: tuple[Node, ...] = ()
    _by_ip: dict[IPAddress, Node] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for node in self.nodes:  # as Cluster.node_by_ip: the last node with an address
            self._by_ip.update((ip, node) for ip in node.ips)

    def node_ranges(self, selector: LabelSelector, family: int) -> list[tuple[int, int]]:
        """ "It selects the nodeIPs as the peer type by matching on the IPs present in
        the node.Status.Addresses field of the node." """
        return [
            (int(ip), int(ip))
            for ip, node in self._by_ip.items()
            if ip.version == family and selector.matches(node.labels)
        ]


def unenforced_rules(tiers: CompiledTiers) -> tuple[TierRuleRef, ...]:
    """Rules with a ``domainNames`` peer: that peer is left out of the dataplane."""
    return tuple(
        rule.origin
        for policy in (*tiers.admin, *tiers.baseline)
        for direction in (Direction.EGRESS, Direction.INGRESS)
        for rule in policy.rules(direction)
        if any(isinstance(m.selection, NamesMatching) for m in rule.peers)
    )


def _numbers(pod: Pod, names: Sequence[str]) -> set[tuple[Protocol, int]]:
    """What a named port is on ``pod``: "selects a destination port on a pod based on
    the ContainerPort name" (any protocol: the traffic's decides)."""
    found = set()
    for name in names:
        for protocol in Protocol:
            number = pod.named_port(name, protocol)
            if number is not None:
                found.add((protocol, number))
    return found


def _covers(ranges: Ranges, address: int) -> bool:
    return any(lo <= address <= hi for lo, hi in ranges)


class TierLookup(Interface):
    """What the tier rules ask about pods and sets (nft.compiler.PeerLookup)."""

    def address_set(self, family: int, ranges: Ranges, owner: object = None) -> str | None: ...
    def named_set(self, family: int, entries: Iterable[Entry]) -> str | None: ...
    def peer_pods(self, selection: PodsSelected) -> Iterable[Pod]: ...
    def peer_ranges(self, peers: Sequence[Selection], family: int) -> Ranges: ...
    def contested(self, family: int) -> Mapping[int, object]: ...
    def claimants(self, family: int, address: int) -> tuple[Pod | None, ...]: ...
    def namespace_labels_of(self, namespace: str) -> Labels: ...
    def pods_in(self, addresses: AddressRanges, family: int) -> Iterable[Pod]: ...


class TierRuleLines:
    """The nft rules of one tier policy in one direction, in written order."""

    def __init__(
        self, lookup: TierLookup, tiers: TierInput, deny_rule: str, local: Sequence[Pod]
    ) -> None:
        self.b = lookup
        self.tiers = tiers
        self.deny_rule = deny_rule
        self.local = local  # the pods this node dispatches (the only ingress destinations)

    def policy_lines(self, policy: CompiledClusterPolicy, direction: Direction) -> tuple[str, ...]:
        lines = [line for rule in policy.rules(direction) for line in self.rule_lines(policy, rule)]
        return tuple(dict.fromkeys(lines))  # a repeated line never matches anything new

    def verdict(self, action: RuleAction) -> str:
        if action is RuleAction.ACCEPT:
            return "accept"  # ends this base chain only: the other direction is judged
        if action is RuleAction.PASS:
            return "return"  # on to the next tier's map
        return self.deny_rule

    def rule_lines(self, policy: CompiledClusterPolicy, rule: CompiledTierRule) -> list[str]:
        """ "If any element matches the source of incoming traffic [destination of
        outgoing traffic] then the specified action is applied." (ports) "If
        unspecified, protocol-specific attributes will not be used to match
        traffic." A rule matching some but not all pods claiming an address denies
        that address (fail closed)."""
        direction = rule.origin.direction
        side = "daddr" if direction is Direction.EGRESS else "saddr"
        verdict = self.verdict(rule.action)
        numeric, names = _rule_ports(rule)
        lines: list[str] = []
        for family in FAMILIES:
            full, partial = self._peer_addresses(rule, family)
            if rule.action is RuleAction.DENY:
                full, partial = merge_ranges(list(full) + list(partial)), ()
            sets = [
                (self.b.address_set(family, ranges, (rule.origin, tag)), v)
                for ranges, v, tag in ((partial, self.deny_rule, "partial"), (full, verdict, ""))
                if ranges
            ]
            for name, v in sets:
                if name is None:
                    continue
                address = f"{IP_KEYWORD[family]} {side} @{name} "
                if rule.ports is None:
                    lines.append(f"{address}{v}")
                for proto, text in numeric:
                    lines.append(f"{address}meta l4proto {proto} th dport {text} {v}")
            if names:
                lines.extend(self._named_lines(policy, rule, family, names, sets, verdict))
        return lines

    def _peer_addresses(self, rule: CompiledTierRule, family: int) -> tuple[Ranges, Ranges]:
        """The addresses every claimant of which matches a peer, and the contested
        ones some (not all) claimants of which match one."""
        peers = address_selections(rule)
        nodes = self._node_ranges(rule, family)
        full: Ranges = self.b.peer_ranges(peers, family) if peers else ()
        if nodes:
            full = merge_ranges([*full, *nodes])
        selectors = [s for s in peers if isinstance(s, PodsSelected)]
        partial = []
        if selectors:
            for address in self.b.contested(family):
                if _covers(full, address):
                    continue
                if any(self._matches(selectors, pod) for pod in self.b.claimants(family, address)):
                    partial.append((address, address))
        return full, merge_ranges(partial)

    def _node_ranges(self, rule: CompiledTierRule, family: int) -> list[tuple[int, int]]:
        return [
            r for s in node_selections(rule) for r in self.tiers.node_ranges(s.selector, family)
        ]

    def _matches(self, selectors: Sequence[PodsSelected], pod: Pod | None) -> bool:
        if pod is None:
            return False  # a pod that could not be read matches nothing
        labels = self.b.namespace_labels_of(pod.namespace)
        return any(s.covers(PeerEnd(None, pod, labels)) for s in selectors)

    def _named_lines(
        self,
        policy: CompiledClusterPolicy,
        rule: CompiledTierRule,
        family: int,
        names: Sequence[str],
        sets: Sequence[tuple[str | None, str]],
        verdict: str,
    ) -> list[str]:
        """Named ports resolve on the destination pod: for egress the peer pods
        (``networks``/``nodes`` peers cannot have named ports), for ingress the
        pods of the subject that this node dispatches (no other destination
        reaches the chain). ``address . protocol . port`` sets."""
        ip = IP_KEYWORD[family]
        match = f"{ip} daddr . meta l4proto . th dport"
        if rule.origin.direction is Direction.INGRESS:
            subject = policy.subject
            self.b.peer_ranges((subject,), family)  # (kept models: made again when it changes)
            pods = [p for p in self.local if self._matches([subject], p)]
            entries = [
                (a, proto, n)
                for pod in pods
                if (a := pod.ip_of_version(family)) is not None
                for proto, n in _numbers(pod, names)
            ]
            name = self.b.named_set(family, entries)
            if name is None:
                return []
            return [f"{ip} saddr @{s} {match} @{name} {v}" for s, v in sets if s is not None]
        full, partial = self._named_entries(rule, family, names)
        if rule.action is RuleAction.DENY:
            full, partial = [*full, *partial], []
        lines = []
        for entries, v in ((partial, self.deny_rule), (full, verdict)):
            name = self.b.named_set(family, entries)
            if name is not None:
                lines.append(f"{match} @{name} {v}")
        return lines

    def _named_entries(
        self, rule: CompiledTierRule, family: int, names: Sequence[str]
    ) -> tuple[list[Entry], list[Entry]]:
        """Egress: the peer pods' named ports; at a contested address an entry is
        full when every claimant matches the peer and has that port, partial when
        some do."""
        candidates: dict[str, Pod] = {}
        for s in address_selections(rule):
            if isinstance(s, PodsSelected):
                pods = self.b.peer_pods(s)
            else:
                pods = self.b.pods_in(s.addresses, family)
            candidates.update((p.key, p) for p in pods)
        for lo, _ in self._node_ranges(rule, family):  # (validation refuses named ports
            at = ((lo, lo),)  # with nodes and networks peers)
            one = AddressRanges(v4=at) if family == 4 else AddressRanges(v6=at)
            candidates.update((p.key, p) for p in self.b.pods_in(one, family))
        contested = self.b.contested(family)
        full: list[Entry] = []
        partial: list[Entry] = []
        disputed: set[int] = set()
        for pod in candidates.values():
            ip = pod.ip_of_version(family)
            if ip is None:
                continue
            if int(ip) in contested:
                disputed.add(int(ip))
                continue
            full.extend((ip, proto, n) for proto, n in _numbers(pod, names))
        for address in sorted(disputed):
            claimants = self.b.claimants(family, address)
            each = [
                _numbers(c, names) if c is not None and c.key in candidates else set()
                for c in claimants
            ]
            ip = next(c.ip_of_version(family) for c in claimants if c is not None)
            assert ip is not None
            for proto, n in set().union(*each):
                entry = (ip, proto, n)
                (full if all((proto, n) in e for e in each) else partial).append(entry)
        return full, partial


def address_selections(rule: CompiledTierRule) -> tuple[PodsSelected | AddressesIn, ...]:
    """The selections of the ``namespaces``, ``pods`` and ``networks`` peers of a rule
    (``networks``: "cluster-internal traffic will be checked against the rule as
    well": plain blocks of addresses, pods' included)."""
    return tuple(
        m.selection for m in rule.peers if isinstance(m.selection, PodsSelected | AddressesIn)
    )


def node_selections(rule: CompiledTierRule) -> tuple[NodesSelected, ...]:
    return tuple(m.selection for m in rule.peers if isinstance(m.selection, NodesSelected))


def has_named_ports(rule: CompiledTierRule) -> bool:
    return any(isinstance(m.selection, PortNamed) for m in rule.ports or ())


def _rule_ports(rule: CompiledTierRule) -> tuple[list[tuple[str, str]], list[str]]:
    """Numeric ports as (protocol, nft port text) per protocol, and port names
    (compile.ir.of_tier_port)."""
    ranges: dict[Protocol, list[tuple[int, int]]] = {}
    names: list[str] = []
    for m in rule.ports or ():
        spec = m.selection
        if isinstance(spec, PortNamed):
            names.append(spec.name)
        else:
            ranges.setdefault(spec.protocol, []).append((spec.first, spec.last))
    numeric = [
        (proto.value.lower(), ports_text(found))
        for proto, found in sorted(ranges.items(), key=lambda kv: kv[0].value)
    ]
    return numeric, list(dict.fromkeys(names))


class TierCompiler(Interface):
    """What tier_dispatch asks of nft.compiler.NodeRulesetCompiler."""

    tiers: TierInput | None

    @property
    def b(self) -> TierLookup: ...
    def deny_only(self, direction: Direction) -> tuple[Direction, tuple[str, ...]]: ...
    def tier_selecting(self, tier: Tier, pod: Pod) -> tuple[CompiledClusterPolicy, ...]: ...
    def tier_chain(
        self, tier: Tier, direction: Direction, policies: Sequence[CompiledClusterPolicy]
    ) -> TierChainKey | None: ...
    def network_policies_isolate(self, pod: Pod, direction: Direction) -> bool: ...


MapEntries = dict[tuple[str, int], dict[IPAddress, object]]


def tier_dispatch(
    compiler: TierCompiler, pods: Sequence[Pod], quarantined: Sequence[IPAddress]
) -> MapEntries:
    """(map name, family) → address → chain key, for the Admin and Baseline maps of
    both directions. Addresses whose owner is in doubt go to the deny-only chain
    from the Admin map (before every tier); they are in no Baseline map. The chains
    of a pod depend only on its namespace, labels (and namespace labels, the same
    for the whole ruleset): they are found once per such group and direction, when
    a pod of the group first has an address not in doubt."""
    assert compiler.tiers is not None
    found: MapEntries = {}
    for short in ("eg", "in"):
        for family in FAMILIES:
            found[(f"adm_{short}", family)] = {}
            found[(f"bl_{short}", family)] = {}
    contested = {family: compiler.b.contested(family) for family in FAMILIES}
    chosen: dict[tuple[object, ...], TierChainKey | None] = {}
    groups: dict[tuple[object, ...], tuple[TierChainKey | None, TierChainKey | None]] = {}
    for pod in pods:
        ips = [(f, ip) for f in FAMILIES if (ip := pod.ip_of_version(f)) is not None]
        for direction in (Direction.EGRESS, Direction.INGRESS):
            short = "eg" if direction is Direction.EGRESS else "in"
            for family, ip in ips:
                if int(ip) in contested[family]:
                    found[(f"adm_{short}", family)][ip] = compiler.deny_only(direction)
                    continue
                group = (direction, pod.namespace, pod.labels, pod.host_network)
                keys = groups.get(group)
                if keys is None:
                    keys = groups[group] = _tier_keys(compiler, pod, direction, chosen)
                admin, baseline = keys
                if admin is not None:
                    found[(f"adm_{short}", family)][ip] = admin
                if baseline is not None:
                    found[(f"bl_{short}", family)][ip] = baseline
    for direction in (Direction.EGRESS, Direction.INGRESS):
        short = "eg" if direction is Direction.EGRESS else "in"
        for ip in quarantined:
            found[(f"adm_{short}", ip.version)][ip] = compiler.deny_only(direction)
    return found


def _tier_keys(
    compiler: TierCompiler,
    pod: Pod,
    direction: Direction,
    chosen: dict[tuple[object, ...], TierChainKey | None],
) -> tuple[TierChainKey | None, TierChainKey | None]:
    """The Admin and the Baseline chain of ``pod`` in ``direction`` (None: no rule
    for it, or, in Baseline, some NetworkPolicy isolates it: that tier is final)."""
    keys: list[TierChainKey | None] = []
    for tier in (Tier.ADMIN, Tier.BASELINE):
        if tier is Tier.BASELINE and compiler.network_policies_isolate(pod, direction):
            keys.append(None)
            continue
        policies = compiler.tier_selecting(tier, pod)
        memo = (tier, direction, *map(id, policies))
        if memo not in chosen:
            chosen[memo] = compiler.tier_chain(tier, direction, policies)
        keys.append(chosen[memo])
    return keys[0], keys[1]
