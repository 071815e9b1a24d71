"""Compiled policies + cluster → the nftables ruleset of one node.

Design (see ../../../docs/nft.md and the prototype notes it cites):

- Egress and ingress are two ``forward`` base chains at different priorities,
  both after service DNAT (priority ``dstnat`` is -100, ``filter`` 0), so rules
  see backend pod addresses. ``accept`` in a jumped-to chain ends only the
  current base chain, so an egress accept never bypasses the destination's
  ingress chain; ``drop`` is final.
- ``ct state established,related accept`` first: reply traffic of an allowed
  connection is allowed.
- Each pod address of the node dispatches through a verdict map into a chain
  shared by every pod with the same set of isolating policies; that chain jumps
  to one chain per policy and ends in drop (or reject). Pods no policy isolates
  are not in the map: allowed.
- Address sets are keyed by content, so equal peer sets are stored once;
  ipBlock ``except`` is subtracted here, giving plain interval sets.
- Named ports resolve per destination pod: a set of ``address . protocol .
  port`` elements.
- Pod → node traffic (hook ``input``) is egress of the pod; node → pod traffic
  (kubelet probes) is always allowed.
- Fail closed on addresses whose owner is in doubt: an address claimed by two
  live pods, or by a pod the agent could not read (``quarantined``), is
  dispatched to a chain that only denies, in both directions, and is in a peer
  set only when every pod claiming it matches the rule's peers. Whichever pod
  really holds the address, it then gets no more than the stricter of the two
  treatments (never the looser, as one verdict-map element per pod would give:
  nft keeps one of two elements with the same key, whichever comes last).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from typing import Protocol as Interface

from netfence.compile.addresses import AddressRanges, Ranges, merge_ranges
from netfence.compile.compiled import CompiledPolicy, CompiledPolicySet, CompiledRule, PeerMatcher
from netfence.compile.ir import (
    AddressesIn,
    ClusterIndex,
    OwnNamespace,
    PodsSelected,
    PortNamed,
    Selection,
    pod_scope,
)
from netfence.model.cluster import Cluster, Pod
from netfence.model.labels import Labels
from netfence.model.policy import Direction, IPAddress
from netfence.model.ports import Protocol
from netfence.nft.model import Chain, NftSet, Ruleset, VerdictMap

if TYPE_CHECKING:
    from netfence.compile.tiers import CompiledClusterPolicy
    from netfence.model.tiers import Tier
    from netfence.nft.tiers import TierChainKey, TierInput

FAMILIES = (4, 6)
IP_KEYWORD = {4: "ip", 6: "ip6"}
ADDRESS_TYPE = {4: "ipv4_addr", 6: "ipv6_addr"}
SHORT = {Direction.EGRESS: "eg", Direction.INGRESS: "in"}


@dataclass(frozen=True)
class NftOptions:
    table: str = "netfence"
    deny: str = "drop"  # "drop" (timeouts, as on EKS) or "reject"
    share_sets: bool = True  # False: one set per rule (the naive baseline of bench/nft.py)

    @property
    def deny_rule(self) -> str:
        if self.deny == "reject":
            return "counter reject with icmpx type admin-prohibited"
        return "counter drop"


def digest(*parts: object) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:10]


ChainKey = tuple[Direction, tuple[str, ...]]  # a combination chain: direction and rules


@dataclass
class _Builder:
    compiled: CompiledPolicySet
    cluster: Cluster
    options: NftOptions
    sets: dict[str, NftSet] = field(default_factory=dict)
    _peer_indexes: dict[PodsSelected, tuple[int, ...]] = field(default_factory=dict)
    _ranges: dict[tuple[object, ...], Ranges] = field(default_factory=dict)
    _addresses: dict[int, list[int | None]] = field(default_factory=dict)  # per family
    quarantined: tuple[IPAddress, ...] = ()  # addresses of pods that could not be read
    _contested: dict[int, dict[int, frozenset[int]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._index = ClusterIndex(self.cluster)  # the IR's label-index backend

    # --- sets -----------------------------------------------------------------------------

    def address_set(self, family: int, ranges: Ranges, owner: object = None) -> str | None:
        return address_set(self.sets, self.options, family, ranges, owner)

    def named_set(
        self, family: int, entries: Iterable[tuple[IPAddress, Protocol, int]]
    ) -> str | None:
        return named_set(self.sets, family, entries)

    def every_pod(self) -> Iterable[Pod]:
        """Every pod, hostNetwork ones too (a destination all the same)."""
        return iter(self.cluster.pods)

    def pods_in(self, addresses: AddressRanges, family: int) -> Iterable[Pod]:
        """Pods (hostNetwork ones too) whose address of ``family`` is in ``addresses``."""
        for pod in self.cluster.pods:
            ip = pod.ip_of_version(family)
            if ip is not None and addresses.contains(ip):
                yield pod

    def claimed_outside(self, family: int, address: int, chosen: set[str]) -> bool:
        """Is the contested ``address`` claimed by a pod not in ``chosen`` (keys), or
        by a pod that could not be read?"""
        pods = self.cluster.pods
        return any(i < 0 or pods[i].key not in chosen for i in self.contested(family)[address])

    def claimants(self, family: int, address: int) -> tuple[Pod | None, ...]:
        """The pods claiming a contested address (None: a pod that could not be read)."""
        pods = self.cluster.pods
        return tuple(None if i < 0 else pods[i] for i in sorted(self.contested(family)[address]))

    def namespace_labels_of(self, namespace: str) -> Labels:
        return self.cluster.namespace_labels(namespace)

    # --- peers ----------------------------------------------------------------------------

    def peer_pods(self, selection: PodsSelected) -> tuple[Pod, ...]:
        """Pods a selection covers (never hostNetwork pods), through the label
        indexes of compile.ir.ClusterIndex."""
        return tuple(self.cluster.pods[i] for i in self.peer_indexes(selection))

    def peer_indexes(self, selection: PodsSelected) -> tuple[int, ...]:
        """The same as indexes into ``cluster.pods``, in order."""
        found = self._peer_indexes.get(selection)
        if found is None:
            found = self._peer_indexes[selection] = tuple(sorted(self._index.pods(selection)))
        return found

    def addresses(self, family: int) -> list[int | None]:
        """Every pod's address of ``family`` as an integer (None: it has none)."""
        found = self._addresses.get(family)
        if found is None:
            found = self._addresses[family] = [
                int(ip) if (ip := p.ip_of_version(family)) is not None else None
                for p in self.cluster.pods
            ]
        return found

    def contested(self, family: int) -> dict[int, frozenset[int]]:
        """Addresses of ``family`` whose owner is in doubt → the indexes of the pods
        claiming them (-1 stands for a quarantined pod, which matches no peer)."""
        found = self._contested.get(family)
        if found is None:
            claims: dict[int, set[int]] = {}
            for i, address in enumerate(self.addresses(family)):
                if address is not None and not self.cluster.pods[i].host_network:
                    claims.setdefault(address, set()).add(i)
            for ip in self.quarantined:
                if ip.version == family:
                    claims.setdefault(int(ip), set()).add(-1)
            found = self._contested[family] = {
                a: frozenset(c) for a, c in claims.items() if len(c) > 1 or -1 in c
            }
        return found

    def selected_pods(self, policy: CompiledPolicy) -> list[Pod]:
        """The pods a policy selects (never hostNetwork pods), through the label
        index; checked against CompiledPolicy.selects in tests/nft."""
        target = PodsSelected(OwnNamespace(policy.policy.namespace), pod_scope(policy.target))
        return [self.cluster.pods[i] for i in sorted(self._index.pods(target))]

    def peer_ranges(self, peers: Sequence[Selection], family: int) -> Ranges:
        """The addresses of a rule's peers (their selections) as merged integer
        ranges. API reference (ipBlock): "except is a list of CIDRs that should not
        be included within an IPBlock" — already subtracted (AddressesIn), so sets
        hold plain ranges."""
        key = (tuple(peers), family)
        found = self._ranges.get(key)
        if found is None:
            ranges = block_ranges(peers, family)
            chosen: set[int] = set()
            for selection in peers:
                if isinstance(selection, PodsSelected):
                    chosen.update(self.peer_indexes(selection))
            addresses, contested = self.addresses(family), self.contested(family)
            for i in chosen:
                a = addresses[i]
                if a is not None and (a not in contested or contested[a] <= chosen):
                    ranges.append((a, a))  # a contested address only if all its pods match
            found = self._ranges[key] = merge_ranges(ranges)
        return found


