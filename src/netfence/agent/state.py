"""Desired state for one node, failing closed on objects that do not validate.

An object the agent enforces (a NetworkPolicy, a Pod or a Namespace) that fails
conversion or validation (or makes conversion raise) is never evaluated, and
never simply vanishes:

- it keeps its last good version when the agent has one (``last_good``: the raw
  document of its last valid version, persisted across restarts by the agent);
- otherwise a NetworkPolicy isolates its whole namespace in both directions (the
  agent cannot know which pods it meant), and a Pod's address, when it can be
  read at all, is quarantined: denied in both directions and in no peer set;
  a Namespace is assumed with only its name label.

Workloads (Deployments, …) are not expanded: the agent programs pods, which
carry their addresses; a template has none.

An address claimed by two live pods is denied in both directions and is in a
peer set only when both pods match (nft/compiler.py); each such address is
reported. Finished pods (Succeeded, Failed) are no endpoints (parse/build.py),
and only pods with an address of their own are programmed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from netfence.compile import CompiledPolicySet, compile_policies
from netfence.compile.compiled import CompiledPolicy, RuleRef
from netfence.compile.tiers import TierRuleRef
from netfence.model.cluster import Cluster, Pod
from netfence.model.diagnostics import Diagnostic, ObjectRef, Severity, error, notice
from netfence.model.labels import MATCH_ALL
from netfence.model.policy import Direction, IPAddress, NetworkPolicy
from netfence.model.tiers import TierKind
from netfence.nft.compiler import NftOptions, node_ruleset
from netfence.nft.model import Ruleset
from netfence.parse.build import (
    DEFAULT_NAMESPACE,
    ConversionCache,
    build_cluster,
    finished_pod,
)
from netfence.parse.documents import RawDocument
from netfence.parse.fields import parse_ip
from netfence.parse.objects import WORKLOAD_KINDS, namespace_of, object_ref

TIER_KINDS = tuple(sorted({k.kind for k in TierKind}))  # the cluster-wide policies
# objects whose last good version is kept
KEPT_KINDS = ("NetworkPolicy", "Pod", "Namespace", *TIER_KINDS)
CLUSTER_SCOPED = ("Namespace", "Node", *TIER_KINDS)


@dataclass(frozen=True, eq=False)
class DesiredState:
    model: Ruleset  # the node's ruleset as data (the agent diffs consecutive ones)
    diagnostics: tuple[Diagnostic, ...]
    # "Kind/namespace/name" → the raw document of its last valid version: valid now,
    # or kept from before (the next sync's ``last_good``, persisted by the agent)
    good_documents: Mapping[str, RawDocument]
    quarantined: tuple[tuple[IPAddress, str | None], ...] = ()  # (address, node)
    kept: frozenset[str] = frozenset()  # keys of good_documents standing in for invalid ones
    # the whole cluster and its compiled policies (what strict mode evaluates
    # flows with), made only when asked for: an incremental sync never needs them
    evaluation: Callable[[], tuple[Cluster, CompiledPolicySet]] = field(
        default=lambda: (Cluster((), ()), compile_policies(())), repr=False
    )
    # rules the dataplane leaves (in part) out: their ``domainNames`` peers, in
    # cluster-wide policies (nft/tiers.py unenforced_rules) and in EKS
    # ApplicationNetworkPolicies (names_rules)
    unenforced: tuple[UnenforcedRule, ...] = ()

    @cached_property
    def _evaluated(self) -> tuple[Cluster, CompiledPolicySet]:
        return self.evaluation()

    @property
    def cluster(self) -> Cluster:
        return self._evaluated[0]

    @property
    def compiled(self) -> CompiledPolicySet:
        return self._evaluated[1]

    @cached_property
    def ruleset(self) -> str:
        """The whole ruleset as one ``nft -f`` transaction (nft.model.Ruleset.render)."""
        return self.model.render()


@dataclass(frozen=True)
class Prepared:
    """Everything of a desired state but the ruleset: the cluster the node's
    ruleset is compiled from (pods without an address of their own left out,
    fail-closed policies added), and what was found on the way."""

    cluster: Cluster
    diagnostics: tuple[Diagnostic, ...]
    good_documents: dict[str, RawDocument]
    quarantined: tuple[tuple[IPAddress, str | None], ...]
    kept: frozenset[str]


def document_key(doc: RawDocument) -> str:
    """``Kind/namespace/name`` of a document, as the build keys it; a cluster-wide
    policy's ``Kind.group//name`` whether it is valid or not (the two
    ClusterNetworkPolicy APIs may share a name)."""
    ref = _ref(doc)
    if doc.kind in TIER_KINDS:
        api_version = doc.obj.get("apiVersion")
        group = api_version.partition("/")[0] if isinstance(api_version, str) else ""
        return f"{doc.kind}.{group}//{ref.name}"
    return f"{doc.kind}/{ref.namespace}/{ref.name}"


def desired_state(
    documents: Iterable[RawDocument],
    node: str | None,
    last_good: Mapping[str, RawDocument],
    options: NftOptions,
    conversions: ConversionCache | None = None,
) -> DesiredState:
    prepared = prepare(documents, last_good, conversions)
    cluster = prepared.cluster
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    model = node_ruleset(compiled, cluster, node, options, prepared.quarantined)
    return DesiredState(
        model,
        prepared.diagnostics,
        prepared.good_documents,
        prepared.quarantined,
        prepared.kept,
        lambda: (cluster, compiled),
        unenforced(compiled),
    )


UnenforcedRule = TierRuleRef | RuleRef


def unenforced(compiled: CompiledPolicySet) -> tuple[UnenforcedRule, ...]:
    """The rules the dataplane leaves (in part) out: those with ``domainNames`` peers."""
    named = tuple(ref for p in compiled.policies for ref in names_rules(p))
    if not compiled.tiers:
        return named
    from netfence.nft.tiers import unenforced_rules  # only when there are tiers

    return (*unenforced_rules(compiled.tiers), *named)


def names_rules(policy: CompiledPolicy) -> tuple[RuleRef, ...]:
    """An ApplicationNetworkPolicy's egress rules with ``domainNames`` peers: the nft
    compiler reads only address peers (compile.CompiledRule.names stay out), so the
    rule allows less than the engine says for connections made to those names."""
    return tuple(rule.origin for rule in policy.egress if rule.names)


def prepare(
    documents: Iterable[RawDocument],
    last_good: Mapping[str, RawDocument],
    conversions: ConversionCache | None = None,
) -> Prepared:
    """The cluster to compile, failing closed on objects that do not validate."""
    cache = conversions if conversions is not None else ConversionCache()
    docs, diagnostics, good, invalid, kept = _substitute(list(documents), last_good, cache)
    built = build_cluster(docs, cache=cache)
    diagnostics.extend(built.diagnostics)
    addressed = _addressed(docs, cache)
    policies = list(built.cluster.policies)
    quarantined: list[tuple[IPAddress, str | None]] = []
    for key, (ref, doc) in invalid.items():
        if key in good:
            continue  # another, valid object with the same name stands for it
        if ref.kind == "Namespace":
            diagnostics.append(
                notice("invalid and never valid: only its name label is assumed", obj=ref)
            )
        elif ref.kind == "NetworkPolicy":
            policies.append(_isolate_namespace(ref))
            diagnostics.append(
                notice(
                    f"invalid and never valid: namespace {ref.namespace} isolated (fail closed)",
                    obj=ref,
                )
            )
        elif ref.kind in TIER_KINDS:
            diagnostics.append(
                notice(
                    "invalid and never valid: NOT enforced (whom it meant cannot be known); "
                    "the rest of the policies are",
                    obj=ref,
                )
            )
        elif finished_pod(doc):
            diagnostics.append(notice("invalid, and finished: not an endpoint", obj=ref))
        else:
            ips, on = _readable_addresses(doc)
            quarantined.extend((ip, on) for ip in ips)
            shown = ", ".join(str(ip) for ip in ips) or "no readable address"
            diagnostics.append(
                notice(f"invalid and never valid: {shown} denied both ways (fail closed)", obj=ref)
            )
    diagnostics.extend(_shared_addresses(built.cluster.pods))
    cluster = built.cluster
    pods = tuple(p for p in cluster.pods if p.host_network or p.key in addressed)
    if len(policies) != len(cluster.policies) or len(pods) != len(cluster.pods):
        # fail-closed policies added; pods without an address of their own left out
        cluster = dataclasses.replace(cluster, pods=pods, policies=tuple(policies))
    return Prepared(cluster, tuple(diagnostics), good, tuple(quarantined), frozenset(kept))


def _substitute(
    documents: list[RawDocument], last_good: Mapping[str, RawDocument], cache: ConversionCache
) -> tuple[
    list[RawDocument],
    list[Diagnostic],
    dict[str, RawDocument],
    dict[str, tuple[ObjectRef, RawDocument]],
    set[str],
]:
    """Each Pod or NetworkPolicy that does not convert is replaced by its last good
    version when there is one; the others are returned as ``invalid``."""
    out: list[RawDocument] = []
    diagnostics: list[Diagnostic] = []
    good: dict[str, RawDocument] = {}
    invalid: dict[str, tuple[ObjectRef, RawDocument]] = {}
    kept_keys: set[str] = set()
    templates = 0
    for doc in documents:
        if doc.kind in WORKLOAD_KINDS:
            templates += 1  # only pods with addresses are programmed: nothing to expand
            continue
        try:
            key, ref, table, problems = _converted(doc, cache)
        except Exception as exc:  # one document must never stop every sync
            key, ref, table = document_key(doc), _ref(doc), ""
            problems = [error(f"cannot be converted: {exc!r}"[:500], doc.source, ref)]
            if doc.kind not in KEPT_KINDS:
                diagnostics.extend(problems)
                continue
        if doc.kind not in KEPT_KINDS:
            out.append(doc)
            continue
        if ref is None or not any(d.severity is Severity.ERROR for d in problems):
            out.append(doc)
            invalid.pop(key, None)
            kept_keys.discard(key)
            if table:
                good[key] = doc
            else:
                good.pop(key, None)  # e.g. a finished pod: nothing to keep
            continue
        diagnostics.extend(problems)
        kept = last_good.get(key)
        if kept is not None and _valid(kept, cache):
            out.append(kept)
            good[key] = kept
            kept_keys.add(key)
            diagnostics.append(notice("invalid: kept its last good version", doc.source, ref))
        else:
            invalid[key] = (ref, doc)
    if templates:
        diagnostics.append(
            notice(f"{templates} workload object(s) not expanded: the agent programs pods")
        )
    return out, diagnostics, good, invalid, kept_keys


def _ref(doc: RawDocument) -> ObjectRef:
    scoped = doc.kind not in CLUSTER_SCOPED
    return object_ref(doc, namespace_of(doc, DEFAULT_NAMESPACE) if scoped else None)


def _converted(
    doc: RawDocument, cache: ConversionCache
) -> tuple[str, ObjectRef | None, str, list[Diagnostic]]:
    """A document's key, object, table (empty: left out) and problems."""
    converted = cache.convert(doc, DEFAULT_NAMESPACE)
    key = document_key(doc) if doc.kind in TIER_KINDS else converted.key
    return key, converted.ref, converted.table, list(converted.diagnostics)


