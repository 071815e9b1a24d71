"""One node's ruleset kept between syncs and updated per changed object.

``LiveNodeCompiler`` is nft/compiler.py's NodeRulesetCompiler over a model that
lives on (``LiveModel``: pods by key, pods by namespace, namespace labels, the
policies per namespace in document order) instead of one Cluster. What it
computed is kept, each piece dropped only by what can change it:

- the pods a peer selects (per IR selection, compile.ir.PodsSelected: one set
  for every NetworkPolicy and tier peer, and tier subject, that selects the same
  pods): updated per changed pod (its old and new version tested against the
  selection), updated when a namespace's labels change and the selection's
  namespace selector matched the old or the new labels;
- the address ranges of a rule's peers (and so its sets): dropped when the
  members of one of its peers change;
- each policy's lines per direction: dropped when the policy changes, when a
  range it used is dropped, and, for rules with named ports (which read the
  ports of the pods at the other end), when any pod or namespace changes;
- which policies select a pod: per namespace, dropped when a policy of that
  namespace changes;
- the cluster-wide policies by key with their documents' places: a change of
  one drops its own lines and which tier policies select each group of pods
  (the tiers are ordered again as compile.tiers.compile_tiers orders them).

Chains, maps and the list of sets are assembled again at every sync from these
pieces (cheap: one node's pods). Addresses whose owner is in doubt (two pods, or
a pod that could not be read) are computed when the model is made; the agent
makes a new model whenever they may change (agent/incremental.py). The cold
compiler, nft.compiler.node_ruleset, is the oracle: tests/agent/test_incremental_sync.py
checks every ruleset against it (and tests/nft/test_intervals.py the address ranges).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netfence.compile.addresses import AddressRanges, Ranges, merge_ranges
from netfence.compile.compiled import CompiledPolicy
from netfence.compile.ir import (
    AddressesIn,
    NamespacesMatching,
    OwnNamespace,
    PodsSelected,
    PortNamed,
    Selection,
)
from netfence.model.cluster import NAMESPACE_NAME_LABEL, Cluster, Node, Pod
from netfence.model.labels import Labels, LabelSelector
from netfence.model.policy import Direction, IPAddress
from netfence.model.ports import Protocol
from netfence.nft.compiler import (
    FAMILIES,
    ChainKey,
    NftOptions,
    NodeRulesetCompiler,
    address_peers,
    address_set,
    block_ranges,
    interval_set,
    named_set,
    range_text,
)
from netfence.nft.model import NftSet, Ruleset

if TYPE_CHECKING:
    from netfence.compile.compiled import CompiledTiers
    from netfence.compile.tiers import CompiledClusterPolicy, TierRuleRef
    from netfence.nft.tiers import TierInput

PeerKey = PodsSelected  # the pods a peer selects (compile/ir.py), shared by every rule
RangesKey = tuple[tuple[Selection, ...], int]  # a rule's peers and an address family
LinesKey = tuple[str, Direction]  # a policy and a direction
OrderKey = tuple[object, ...]  # where a policy's document is: its place among the others
QUARANTINED = ""  # the claimant standing for a pod that could not be read


class LiveModel:
    """Pods, namespace labels and what selector peers match, kept between syncs;
    the PeerLookup of LiveNodeCompiler."""

    def __init__(
        self,
        options: NftOptions,
        pods: Iterable[Pod],
        namespace_labels: Mapping[str, Labels],
        quarantined: Sequence[IPAddress] = (),
    ) -> None:
        self.options = options
        self.sets: dict[str, NftSet] = {}
        self.pods: dict[str, Pod] = {}
        self.by_namespace: dict[str, set[str]] = {}  # selectable (not hostNetwork) pods
        self._by_label: dict[tuple[str, str], set[str]] = {}  # the same by label
        self.namespace_labels = dict(namespace_labels)
        self._addresses: dict[int, dict[str, int]] = {f: {} for f in FAMILIES}
        # the pods each selector peer matches: changed in place (members() hands out
        # the set itself, to be read at once, never kept)
        self._members: dict[PeerKey, set[str]] = {}
        self._ranges: dict[RangesKey, Intervals] = {}
        self._ranges_of: dict[PeerKey, set[RangesKey]] = {}
        self._by_ranges: dict[int, Intervals] = {}  # id of its ranges → intervals
        self.recorded: tuple[set[str], set[RangesKey]] | None = None  # sets, ranges used
        # the shared sets named while a ruleset is made: family and elements → name (peers
        # of different rules often pick the same pods, and a name digests every element)
        self.named: dict[tuple[int, tuple[str, ...]], str] = {}
        for pod in pods:
            self._add(pod)
        self._contested = {f: self._claims(f, quarantined) for f in FAMILIES}

    # --- the model ------------------------------------------------------------------------

    def _add(self, pod: Pod) -> None:
        self.pods[pod.key] = pod
        for family in FAMILIES:
            ip = pod.ip_of_version(family)
            if ip is not None:
                self._addresses[family][pod.key] = int(ip)
        if not pod.host_network:
            self.by_namespace.setdefault(pod.namespace, set()).add(pod.key)
            for item in pod.labels.items_:
                self._by_label.setdefault(item, set()).add(pod.key)

    def _remove(self, pod: Pod) -> None:
        del self.pods[pod.key]
        for family in FAMILIES:
            self._addresses[family].pop(pod.key, None)
        self.by_namespace.get(pod.namespace, set()).discard(pod.key)
        for item in pod.labels.items_:
            self._by_label.get(item, set()).discard(pod.key)

    def _claims(self, family: int, quarantined: Sequence[IPAddress]) -> dict[int, frozenset[str]]:
        claims: dict[int, set[str]] = {}
        for key, address in self._addresses[family].items():
            if not self.pods[key].host_network:
                claims.setdefault(address, set()).add(key)
        for ip in quarantined:
            if ip.version == family:
                claims.setdefault(int(ip), set()).add(QUARANTINED)
        return {a: frozenset(c) for a, c in claims.items() if len(c) > 1 or QUARANTINED in c}

    def change_pod(self, old: Pod | None, new: Pod | None) -> set[RangesKey]:
        """Replace ``old`` by ``new`` (either may be None); the ranges changed. The
        caller makes sure no address claimed twice is involved (else: a new model)."""
        if old is not None:
            self._remove(old)
        if new is not None:
            self._add(new)
        moved = old is not None and new is not None and old.ips != new.ips
        before: dict[PeerKey, bool] = {}  # peers that matched the old or match the new pod
        after: dict[PeerKey, bool] = {}
        changed: list[PeerKey] = []
        for key, members in list(self._members.items()):
            was = old is not None and old.key in members
            now = new is not None and self.covers(key, new)
            if not (was or now):
                continue
            before[key], after[key] = was, now
            if was != now or moved:
                if old is not None:
                    members.discard(old.key)
                if now and new is not None:
                    members.add(new.key)
                changed.append(key)
        touched = {r for key in changed for r in self._ranges_of.get(key, ())}
        for ranges_key in touched:
            intervals = self._ranges.get(ranges_key)
            if intervals is None:
                continue
            selectors = [k for k in ranges_key[0] if isinstance(k, PodsSelected)]
            family = ranges_key[1]
            if old is not None and any(before.get(k, False) for k in selectors):
                for ip in old.ips:
                    if ip.version == family:
                        self._change(intervals, int(ip), add=False)
            if new is not None and any(after.get(k, False) for k in selectors):
                for ip in new.ips:
                    if ip.version == family:
                        self._change(intervals, int(ip), add=True)
        return touched

    def relabel_namespace(self, name: str, labels: Labels) -> set[RangesKey]:
        """New labels of namespace ``name``; the ranges changed."""
        old = self.namespace_labels.get(name)
        self.namespace_labels[name] = labels
        here = self.by_namespace.get(name, set())
        touched: set[RangesKey] = set()
        for key, members in list(self._members.items()):
            scope = key.namespaces
            if isinstance(scope, OwnNamespace):
                continue  # by name: labels do not matter
            selector = scope.selector if isinstance(scope, NamespacesMatching) else None
            if selector is None or (
                old is not None and selector.matches(old) == selector.matches(labels)
            ):
                continue  # every namespace (or the same answer before and after)
            if selector.matches(labels):
                pod_selector = key.pods
                arriving = {
                    k
                    for k in here
                    if pod_selector is None or pod_selector.matches(self.pods[k].labels)
                }
                members |= arriving  # in place: a copy of a large peer's pods costs more
                leaving: set[str] = set()
            else:
                leaving = members & here
                members -= leaving
                arriving = set()
            for ranges_key in self._ranges_of.get(key, ()):
                intervals = self._ranges.get(ranges_key)
                if intervals is None:
                    continue
                touched.add(ranges_key)
                selectors = [k for k in ranges_key[0] if isinstance(k, PodsSelected)]
                addresses = self._addresses[ranges_key[1]]
                for k in leaving:
                    if k in addresses and not any(k in self.members(s) for s in selectors):
                        self._change(intervals, addresses[k], add=False)
                for k in arriving:
                    if k in addresses:
                        self._change(intervals, addresses[k], add=True)
        return touched

    def _change(self, intervals: Intervals, address: int, add: bool) -> None:
        if intervals.registered is not None:
            self._by_ranges.pop(intervals.registered, None)
            intervals.registered = None
        if add:
            intervals.add(address)
        else:
            intervals.remove(address)

    def covers(self, key: PeerKey, pod: Pod) -> bool:
        """compile.ir.PodsSelected.covers with this model's namespace labels, looked
        up only when a namespace selector asks (hostNetwork pods never)."""
        if pod.host_network:
            return False
        scope = key.namespaces
        if isinstance(scope, OwnNamespace):
            if pod.namespace != scope.name:
                return False
        elif isinstance(scope, NamespacesMatching) and not scope.selector.matches(
            self._labels_of(pod.namespace)
        ):
            return False
        return key.pods is None or key.pods.matches(pod.labels)

    def _labels_of(self, namespace: str) -> Labels:
        found = self.namespace_labels.get(namespace)
        return found if found is not None else Labels.of({NAMESPACE_NAME_LABEL: namespace})

    def members(self, key: PeerKey) -> set[str]:
        """The pods (keys) the selector peer ``key`` matches: the model's own set, to
        be read at once and not kept (the next change changes it)."""
        found = self._members.get(key)
        if found is None:
            scope = key.namespaces
            if isinstance(scope, OwnNamespace):
                namespaces = [scope.name]
            elif isinstance(scope, NamespacesMatching):
                selector = scope.selector
                namespaces = [
                    n for n, labels in self.namespace_labels.items() if selector.matches(labels)
                ]
            else:
                namespaces = list(self.namespace_labels)
            chosen: set[str] = set()
            select = key.pods
            narrowest = self._narrowest(select) if select is not None else None
            for namespace in namespaces:
                here = self.by_namespace.get(namespace, set())
                if select is None:
                    chosen |= here
                    continue
                if narrowest is not None:
                    here = here & narrowest
                pods = self.pods
                chosen.update(k for k in here if select.matches(pods[k].labels))
            found = self._members[key] = chosen
        return found

    def _narrowest(self, selector: LabelSelector) -> set[str] | None:
        """The smallest set of pods with one of the selector's matchLabels (every
        pod it matches has them all); None when it has none."""
        postings = [self._by_label.get(item, set()) for item in selector.match_labels.items_]
        return min(postings, key=len) if postings else None

    # --- PeerLookup -----------------------------------------------------------------------

    def address_set(self, family: int, ranges: Ranges, owner: object = None) -> str | None:
        """As nft.compiler.address_set; for ranges of ``peer_ranges``, from the
        elements their Intervals keep."""
        intervals = self._by_ranges.get(id(ranges))
        if intervals is not None and intervals.ranges is ranges and ranges:
            elements = intervals.elements
            if not self.options.share_sets:  # a set per rule: named by its owner too
                name: str | None = interval_set(self.sets, self.options, family, elements, owner)
            else:
                name = self.named.get((family, elements))
                if name is None or name not in self.sets:  # (names are by content)
                    name = interval_set(self.sets, self.options, family, elements, owner)
                    self.named[(family, elements)] = name
        else:
            name = address_set(self.sets, self.options, family, ranges, owner)
        if name is not None and self.recorded is not None:
            self.recorded[0].add(name)
        return name

    def named_set(
        self, family: int, entries: Iterable[tuple[IPAddress, Protocol, int]]
    ) -> str | None:
        name = named_set(self.sets, family, entries)
        if name is not None and self.recorded is not None:
            self.recorded[0].add(name)
        return name

    def peer_pods(self, selection: PodsSelected) -> Iterable[Pod]:
        pods = self.pods
        return [pods[k] for k in self.members(selection)]

    def peer_ranges(self, peers: Sequence[Selection], family: int) -> Ranges:
        key = (tuple(peers), family)
        if self.recorded is not None:
            self.recorded[1].add(key)
        intervals = self._ranges.get(key)
        if intervals is None:
            ranges = block_ranges(peers, family)
            blocks = merge_ranges(list(ranges))
            chosen: set[str] = set()
            for peer_key in key[0]:
                if isinstance(peer_key, PodsSelected):
                    chosen |= self.members(peer_key)
                    self._ranges_of.setdefault(peer_key, set()).add(key)
            addresses, contested = self._addresses[family], self._contested[family]
            if not addresses:
                pass  # no pod has an address of this family
            elif not contested:
                points = [addresses.get(k) for k in chosen]
                ranges.extend((a, a) for a in points if a is not None)
            else:
                for k in chosen:
                    a = addresses.get(k)
                    if a is not None and (a not in contested or contested[a] <= chosen):
                        ranges.append((a, a))
            intervals = self._ranges[key] = Intervals(family, merge_ranges(ranges), blocks)
        found = intervals.ranges
        self._by_ranges[id(found)] = intervals
        intervals.registered = id(found)
        return found

    def contested(self, family: int) -> Mapping[int, object]:
        return self._contested[family]

    def claimed_outside(self, family: int, address: int, chosen: set[str]) -> bool:
        return any(k == QUARANTINED or k not in chosen for k in self._contested[family][address])

    def claimants(self, family: int, address: int) -> tuple[Pod | None, ...]:
        keys = sorted(self._contested[family][address])
        return tuple(None if k == QUARANTINED else self.pods[k] for k in keys)

    def namespace_labels_of(self, namespace: str) -> Labels:
        return self._labels_of(namespace)

    def selected_pods(self, policy: CompiledPolicy) -> Iterable[Pod]:
        pods = self.pods
        here = self.by_namespace.get(policy.policy.namespace, set())
        return [pods[k] for k in here if policy.target.matches(pods[k].labels)]

    def every_pod(self) -> Iterable[Pod]:
        return self.pods.values()

    def pods_in(self, addresses: AddressRanges, family: int) -> Iterable[Pod]:
        for pod in self.pods.values():
            ip = pod.ip_of_version(family)
            if ip is not None and addresses.contains(ip):
                yield pod


class Intervals:
    """A peer set's merged address ranges, changed one address at a time, with the
    text of each range (nft.compiler.range_text) kept alongside."""

    def __init__(self, family: int, ranges: Ranges, blocks: Ranges) -> None:
        self.family = family
        self._blocks = blocks  # ipBlock ranges: their addresses stay whatever pods do
        self._los = [lo for lo, _ in ranges]  # for bisect; the ranges themselves in _pairs
        self._pairs = list(ranges)
        self._texts = [range_text(family, lo, hi) for lo, hi in ranges]
        self._ranges: Ranges | None = ranges
        self.registered: int | None = None  # id of the ranges LiveModel knows it by
        self._elements: tuple[str, ...] | None = None

    @property
    def ranges(self) -> Ranges:
        if self._ranges is None:
            self._ranges = tuple(self._pairs)
        return self._ranges

    @property
    def elements(self) -> tuple[str, ...]:
        if self._elements is None:
            self._elements = tuple(self._texts)
        return self._elements

    def _set(self, i: int, lo: int, hi: int) -> None:
        self._los[i], self._pairs[i] = lo, (lo, hi)
        self._texts[i] = range_text(self.family, lo, hi)

    def _insert(self, i: int, lo: int, hi: int) -> None:
        self._los.insert(i, lo)
        self._pairs.insert(i, (lo, hi))
        self._texts.insert(i, range_text(self.family, lo, hi))

    def _delete(self, i: int) -> None:
        del self._los[i], self._texts[i], self._pairs[i]

    def add(self, a: int) -> None:
        self._ranges = self._elements = None
        pairs = self._pairs
        i = bisect_right(self._los, a) - 1
        if i >= 0 and pairs[i][1] >= a:
            return  # already in
        left = i >= 0 and pairs[i][1] == a - 1
        right = i + 1 < len(pairs) and pairs[i + 1][0] == a + 1
        if left and right:
            hi = pairs[i + 1][1]
            self._delete(i + 1)
            self._set(i, pairs[i][0], hi)
        elif left:
            self._set(i, pairs[i][0], a)
        elif right:
            self._set(i + 1, a, pairs[i + 1][1])
        else:
            self._insert(i + 1, a, a)

    def remove(self, a: int) -> None:
        self._ranges = self._elements = None
        b = bisect_right(self._blocks, (a, _MAX)) - 1
        if b >= 0 and self._blocks[b][1] >= a:
            return  # an ipBlock covers it
        i = bisect_right(self._los, a) - 1
        if i < 0 or self._pairs[i][1] < a:
            return
        lo, hi = self._pairs[i]
        if lo == hi:
            self._delete(i)
        elif a == lo:
            self._set(i, a + 1, hi)
        else:  # the part below a stays at i, the part above (if any) follows it
            self._set(i, lo, a - 1)
            if a < hi:
                self._insert(i + 1, a + 1, hi)


_MAX = 1 << 129


class LivePolicies:
    """The compiled policies per namespace, in document order; which select a pod."""

    def __init__(self) -> None:
        self._by_namespace: dict[str, dict[str, tuple[OrderKey, CompiledPolicy]]] = {}
        self._ordered: dict[str, tuple[CompiledPolicy, ...]] = {}
        self._selecting: dict[tuple[object, ...], tuple[CompiledPolicy, ...]] = {}

    def put(self, order: OrderKey, policy: CompiledPolicy) -> None:
        self._by_namespace.setdefault(policy.policy.namespace, {})[policy.policy.key] = (
            order,
            policy,
        )
        self._forget(policy.policy.namespace)

    def remove(self, namespace: str, key: str) -> None:
        self._by_namespace.get(namespace, {}).pop(key, None)
        self._forget(namespace)

    def _forget(self, namespace: str) -> None:
        self._ordered.pop(namespace, None)
        for key in [k for k in self._selecting if k[0] == namespace]:
            del self._selecting[key]

    def in_namespace(self, namespace: str) -> tuple[CompiledPolicy, ...]:
        found = self._ordered.get(namespace)
        if found is None:
            entries = sorted(self._by_namespace.get(namespace, {}).values(), key=_order)
            found = self._ordered[namespace] = tuple(p for _, p in entries)
        return found

    def selecting(self, pod: Pod, direction: Direction) -> tuple[CompiledPolicy, ...]:
        """As CompiledPolicySet.selecting."""
        key = (pod.namespace, pod.labels, pod.host_network, direction)
        found = self._selecting.get(key)
        if found is None:
            found = self._selecting[key] = tuple(
                c
                for c in self.in_namespace(pod.namespace)
                if c.policy.isolates(direction) and c.selects(pod)
            )
        return found


def _order(entry: tuple[OrderKey, CompiledPolicy]) -> OrderKey:
    return entry[0]


def _ordered_tiers(
    entries: Iterable[tuple[OrderKey, CompiledClusterPolicy]],
) -> CompiledTiers:
    """Admin and Baseline by priority, then by the place of the document."""
    from netfence.compile.compiled import CompiledTiers
    from netfence.model.tiers import Tier

    ordered = sorted(entries, key=lambda e: (e[1].policy.priority or 0, e[0]))
    admin = tuple(p for _, p in ordered if p.policy.tier is Tier.ADMIN)
    baseline = tuple(p for _, p in ordered if p.policy.tier is Tier.BASELINE)
    return CompiledTiers(admin, baseline)


@dataclass
class _Lines:
    policy: CompiledPolicy | CompiledClusterPolicy  # a NetworkPolicy's, or a tier policy's
    lines: tuple[str, ...]
    sets: frozenset[str]
    ranges: frozenset[RangesKey]
    named_ports: bool  # reads the ports of pods: made again when one of them changes


class LiveNodeCompiler(NodeRulesetCompiler):
    """NodeRulesetCompiler over a LiveModel and LivePolicies, keeping each
    policy's lines (and the sets they use) until something they read changes."""

    def __init__(
        self,
        model: LiveModel,
        policies: LivePolicies,
        options: NftOptions,
        tiers: TierInput | None = None,
        nodes: Sequence[Node] = (),
    ) -> None:
        # pods: the model's
        super().__init__(policies, Cluster((), ()), options, builder=model, tiers=tiers)
        self.model = model
        self.policies = policies
        # the cluster-wide policies by key, with their document's place (put_tier_policy),
        # and the nodes whose addresses their ``nodes`` peers match
        self._tier_policies: dict[str, tuple[OrderKey, CompiledClusterPolicy]] = {}
        self._nodes = tuple(tiers.nodes if tiers is not None else nodes)
        self._left_out: tuple[TierInput, tuple[TierRuleRef, ...]] | None = None  # per tiers
        self.local: dict[str, Pod] = {}  # this node's pods (not hostNetwork)
        # the same by namespace and labels (all that selection reads): key → pod
        self._groups: dict[tuple[str, Labels], dict[str, tuple[Pod, dict[int, IPAddress]]]] = {}
        self._lines: dict[LinesKey, _Lines] = {}
        self._lines_of: dict[RangesKey, set[LinesKey]] = {}
        self._used: set[LinesKey] = set()
        self._combos: dict[tuple[object, ...], ChainKey] = {}
        # the same from earlier syncs, with the lines they were made of
        self._kept_combos: dict[
            tuple[object, ...], tuple[ChainKey, tuple[_Lines, ...], str]
        ] = {}  # and the names of the policies (the chain's users)

    # --- changes --------------------------------------------------------------------------

    def change_pod(self, old: Pod | None, new: Pod | None, local: bool) -> None:
        # each version of the pod, and whether it is (was) one of this node's
        pods = [(p, local if p is new else p.key in self.local) for p in (old, new) if p]
        readers = {
            k
            for k, entry in self._lines.items()
            if entry.named_ports
            and any(self._reads_ports(entry.policy, k[1], p, here) for p, here in pods)
        }
        self._drop(self.model.change_pod(old, new), readers)
        if old is not None and self.local.pop(old.key, None) is not None:
            group = self._groups[(old.namespace, old.labels)]
            del group[old.key]
            if not group:
                del self._groups[(old.namespace, old.labels)]
        if new is not None and local:
            self.add_local(new)

    def add_local(self, pod: Pod) -> None:
        """A pod of this node (not hostNetwork)."""
        self.local[pod.key] = pod
        ips = {f: ip for f in FAMILIES if (ip := pod.ip_of_version(f)) is not None}
        self._groups.setdefault((pod.namespace, pod.labels), {})[pod.key] = (pod, ips)

    def relabel_namespace(self, name: str, labels: Labels) -> None:
        # rules with named ports read the ports of pods a namespace selector
        # matches only through peers whose ranges are dropped as well (a tier
        # policy's subject too: its ranges are read for that, nft/tiers.py)
        self._drop(self.model.relabel_namespace(name, labels), set())

    def _reads_ports(
        self,
        policy: CompiledPolicy | CompiledClusterPolicy,
        direction: Direction,
        pod: Pod,
        local: bool = True,
    ) -> bool:
        """May the lines of ``policy`` read the named ports of ``pod`` (_named_entries)?
        ``local``: the pod is (or was) one of this node's."""
        if not isinstance(policy, CompiledPolicy):
            return self._tier_reads_ports(policy, direction, pod, local)
        for rule in policy.rules(direction):
            if not any(isinstance(m.selection, PortNamed) for m in rule.ports or ()):
                continue
            if direction is Direction.INGRESS:
                if policy.selects(pod):
                    return True
            elif rule.peers is None:
                return True
            if any(self._covers(s, pod) for s in address_peers(rule.peers or ())):
                return True
        return False

    def _covers(self, selection: Selection, pod: Pod) -> bool:
        """Does a pod or address selection take ``pod`` in (by its labels, or by any
        of its addresses: hostNetwork pods' too)?"""
        if isinstance(selection, PodsSelected):
            return self.model.covers(selection, pod)
        if isinstance(selection, AddressesIn):
            return any(selection.addresses.contains(ip) for ip in pod.ips)
        return False

    def _tier_reads_ports(
        self, policy: CompiledClusterPolicy, direction: Direction, pod: Pod, local: bool
    ) -> bool:
        """The same for a tier policy (nft/tiers.py, _named_lines): ingress rules read
        the subject's pods of this node, egress rules the pods their peers match."""
        from netfence.nft.tiers import address_selections, has_named_ports, node_selections

        assert self.tiers is not None
        for rule in policy.rules(direction):
            if not has_named_ports(rule):
                continue
            if direction is Direction.INGRESS:
                if local and self.model.covers(policy.subject, pod):
                    return True
                continue
            if any(self._covers(s, pod) for s in address_selections(rule)):
                return True
            if any(
                lo <= int(ip) <= hi
                for s in node_selections(rule)
                for ip in pod.ips
                for lo, hi in self.tiers.node_ranges(s.selector, ip.version)
            ):
                return True
        return False

    def put_policy(self, order: OrderKey, policy: CompiledPolicy) -> None:
        self.policies.put(order, policy)
        self._drop_policy(policy.policy.key)

    def remove_policy(self, namespace: str, key: str) -> None:
        self.policies.remove(namespace, key)
        self._drop_policy(key)

    def _drop_policy(self, key: str) -> None:
        for direction in Direction:
            self._forget((key, direction))

    def set_tier_policies(self, policies: Iterable[tuple[OrderKey, CompiledClusterPolicy]]) -> None:
        """The cluster-wide policies, each with the place of its document."""
        self._tier_policies = {p.policy.key: (order, p) for order, p in policies}
        self._tiers_changed()

    def put_tier_policy(self, order: OrderKey, policy: CompiledClusterPolicy) -> None:
        """A cluster-wide policy added or changed: only its own lines are made
        again (its rules' peer sets are the model's, shared by content), and which
        tier policies select each pod of the node is looked up again."""
        self._tier_policies[policy.policy.key] = (order, policy)
        self._drop_tier_policy(policy.policy.key)

    def remove_tier_policy(self, key: str) -> None:
        self._tier_policies.pop(key, None)
        self._drop_tier_policy(key)

    def _drop_tier_policy(self, key: str) -> None:
        for direction in Direction:
            self._forget((f"tier:{key}", direction))
        self._tiers_changed()

    def tier_unenforced(self) -> tuple[TierRuleRef, ...]:
        """The tier rules the dataplane leaves (in part) out (nft.tiers.unenforced_rules)."""
        if self.tiers is None:
            return ()
        if self._left_out is None or self._left_out[0] is not self.tiers:
            from netfence.nft.tiers import unenforced_rules

            self._left_out = (self.tiers, unenforced_rules(self.tiers.tiers))
        return self._left_out[1]

    def _tiers_changed(self) -> None:
        """The tiers as compile.tiers.compile_tiers orders them: by priority, equal
        priorities in the order of their documents."""
        self._tier_selecting.clear()
        compiled = _ordered_tiers(self._tier_policies.values())
        if not compiled:
            self.tiers = None
            return
        from netfence.nft.tiers import TierInput  # only when there are tiers

        self.tiers = TierInput(compiled, self._nodes)

    def _drop(self, ranges: set[RangesKey], also: set[LinesKey]) -> None:
        keys = {k for r in ranges for k in self._lines_of.pop(r, ())} | also
        for key in keys:
            self._forget(key)

    def _forget(self, key: LinesKey) -> None:
        entry = self._lines.pop(key, None)
        if entry is not None:
            for r in entry.ranges:
                users = self._lines_of.get(r)
                if users is not None:
                    users.discard(key)

    # --- the ruleset ----------------------------------------------------------------------

    def policy_lines(self, policy: CompiledPolicy, direction: Direction) -> tuple[str, ...]:
        key = (policy.policy.key, direction)
        self._used.add(key)
        entry = self._lines.get(key)
        if entry is None:
            self.model.recorded = (set(), set())
            try:
                lines = tuple(
                    line
                    for rule in policy.rules(direction)
                    for line in self.rule_lines(policy, rule, direction)
                )
                sets, ranges = self.model.recorded
            finally:
                self.model.recorded = None
            named = any(
                isinstance(m.selection, PortNamed)
                for rule in policy.rules(direction)
                for m in rule.ports or ()
            )
            entry = self._lines[key] = _Lines(
                policy, lines, frozenset(sets), frozenset(ranges), named
            )
            for r in ranges:
                self._lines_of.setdefault(r, set()).add(key)
        return entry.lines

    def tier_policy_lines(
        self, policy: CompiledClusterPolicy, direction: Direction
    ) -> tuple[str, ...]:
        """As NodeRulesetCompiler's, kept as a NetworkPolicy's lines are: dropped
        when a range they used changes (or, with named ports, when any pod or
        namespace changes), or when the policy changes (put_tier_policy)."""
        from netfence.nft.tiers import has_named_ports

        key = (f"tier:{policy.policy.key}", direction)
        self._used.add(key)
        entry = self._lines.get(key)
        if entry is None:
            self.model.recorded = (set(), set())
            try:
                lines = self.make_tier_lines(policy, direction)
                sets, ranges = self.model.recorded
            finally:
                self.model.recorded = None
            named = any(has_named_ports(r) for r in policy.rules(direction))
            entry = self._lines[key] = _Lines(
                policy, lines, frozenset(sets), frozenset(ranges), named
            )
            for r in ranges:
                self._lines_of.setdefault(r, set()).add(key)
        return entry.lines

    def dispatch(
        self,
        pods: Sequence[Pod],
        direction: Direction,
        family: int,
        quarantined: Sequence[IPAddress],
    ) -> dict[IPAddress, ChainKey]:
        """As NodeRulesetCompiler's for this node's pods (``pods`` is ignored), each
        group of pods with the same namespace and labels looked up once."""
        contested = self.model.contested(family)
        entries: dict[IPAddress, ChainKey] = {}
        for group in self._groups.values():
            chain: ChainKey | None = None
            looked = False  # the group's policies looked up
            for pod, ips in group.values():
                ip = ips.get(family)
                if ip is None:
                    continue
                if int(ip) in contested:
                    entries[ip] = self.deny_only(direction)
                    continue
                if not looked:
                    looked = True
                    if policies := self.policies.selecting(pod, direction):
                        chain = self.combo_rules(policies, direction)
                if chain is not None:
                    entries[ip] = chain
        for ip in quarantined:
            if ip.version == family:
                entries[ip] = self.deny_only(direction)
        return entries

    def combo_rules(self, policies: Sequence[CompiledPolicy], direction: Direction) -> ChainKey:
        """As NodeRulesetCompiler's, once per sync for each list of policies (the
        policies are LivePolicies', which keeps them for the sync), and kept to the
        next sync while the lines of those policies are the same."""
        memo = (direction, *map(id, policies))
        found = self._combos.get(memo)
        if found is not None:
            return found
        kept = self._kept_combos.get(memo)
        lines = [self._lines.get((p.policy.key, direction)) for p in policies]
        if kept is not None and all(a is b for a, b in zip(kept[1], lines, strict=True)):
            self._used.update((p.policy.key, direction) for p in policies)
            found = kept[0]
            self._owners.setdefault(found, {})[kept[2]] = None  # as used_by
        else:
            found = super().combo_rules(policies, direction)
            made = tuple(self._lines[(p.policy.key, direction)] for p in policies)
            self._kept_combos[memo] = (found, made, ", ".join(p.policy.key for p in policies))
        self._combos[memo] = found
        return found

    def current(self, quarantined: Sequence[IPAddress] = ()) -> Ruleset:
        """The ruleset of the model as it is now."""
        self._owners = {}
        self._used = set()
        self._combos = {}
        self.model.named = {}
        try:
            ruleset = self.ruleset(list(self.local.values()), quarantined)
        finally:
            self.model.named = {}  # its sets may be dropped before the next ruleset
        for memo in [m for m in self._kept_combos if m not in self._combos]:
            del self._kept_combos[memo]
        self._combos = {}
        return ruleset

    def used_sets(self) -> tuple[NftSet, ...]:
        for key in [k for k in self._lines if k not in self._used]:
            self._forget(key)  # no pod of the node uses it now: made again when one does
        names = {name for entry in self._lines.values() for name in entry.sets}
        sets = self.model.sets
        for name in [n for n in sets if n not in names]:
            del sets[name]  # no chain uses it any more
        return tuple(sets[name] for name in sorted(names))