def address_set(
    sets: dict[str, NftSet], options: NftOptions, family: int, ranges: Ranges, owner: object
) -> str | None:
    """A content-addressed interval set of addresses, put in ``sets``; None when
    empty. With ``share_sets`` off, each ``owner`` (rule) gets its own set."""
    if not ranges:
        return None
    elements = tuple(range_text(family, lo, hi) for lo, hi in ranges)
    return interval_set(sets, options, family, elements, owner)


def interval_set(
    sets: dict[str, NftSet],
    options: NftOptions,
    family: int,
    elements: tuple[str, ...],
    owner: object,
) -> str:
    """The interval set of ``elements`` (range_text of merged ranges), put in ``sets``."""
    shared = options.share_sets
    name = f"a{family}_{digest(elements) if shared else digest(elements, owner)}"
    sets.setdefault(name, NftSet(name, ADDRESS_TYPE[family], elements, interval=True))
    return name


def named_set(
    sets: dict[str, NftSet], family: int, entries: Iterable[tuple[IPAddress, Protocol, int]]
) -> str | None:
    """A content-addressed set of ``address . protocol . port``, put in ``sets``."""
    elements = tuple(
        sorted({f"{ip} . {proto.value.lower()} . {port}" for ip, proto, port in entries})
    )
    if not elements:
        return None
    name = f"n{family}_{digest(elements)}"
    kind = f"{ADDRESS_TYPE[family]} . inet_proto . inet_service"
    sets.setdefault(name, NftSet(name, kind, elements))
    return name


