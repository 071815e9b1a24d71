"""The desired state of one node, kept between syncs and updated per changed object.

``NodeState.sync`` gives what ``state.desired_state`` gives (the oracle: tests/agent
check every sync against it), without rebuilding the cluster and the ruleset
when only a few Pods, NetworkPolicies and Namespaces changed:

- the documents that changed are found by identity (both sources hand back the
  very same document objects for what they did not re-read or receive); a
  document re-read with the same content and place is no change;
- each changed object updates the live model of nft/incremental.py: a pod
  the peer sets that match its old or new labels and, on this node, its own
  dispatch; a policy (an ApplicationNetworkPolicy too) its own lines; a
  cluster-wide policy its own lines and the tier order; a namespace's labels
  the peers whose namespace selector matches its old or new labels.

A change is taken the fast way only when it cannot change anything else of the
state, so the result is the full computation's; anything else makes a full
sync (``prepare`` and a new live model), which is also the first sync:

- the state before has no diagnostic at all (so nothing invalid, kept,
  quarantined, duplicated, shared or assumed: each of those is said in one);
- every changed document is a Pod, NetworkPolicy, ApplicationNetworkPolicy,
  cluster-wide policy or Namespace that converts without any diagnostic; a Pod
  is live, not hostNetwork, with an address no other pod has; a Pod or a
  namespaced policy is in a declared namespace; a Namespace is relabelled, not
  added or removed; no object is given twice;
- the policies (and, apart, the cluster-wide ones) are in the order of their
  documents (file, document, item; then namespace and name), as both sources
  give them.

The whole cluster (for strict mode's conntrack check) is built only when asked
for (``DesiredState.cluster``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from netfence.agent.state import (
    KEPT_KINDS,
    TIER_KINDS,
    DesiredState,
    Prepared,
    UnenforcedRule,
    names_rules,
    prepare,
)
from netfence.compile import compile_policies
from netfence.compile.compiled import CompiledPolicySet, compile_policy
from netfence.compile.tiers import compile_cluster_policy
from netfence.model.cluster import Cluster, Namespace, Pod
from netfence.model.diagnostics import Source
from netfence.model.policy import IPAddress, NetworkPolicy
from netfence.model.tiers import ClusterPolicy
from netfence.nft.compiler import NftOptions
from netfence.nft.incremental import LiveModel, LiveNodeCompiler, LivePolicies, OrderKey
from netfence.nft.model import Ruleset
from netfence.parse.build import DEFAULT_NAMESPACE, ConversionCache
from netfence.parse.documents import RawDocument

# the kinds a fast sync follows: an ApplicationNetworkPolicy is a NetworkPolicy of
# the NetworkPolicy tier; the cluster-wide kinds are ClusterPolicies
TRACKED = ("Pod", "NetworkPolicy", "Namespace", "ApplicationNetworkPolicy", *TIER_KINDS)
VALUES = (Pod, NetworkPolicy, Namespace, ClusterPolicy)  # what tracked documents convert to


@dataclass(frozen=True)
class _Object:
    """A tracked document and what it converted to (a Pod, NetworkPolicy or Namespace)."""

    doc: RawDocument
    key: str
    value: object


class NodeState:
    """``desired_state`` for one node, kept between syncs (see the module docstring)."""

    def __init__(
        self, node: str | None, options: NftOptions, conversions: ConversionCache | None = None
    ) -> None:
        self.node = node
        self.options = options
        self.conversions = conversions if conversions is not None else ConversionCache()
        self.full_syncs = 0  # how many syncs were full ones (the first, and fallbacks)
        self.failed_fast = 0  # incremental syncs that raised (a full one took over)
        self._live = False  # the next sync may be a fast one
        # id → the parts of the last sync's documents (see sync)
        self._parts: dict[int, tuple[RawDocument, ...]] = {}
        self._objects: dict[str, _Object] = {}  # key → tracked object
        self._by_doc: dict[int, str] = {}  # id of a tracked document → its key
        self._claims: dict[IPAddress, set[str]] = {}  # pod address → pods giving it
        self._namespaces: set[str] = set()  # declared
        # the last good documents: those of the last full sync, and changes since
        self._good = Layered({}, {})
        self._compiler: LiveNodeCompiler | None = None
        self._model: Ruleset | None = None  # the last fast sync's
        self._unenforced: tuple[UnenforcedRule, ...] = ()  # the last full sync's
        # policy key → its rules with domainNames peers (ApplicationNetworkPolicy), kept
        # up to date by fast syncs; the tiers' are the compiler's (tier_unenforced)
        self._names: dict[str, tuple[UnenforcedRule, ...]] = {}

    def sync(
        self,
        documents: Sequence[RawDocument],
        last_good: Mapping[str, RawDocument],
        parts: Sequence[tuple[RawDocument, ...]] | None = None,
    ) -> DesiredState:
        """``parts``: the same documents in groups (a file's), each group the very
        same tuple as long as none of its documents changed: then only the groups
        are compared, not every document."""
        docs = tuple(documents)
        pieces = _pieces(docs, parts)
        state = None
        if self._live and self._compiler is not None and pieces is not None:
            try:
                state = self._fast(docs, pieces, last_good, self._compiler)
            except Exception:  # the model may be half changed: never use it again
                self.failed_fast += 1
                self._live = False
        if state is None:
            state = self._full(docs, last_good)
            self._live = self._live and pieces is not None
        self._parts = pieces or {}
        return state

    # --- a full sync ----------------------------------------------------------------------

    def _full(
        self, docs: tuple[RawDocument, ...], last_good: Mapping[str, RawDocument]
    ) -> DesiredState:
        self.full_syncs += 1
        prepared = prepare(docs, last_good, self.conversions)
        cluster = prepared.cluster
        compiled = compile_policies(cluster.policies, cluster.cluster_policies)
        orders = [_order_of(p) for p in cluster.policies]
        tier_orders = [_order_of(p) for p in cluster.cluster_policies]
        in_order = orders == sorted(orders) and tier_orders == sorted(tier_orders)
        if not in_order:  # (then no fast sync follows: only their places matter)
            orders = [(i,) for i in range(len(orders))]
            tier_orders = [(i,) for i in range(len(tier_orders))]
        compiler = _live_compiler(cluster, compiled, orders, self.node, self.options, prepared)
        places = dict(zip((p.key for p in cluster.cluster_policies), tier_orders, strict=True))
        every = (*compiled.tiers.admin, *compiled.tiers.baseline)
        compiler.set_tier_policies((places[c.policy.key], c) for c in every)
        here = [ip for ip, on in prepared.quarantined if _here(on, self.node)]
        model = compiler.current(here)
        self._compiler, self._model = compiler, None
        self._good = Layered(dict(prepared.good_documents), {})
        self._live = not prepared.diagnostics and in_order and self._index(docs)
        self._unenforced = tuple(ref for p in compiled.policies for ref in names_rules(p))
        self._names = {}
        return DesiredState(
            model,
            prepared.diagnostics,
            prepared.good_documents,
            prepared.quarantined,
            prepared.kept,
            lambda: (cluster, compiled),
            (*compiler.tier_unenforced(), *self._unenforced),
        )

    def _index(self, docs: tuple[RawDocument, ...]) -> bool:
        """Remember the documents and the tracked objects; False when one of them is
        given twice (then every sync is a full one until it is not)."""
        self._objects, self._by_doc, self._claims, self._namespaces = {}, {}, {}, set()
        for doc in docs:
            if doc.kind not in TRACKED:
                continue
            try:
                converted = self.conversions.convert(doc, DEFAULT_NAMESPACE)
            except Exception:  # prepare reported it
                return False
            if not converted.table:
                continue
            if converted.key in self._objects:
                return False
            self._track(_Object(doc, converted.key, converted.value))
        return True

    def _track(self, obj: _Object) -> None:
        self._objects[obj.key] = obj
        self._by_doc[id(obj.doc)] = obj.key
        if isinstance(obj.value, Pod):
            for ip in obj.value.ips:
                self._claims.setdefault(ip, set()).add(obj.key)
        elif isinstance(obj.value, Namespace):
            self._namespaces.add(obj.value.name)

    def _untrack(self, obj: _Object) -> None:
        del self._objects[obj.key]
        self._by_doc.pop(id(obj.doc), None)
        if isinstance(obj.value, Pod):
            for ip in obj.value.ips:
                claims = self._claims.get(ip, set())
                claims.discard(obj.key)
                if not claims:
                    self._claims.pop(ip, None)

    # --- a fast sync ----------------------------------------------------------------------

    def _fast(
        self,
        docs: tuple[RawDocument, ...],
        pieces: dict[int, tuple[RawDocument, ...]],
        last_good: Mapping[str, RawDocument],
        compiler: LiveNodeCompiler,
    ) -> DesiredState | None:
        changes = self._changes(pieces, compiler)
        if changes is None:
            return None
        for key, (old, new) in changes.items():
            self._apply(compiler, key, old, new)
        model = compiler.current() if changes or self._model is None else self._model
        self._model = model
        good = self._good = self._good.settled()
        conversions = self.conversions

        def evaluation() -> tuple[Cluster, CompiledPolicySet]:
            cluster = prepare(docs, last_good, conversions).cluster
            return cluster, compile_policies(cluster.policies, cluster.cluster_policies)

        left_out = (*compiler.tier_unenforced(), *self._left_out_now())
        return DesiredState(model, (), good, (), frozenset(), evaluation, left_out)

    def _left_out_now(self) -> tuple[UnenforcedRule, ...]:
        """The last full sync's NetworkPolicy-tier rules left out, with the fast
        syncs' policy changes."""
        if not self._names:
            return self._unenforced
        kept = tuple(r for r in self._unenforced if r.policy not in self._names)
        return (*kept, *(r for refs in self._names.values() for r in refs))

    def _changes(
        self, current: dict[int, tuple[RawDocument, ...]], compiler: LiveNodeCompiler
    ) -> dict[str, tuple[_Object | None, _Object | None]] | None:
        """Key → (old, new) of every tracked object that changed; None when this
        sync cannot be a fast one."""
        known = self._parts
        removed = [d for i in known.keys() - current.keys() for d in known[i]]
        arrived_docs = [d for i in current.keys() - known.keys() for d in current[i]]
        added, unmatched = self._reread(removed, arrived_docs, compiler)
        gone: dict[str, _Object] = {}
        for doc in unmatched:
            key = self._by_doc.get(id(doc))
            if key is None:
                return None  # an untracked document: Service, Node, a pod not programmed, ...
            gone[key] = self._objects[key]
        changes: dict[str, tuple[_Object | None, _Object | None]] = {
            key: (obj, None) for key, obj in gone.items()
        }
        arrived: set[str] = set()
        for doc in added:
            new = self._converted(doc)
            if new is None or new.key in arrived:
                return None
            arrived.add(new.key)
            old = gone.get(new.key)
            if old is None and new.key in self._objects:
                return None  # a second object with the same name
            changes[new.key] = (old, new)
        return changes if self._allowed(changes) else None

    def _reread(
        self, removed: list[RawDocument], added: list[RawDocument], compiler: LiveNodeCompiler
    ) -> tuple[list[RawDocument], list[RawDocument]]:
        """Pair documents read again with the same content (at the same place, or
        moved within their file): no change but their place. The added and the
        removed documents left."""
        by_source: dict[Source, list[RawDocument]] = {}
        for doc in removed:
            by_source.setdefault(doc.source, []).append(doc)
        by_key: dict[tuple[str, str, str], list[RawDocument]] | None = None
        left: list[RawDocument] = []
        for doc in added:
            candidates = by_source.get(doc.source, [])
            before = next((d for d in candidates if d.obj == doc.obj), None)
            if before is None:  # not in place: moved within its file?
                if by_key is None:
                    by_key = {}
                    for old in (d for docs in by_source.values() for d in docs):
                        by_key.setdefault(_key_of(old), []).append(old)
                candidates = by_key.get(_key_of(doc), [])
                before = next((d for d in candidates if d.obj == doc.obj), None)
            if before is None:
                left.append(doc)
                continue
            by_source[before.source].remove(before)
            if by_key is not None:
                by_key[_key_of(before)].remove(before)
            self._moved(before, doc, compiler)
        return left, [d for docs in by_source.values() for d in docs]

    def _moved(self, before: RawDocument, doc: RawDocument, compiler: LiveNodeCompiler) -> None:
        """``doc`` stands for ``before`` (the same content, maybe elsewhere)."""
        key = self._by_doc.pop(id(before), None)
        if key is None:
            return  # untracked: nothing of it is kept
        obj = self._objects[key]
        self._objects[key] = _Object(doc, key, obj.value)
        self._by_doc[id(doc)] = key
        if doc.kind in KEPT_KINDS:
            self._good.put(key, doc)
        if isinstance(obj.value, NetworkPolicy) and doc.source != before.source:
            policy = dataclasses.replace(obj.value, source=doc.source)
            compiler.policies.put(_order_of(policy), compile_policy(policy))
        elif isinstance(obj.value, ClusterPolicy) and doc.source != before.source:
            moved = dataclasses.replace(obj.value, source=doc.source)
            compiler.put_tier_policy(_order_of(moved), compile_cluster_policy(moved))

    def _converted(self, doc: RawDocument) -> _Object | None:
        """The document as a tracked object; None when it cannot be a fast change."""
        if doc.kind not in TRACKED:
            return None
        try:
            converted = self.conversions.convert(doc, DEFAULT_NAMESPACE)
        except Exception:  # the full sync reports it
            return None
        if not converted.table or converted.diagnostics:
            return None
        value = converted.value
        if not isinstance(value, VALUES):
            return None  # e.g. a ClusterNetworkPolicy of an API not evaluated
        if isinstance(value, Pod) and not _programmed(value):
            return None
        return _Object(doc, converted.key, value)

    def _allowed(self, changes: Mapping[str, tuple[_Object | None, _Object | None]]) -> bool:
        for key, (old, new) in changes.items():
            value = new.value if new is not None else old.value if old is not None else None
            if not isinstance(value, VALUES):
                return False  # a document kept as another kind of policy
            if isinstance(value, Namespace):
                if old is None or new is None:
                    return False  # a namespace added or removed
            elif isinstance(value, Pod | NetworkPolicy) and value.namespace not in self._namespaces:
                return False  # its namespace is assumed: a notice says so
            if old is not None and isinstance(old.value, Pod) and not _programmed(old.value):
                return False  # the model holds it as the build gave it (an address assigned)
            if new is not None and isinstance(new.value, Pod):
                if any(self._claims.get(ip, {key}) != {key} for ip in new.value.ips):
                    return False  # another pod has this address
                if len(set(new.value.ips)) != len(new.value.ips):
                    return False
        return True

    def _apply(
        self, compiler: LiveNodeCompiler, key: str, old: _Object | None, new: _Object | None
    ) -> None:
        if old is not None:
            self._untrack(old)
            if old.doc.kind in KEPT_KINDS:
                self._good.put(key, None)
        if new is not None:
            self._track(new)
            if new.doc.kind in KEPT_KINDS:
                self._good.put(key, new.doc)
        if old is not None and new is not None and old.value is new.value:
            return  # re-read, unchanged
        before = old.value if old is not None else None
        after = new.value if new is not None else None
        if isinstance(before, Pod) or isinstance(after, Pod):
            assert before is None or isinstance(before, Pod)
            assert after is None or isinstance(after, Pod)
            local = after is not None and (self.node is None or after.node == self.node)
            compiler.change_pod(before, after, local)
        elif isinstance(after, Namespace):
            compiler.relabel_namespace(after.name, after.labels)
        elif isinstance(after, NetworkPolicy):
            compiled = compile_policy(after)
            compiler.put_policy(_order_of(after), compiled)
            self._names[after.key] = names_rules(compiled)
        elif isinstance(before, NetworkPolicy):
            compiler.remove_policy(before.namespace, before.key)
            self._names[before.key] = ()
        elif isinstance(after, ClusterPolicy):
            compiler.put_tier_policy(_order_of(after), compile_cluster_policy(after))
        elif isinstance(before, ClusterPolicy):
            compiler.remove_tier_policy(before.key)


def _pieces(
    docs: tuple[RawDocument, ...], parts: Sequence[tuple[RawDocument, ...]] | None
) -> dict[int, tuple[RawDocument, ...]] | None:
    """Id → part (or each document alone); None when one is given twice."""
    pieces: dict[int, tuple[RawDocument, ...]]
    pieces = {id(d): (d,) for d in docs} if parts is None else {id(p): p for p in parts}
    return pieces if len(pieces) == len(docs if parts is None else parts) else None


class Layered(Mapping[str, RawDocument]):
    """A mapping as a base and the changes since (None: removed). What ``settled``
    returns never changes; ``put`` changes only the mapping it is called on."""

    def __init__(
        self, base: dict[str, RawDocument], changes: dict[str, RawDocument | None]
    ) -> None:
        self._base, self._changes = base, changes
        self._len = len(base)
        for key, doc in changes.items():
            self._len += (doc is not None) - (key in base)

    def put(self, key: str, doc: RawDocument | None) -> None:
        self._len += (doc is not None) - (key in self)
        self._changes[key] = doc

    def settled(self) -> Layered:
        """A copy (the base shared) that ``put`` on this one does not change; the base
        taken whole again when the changes grow to an eighth of it."""
        if len(self._changes) > len(self._base) // 8:
            return Layered(dict(self.items()), {})
        return Layered(self._base, dict(self._changes))

    def __getitem__(self, key: str) -> RawDocument:
        if key in self._changes:
            doc = self._changes[key]
            if doc is None:
                raise KeyError(key)
            return doc
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str) and key in self._changes:
            return self._changes[key] is not None
        return key in self._base

    def __iter__(self) -> Iterator[str]:
        changes = self._changes
        yield from (k for k in self._base if k not in changes)
        yield from (k for k, doc in changes.items() if doc is not None)

    def __len__(self) -> int:
        return self._len