def _valid(doc: RawDocument, cache: ConversionCache) -> bool:
    _, _, table, problems = _converted(doc, cache)
    return bool(table) and not any(d.severity is Severity.ERROR for d in problems)


def _addressed(documents: Iterable[RawDocument], cache: ConversionCache) -> set[str]:
    """Pods that have an address of their own (``status.podIP(s)``). Only they are
    programmed: the address analysis gives the others (pods expanded from
    workloads, pods not started yet) is invented, and might be a real endpoint's."""
    found = set()
    for doc in documents:
        if doc.kind == "Pod":
            pod = cache.convert(doc, DEFAULT_NAMESPACE).value
            if isinstance(pod, Pod) and pod.ips:
                found.add(pod.key)
    return found


def _readable_addresses(doc: RawDocument) -> tuple[list[IPAddress], str | None]:
    """The addresses a broken Pod document still names (zone ids cut off), and its node."""
    status = doc.obj.get("status")
    spec = doc.obj.get("spec")
    texts: list[object] = []
    if isinstance(status, dict):
        texts.append(status.get("podIP"))
        entries = status.get("podIPs")
        if isinstance(entries, list):
            texts.extend(e.get("ip") for e in entries if isinstance(e, dict))
    ips: list[IPAddress] = []
    for text in texts:
        ip = parse_ip(text.partition("%")[0]) if isinstance(text, str) else None
        if ip is not None and ip not in ips and not ip.is_unspecified:
            ips.append(ip)
    on = spec.get("nodeName") if isinstance(spec, dict) else None
    return ips, on if isinstance(on, str) and on else None


def _shared_addresses(pods: Iterable[Pod]) -> list[Diagnostic]:
    claims: dict[IPAddress, list[str]] = {}
    for pod in pods:
        if not pod.host_network:
            for ip in pod.ips:
                claims.setdefault(ip, []).append(pod.key)
    return [
        Diagnostic(
            Severity.WARNING,
            f"address {ip} is claimed by pods {', '.join(keys)}: denied both ways and in a "
            "peer set only where all of them match, until one of them goes (fail closed)",
            obj=ObjectRef("Pod", keys[0].partition("/")[0], keys[0].partition("/")[2]),
        )
        for ip, keys in claims.items()
        if len(keys) > 1
    ]


def _isolate_namespace(ref: ObjectRef) -> NetworkPolicy:
    return NetworkPolicy(
        namespace=ref.namespace or "default",
        name=f"{ref.name or 'unnamed'}.netfence-fail-closed",
        pod_selector=MATCH_ALL,
        ingress=(),
        egress=(),
        policy_types=frozenset({Direction.INGRESS, Direction.EGRESS}),
    )