def block_ranges(peers: Sequence[Selection], family: int) -> list[tuple[int, int]]:
    """The address ranges of a rule's address peers of ``family``, ``except`` holes
    already cut (compile.ir.AddressesIn)."""
    return [r for s in peers if isinstance(s, AddressesIn) for r in s.addresses.family(family)]


def address_peers(peers: Sequence[PeerMatcher]) -> tuple[Selection, ...]:
    """The selections of a NetworkPolicy rule's peers (pods or addresses)."""
    return tuple(m.selection for m in peers)


def range_text(family: int, lo: int, hi: int) -> str:
    """One set element: an address, a CIDR block when the range is exactly one, else
    ``lo-hi``. (Checked against ipaddress.summarize_address_range in tests/nft.)"""
    size = hi - lo + 1
    if size & (size - 1) == 0 and lo % size == 0:  # a power of two, aligned: one block
        bits = 32 if family == 4 else 128
        text = _address_text(family, lo)
        return text if size == 1 else f"{text}/{bits - size.bit_length() + 1}"
    return f"{_address_text(family, lo)}-{_address_text(family, hi)}"


def _address_text(family: int, value: int) -> str:
    if family == 4:  # the common case, without an ipaddress object
        return f"{value >> 24}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"
    return str(ipaddress.IPv6Address(value))


def ports_text(ports: Sequence[tuple[int, int]]) -> str:
    items = [str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in sorted(set(ports))]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


@dataclass(frozen=True)
class _RulePorts:
    """A rule's ports: numeric ranges per protocol, and named ports."""

    numeric: dict[Protocol, list[tuple[int, int]]]
    named: list[tuple[Protocol, str]]
    every_port: bool  # the rule has no ports

    @staticmethod
    def of(rule: CompiledRule) -> _RulePorts:
        """From the rules' port selections (compile.ir.of_policy_port: no port is
        every port of the protocol, 1-65535)."""
        numeric: dict[Protocol, list[tuple[int, int]]] = {}
        named: list[tuple[Protocol, str]] = []
        for m in rule.ports or ():
            spec = m.selection
            if isinstance(spec, PortNamed):
                assert spec.protocol is not None  # a NetworkPolicy port has one
                named.append((spec.protocol, spec.name))
            else:
                numeric.setdefault(spec.protocol, []).append((spec.first, spec.last))
        return _RulePorts(numeric, named, rule.ports is None)