def _key_of(doc: RawDocument) -> tuple[str, str, str]:
    """Kind, namespace and name as written (equal documents have equal ones)."""
    meta = doc.obj.get("metadata")
    if not isinstance(meta, dict):
        return str(doc.obj.get("kind")), "", ""
    return str(doc.obj.get("kind")), str(meta.get("namespace")), str(meta.get("name"))


def _programmed(pod: Pod) -> bool:
    """A pod the live model holds as it was converted: not hostNetwork, addressed."""
    return not pod.host_network and bool(pod.ips)


def _here(node: str | None, this: str | None) -> bool:
    return this is None or node is None or node == this


def _order_of(policy: NetworkPolicy | ClusterPolicy) -> OrderKey:
    """Where a policy's document is among the others (file, document, item), then
    its name: the order both sources give documents in."""
    source = policy.source or Source("", 0)
    item = -1 if source.item is None else source.item
    namespace = policy.namespace if isinstance(policy, NetworkPolicy) else ""
    return (source.file, source.doc, item, source.nested, namespace, policy.name)


def _live_compiler(
    cluster: Cluster,
    compiled: CompiledPolicySet,
    orders: Sequence[OrderKey],
    node: str | None,
    options: NftOptions,
    prepared: Prepared,
) -> LiveNodeCompiler:
    namespaces = {p.namespace for p in cluster.pods} | {ns.name for ns in cluster.namespaces}
    labels = {n: cluster.namespace_labels(n) for n in namespaces}
    quarantined = [ip for ip, _ in prepared.quarantined]
    model = LiveModel(options, cluster.pods, labels, quarantined)
    policies = LivePolicies()
    for order, policy in zip(orders, compiled.policies, strict=True):
        policies.put(order, policy)
    compiler = LiveNodeCompiler(model, policies, options, nodes=cluster.nodes)
    for pod in cluster.pods:
        if not pod.host_network and (node is None or pod.node == node):
            compiler.add_local(pod)
    return compiler