class PeerLookup(Interface):
    """What the node compiler asks about pods and sets (_Builder over one Cluster;
    nft/incremental.py's over a model kept between syncs)."""

    sets: dict[str, NftSet]

    def address_set(self, family: int, ranges: Ranges, owner: object = None) -> str | None: ...
    def named_set(
        self, family: int, entries: Iterable[tuple[IPAddress, Protocol, int]]
    ) -> str | None: ...
    def peer_pods(self, selection: PodsSelected) -> Iterable[Pod]: ...
    def peer_ranges(self, peers: Sequence[Selection], family: int) -> Ranges: ...
    def contested(self, family: int) -> Mapping[int, object]: ...
    def claimed_outside(self, family: int, address: int, chosen: set[str]) -> bool: ...
    def selected_pods(self, policy: CompiledPolicy) -> Iterable[Pod]: ...
    def every_pod(self) -> Iterable[Pod]: ...
    def pods_in(self, addresses: AddressRanges, family: int) -> Iterable[Pod]: ...
    def claimants(self, family: int, address: int) -> tuple[Pod | None, ...]: ...
    def namespace_labels_of(self, namespace: str) -> Labels: ...


class PolicySelection(Interface):
    def selecting(self, pod: Pod, direction: Direction) -> tuple[CompiledPolicy, ...]: ...


class NodeRulesetCompiler:
    """Builds one node's ruleset; every chain and set is named by content."""

    def __init__(
        self,
        compiled: PolicySelection,
        cluster: Cluster,
        options: NftOptions,
        quarantined: Sequence[IPAddress] = (),
        builder: PeerLookup | None = None,
        tiers: TierInput | None = None,
    ) -> None:
        if builder is None:
            assert isinstance(compiled, CompiledPolicySet)
            builder = _Builder(compiled, cluster, options, quarantined=tuple(quarantined))
        self.b: PeerLookup = builder
        self.compiled = compiled
        self.cluster = cluster
        self.options = options
        self._policy_lines: dict[tuple[str, Direction], tuple[str, ...]] = {}
        # per combination chain: the sets of policies using it, in order of use
        self._owners: dict[ChainKey, dict[str, None]] = {}
        self.tiers = tiers if tiers is not None and tiers.tiers else None
        self._tier_lines: dict[tuple[str, Direction], tuple[str, ...]] = {}
        self._tier_owners: dict[TierChainKey, dict[str, None]] = {}
        self.node_pods: Sequence[Pod] = ()  # the pods of the ruleset being made
        self._tier_selecting: dict[tuple[object, ...], tuple[CompiledClusterPolicy, ...]] = {}

    # --- one rule -------------------------------------------------------------------------

    def rule_lines(
        self, policy: CompiledPolicy, rule: CompiledRule, direction: Direction
    ) -> list[str]:
        """The nft rules that accept what one NetworkPolicy rule allows.

        API reference: the rule allows traffic that matches at least one peer (all
        when there are none) AND at least one port (all when there are none).
        """
        peer_side = "daddr" if direction is Direction.EGRESS else "saddr"
        ports = _RulePorts.of(rule)
        lines: list[str] = []
        for family in FAMILIES:
            address = self._peer_match(rule, family, peer_side)
            if address is None:
                continue  # peers given, none of this family: nothing to match
            lines.extend(self._port_lines(policy, rule, direction, family, address, ports))
        return list(dict.fromkeys(lines))  # a rule without addresses is the same in both families

    def _peer_match(self, rule: CompiledRule, family: int, side: str) -> str | None:
        if rule.peers is None:
            return ""
        ranges = self.b.peer_ranges(address_peers(rule.peers), family)
        name = self.b.address_set(family, ranges, rule.origin)
        return None if name is None else f"{IP_KEYWORD[family]} {side} @{name} "

    def _port_lines(
        self,
        policy: CompiledPolicy,
        rule: CompiledRule,
        direction: Direction,
        family: int,
        address: str,
        ports: _RulePorts,
    ) -> list[str]:
        if ports.every_port:
            return [f"{address}accept"]
        lines = [
            f"{address}meta l4proto {proto.value.lower()} th dport {ports_text(ranges)} accept"
            for proto, ranges in sorted(ports.numeric.items(), key=lambda kv: kv[0].value)
        ]
        if ports.named:
            entries = self._named_entries(policy, rule, direction, family, ports.named)
            name = self.b.named_set(family, entries)
            if name is not None:
                ip = IP_KEYWORD[family]
                prefix = "" if direction is Direction.EGRESS else address
                lines.append(f"{prefix}{ip} daddr . meta l4proto . th dport @{name} accept")
        return lines

    def _named_entries(
        self,
        policy: CompiledPolicy,
        rule: CompiledRule,
        direction: Direction,
        family: int,
        named: Sequence[tuple[Protocol, str]],
    ) -> list[tuple[IPAddress, Protocol, int]]:
        """API reference (port): "a numerical or named port on a pod" — the
        destination pod: for egress the peers (every pod when the rule has no
        peers, hostNetwork ones too: the engine resolves the name on them), for
        ingress the pods the policy selects."""
        if direction is Direction.INGRESS:
            candidates: Iterable[Pod] = self.b.selected_pods(policy)
        elif rule.peers is None:
            candidates = self.b.every_pod()
        else:
            candidates = self._peer_pods_of_rule(rule.peers, family)
        entries = []
        pods = list(candidates)
        chosen = {pod.key for pod in pods}
        contested = self.b.contested(family)
        for pod in pods:
            ip = pod.ip_of_version(family)
            if (
                ip is not None
                and int(ip) in contested
                and self.b.claimed_outside(family, int(ip), chosen)
            ):
                continue  # some pod claiming this address is no destination of the rule
            for protocol, name in named:
                number = pod.named_port(name, protocol)
                if ip is not None and number is not None:
                    entries.append((ip, protocol, number))
        return entries

    def _peer_pods_of_rule(self, peers: Sequence[PeerMatcher], family: int) -> list[Pod]:
        """Pods at the other end of a rule: matched by a selector peer, or with an
        address in an ipBlock peer (hostNetwork pods included: a block matches
        their address)."""
        found: dict[str, Pod] = {}
        for selection in address_peers(peers):
            if isinstance(selection, PodsSelected):
                found.update((p.key, p) for p in self.b.peer_pods(selection))
            elif isinstance(selection, AddressesIn):
                found.update((p.key, p) for p in self.b.pods_in(selection.addresses, family))
        return list(found.values())

    # --- chains ---------------------------------------------------------------------------

    def policy_lines(self, policy: CompiledPolicy, direction: Direction) -> tuple[str, ...]:
        key = (policy.policy.key, direction)
        lines = self._policy_lines.get(key)
        if lines is None:
            lines = self._policy_lines[key] = tuple(
                line
                for rule in policy.rules(direction)
                for line in self.rule_lines(policy, rule, direction)
            )
        return lines

    def combo_rules(self, policies: Sequence[CompiledPolicy], direction: Direction) -> ChainKey:
        """The content of one combination chain: the accept rules of every isolating
        policy, then the deny. API reference: policies are additive: the union of
        what they allow; a pod some policy isolates is denied what none allows.

        Rules are inlined, not jumped to per policy, and chains are shared by
        content: pods whose policies allow the same traffic share one chain (at 10k
        pods / 1k policies this cuts the chains to a third or a fifth, see bench/nft.py)."""
        lines = dict.fromkeys(line for p in policies for line in self.policy_lines(p, direction))
        return self.used_by((direction, (*lines, self.options.deny_rule)), policies)

    def used_by(self, key: ChainKey, policies: Sequence[CompiledPolicy]) -> ChainKey:
        """Record that the pods isolated by ``policies`` use chain ``key``."""
        self._owners.setdefault(key, {})[", ".join(p.policy.key for p in policies)] = None
        return key

    def chains(self) -> dict[ChainKey, Chain]:
        """The combination chains, named by rules and comment. The comment names the
        first (in sorting order) set of policies that uses the chain, and says when
        others share it; so a change of policies renames only the chains whose rules
        or first users changed, and an update never leaves a stale comment."""
        chains = {}
        for key, owners in self._owners.items():
            direction, rules = key
            first = min(owners)
            comment = _comment(
                f"{direction.value}: {first}", " and others" if len(owners) > 1 else ""
            )
            name = f"{SHORT[direction]}_set_{digest(rules, comment)}"
            chains[key] = Chain(name, rules, comment=comment)
        return chains

    def deny_only(self, direction: Direction) -> ChainKey:
        """The chain of addresses whose owner is in doubt: it only denies."""
        key: ChainKey = (direction, (self.options.deny_rule,))
        self._owners.setdefault(key, {})["netfence fail-closed"] = None
        return key

    def dispatch(
        self,
        pods: Sequence[Pod],
        direction: Direction,
        family: int,
        quarantined: Sequence[IPAddress],
    ) -> dict[IPAddress, ChainKey]:
        """Address → chain: one element per address, never two with one key."""
        contested = self.b.contested(family)
        entries: dict[IPAddress, ChainKey] = {}
        for pod in pods:
            ip = pod.ip_of_version(family)
            if ip is None:
                continue
            if int(ip) in contested:
                entries[ip] = self.deny_only(direction)
            elif policies := self.compiled.selecting(pod, direction):
                entries[ip] = self.combo_rules(policies, direction)
        for ip in quarantined:
            if ip.version == family:
                entries[ip] = self.deny_only(direction)
        return entries

    def ruleset(self, pods: Sequence[Pod], quarantined: Sequence[IPAddress] = ()) -> Ruleset:
        """``quarantined``: addresses of this node's unreadable pods (deny only)."""
        self._tier_owners = {}
        self.node_pods = pods
        directions = (Direction.EGRESS, Direction.INGRESS)
        selected = {
            (d, f): self.dispatch(pods, d, f, quarantined) for d in directions for f in FAMILIES
        }
        tiered = {}
        if self.tiers is not None:
            from netfence.nft.tiers import tier_dispatch  # only when there are tiers

            tiered = tier_dispatch(self, pods, quarantined)
        chains = self.chains()
        maps = [
            VerdictMap(
                f"{SHORT[d]}{f}",
                ADDRESS_TYPE[f],
                tuple(sorted((str(ip), f"jump {chains[key].name}") for ip, key in entries.items())),
            )
            for (d, f), entries in selected.items()
        ]
        tier_chains = self.tier_chains()
        names: dict[object, str] = {k: c.name for k, c in (*chains.items(), *tier_chains.items())}
        for (name, f), entries in tiered.items():
            items = sorted((str(ip), f"jump {names[key]}") for ip, key in entries.items())
            maps.append(VerdictMap(f"{name}{f}", ADDRESS_TYPE[f], tuple(items)))
        established = "ct state established,related accept"
        egress = (established, *self.lookups(Direction.EGRESS, "saddr"))
        ingress = (established, *self.lookups(Direction.INGRESS, "daddr"))
        base = (
            Chain(
                "forward_egress", egress, "type filter hook forward priority filter; policy accept;"
            ),
            Chain(
                "forward_ingress",
                ingress,
                "type filter hook forward priority filter + 10; policy accept;",
            ),
            Chain("input_egress", egress, "type filter hook input priority filter; policy accept;"),
        )
        combos = sorted([*chains.values(), *tier_chains.values()], key=lambda c: c.name)
        sets = self.used_sets()
        return Ruleset("inet", self.options.table, sets, tuple(maps), (*base, *combos))

    def network_policies_isolate(self, pod: Pod, direction: Direction) -> bool:
        return bool(self.compiled.selecting(pod, direction))

    def lookups(self, direction: Direction, side: str) -> list[str]:
        """The verdict-map lookups of a base chain: Admin, NetworkPolicy, Baseline."""
        names = [SHORT[direction]]
        if self.tiers is not None:
            names = [f"adm_{SHORT[direction]}", SHORT[direction], f"bl_{SHORT[direction]}"]
        return [f"{IP_KEYWORD[f]} {side} vmap @{n}{f}" for n in names for f in FAMILIES]

    # --- the tiers (nft/tiers.py) ---------------------------------------------------------

    def tier_policy_lines(
        self, policy: CompiledClusterPolicy, direction: Direction
    ) -> tuple[str, ...]:
        key = (policy.policy.key, direction)
        lines = self._tier_lines.get(key)
        if lines is None:
            lines = self._tier_lines[key] = self.make_tier_lines(policy, direction)
        return lines

    def make_tier_lines(
        self, policy: CompiledClusterPolicy, direction: Direction
    ) -> tuple[str, ...]:
        from netfence.nft.tiers import TierRuleLines

        assert self.tiers is not None
        maker = TierRuleLines(self.b, self.tiers, self.options.deny_rule, self.node_pods)
        return maker.policy_lines(policy, direction)

    def tier_selecting(self, tier: Tier, pod: Pod) -> tuple[CompiledClusterPolicy, ...]:
        """The policies of ``tier`` whose subject is ``pod``, in precedence order;
        kept per namespace, labels and namespace labels while the tiers are the
        same (a change of the tiers clears them: nft.incremental.LiveNodeCompiler)."""
        assert self.tiers is not None
        labels = self.b.namespace_labels_of(pod.namespace)
        key = (tier, pod.namespace, pod.labels, labels)
        found = self._tier_selecting.get(key)
        if found is None:
            if len(self._tier_selecting) > 100_000:
                self._tier_selecting.clear()  # labels come and go: bounded
            policies = self.tiers.tiers.tier(tier)
            found = tuple(p for p in policies if p.selects(pod, labels))
            self._tier_selecting[key] = found
        return found

    def tier_chain(
        self, tier: Tier, direction: Direction, policies: Sequence[CompiledClusterPolicy]
    ) -> TierChainKey | None:
        """The chain of one tier for the pods ``policies`` select (None: no rule)."""
        lines = dict.fromkeys(
            line for p in policies for line in self.tier_policy_lines(p, direction)
        )
        if not lines:
            return None
        from netfence.model.tiers import short_key

        key: TierChainKey = (tier, direction, tuple(lines))
        owners = ", ".join(short_key(p.policy.key) for p in policies)
        self._tier_owners.setdefault(key, {})[owners] = None
        return key

    def tier_chains(self) -> dict[TierChainKey, Chain]:
        """The tier chains, named and commented as the combination chains."""
        chains = {}
        for key, owners in self._tier_owners.items():
            tier, direction, rules = key
            prefix = "adm" if tier.value == "Admin" else "bl"
            comment = _comment(
                f"{tier.value} {direction.value}: {min(owners)}",
                " and others" if len(owners) > 1 else "",
            )
            name = f"{prefix}_{SHORT[direction]}_{digest(rules, comment)}"
            chains[key] = Chain(name, rules, comment=comment)
        return chains

    def used_sets(self) -> tuple[NftSet, ...]:
        """The sets of the ruleset, by name: every set made for its chains."""
        return tuple(self.b.sets[name] for name in sorted(self.b.sets))


def node_pods(cluster: Cluster, node: str | None) -> list[Pod]:
    """The pods a node's agent programs: its own (all, when ``node`` is None);
    hostNetwork pods never, since policies do not select them."""
    return [p for p in cluster.pods if not p.host_network and (node is None or p.node == node)]


def node_ruleset(
    compiled: CompiledPolicySet,
    cluster: Cluster,
    node: str | None = None,
    options: NftOptions | None = None,
    quarantined: Sequence[tuple[IPAddress, str | None]] = (),
) -> Ruleset:
    """``quarantined``: (address, node) of pods that could not be read: denied in
    both directions on their node (on every node when it is unknown) and in no
    peer set on any node."""
    ips = tuple(ip for ip, _ in quarantined)
    tiers = None
    if compiled.tiers:
        from netfence.nft.tiers import TierInput  # only when there are tiers

        tiers = TierInput(compiled.tiers, cluster.nodes)
    compiler = NodeRulesetCompiler(compiled, cluster, options or NftOptions(), ips, tiers=tiers)
    here = [ip for ip, on in quarantined if node is None or on is None or on == node]
    return compiler.ruleset(node_pods(cluster, node), here)


def _comment(text: str, suffix: str = "") -> str:
    """nft comments hold at most 128 characters; ``suffix`` is always kept."""
    room = 128 - len(suffix)
    return (text if len(text) <= room else text[: room - 3] + "...") + suffix
