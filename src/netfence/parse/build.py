"""Raw documents → one Cluster, as the API server and controllers would make it.

- Objects without a namespace take ``default_namespace`` (``kubectl apply -n``).
- Every namespace carries ``kubernetes.io/metadata.name``; namespaces that objects
  use but nobody declares exist implicitly, with a notice.
- Workloads whose pods are not given are expanded from their templates, with
  predictable names (``<workload>-<i>``; DaemonSets ``<workload>-<node>``).
- Pods and Services without addresses get deterministic ones.
- Objects of the other kinds netfence reads are validated as the API server
  would (``validation_objects``); an invalid one is reported and left out.
- At most MAX_EXPANDED_PODS pods are expanded from workloads, checked before any
  is made; two live pods with one address are reported (a warning).
- A later object with the same kind, namespace and name replaces an earlier one,
  as ``kubectl apply`` would, with a notice.
- Invalid NetworkPolicies are reported and left out; unknown kinds are counted,
  with their sources (``BuildResult.completeness``).
- Policies of other recognised kinds (Cilium, Calico, AdminNetworkPolicy, EKS)
  are kept as ``Cluster.other_policies``: not evaluated, but named by every
  verdict they may affect.
- Pods in phase Succeeded or Failed are left out with a notice (not endpoints).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netfence.model.cluster import (
    NAMESPACE_NAME_LABEL,
    Cluster,
    Namespace,
    Node,
    Pod,
    Service,
    WorkloadRef,
)
from netfence.model.completeness import (
    Completeness,
    OtherPolicy,
    SkippedKind,
    completeness,
    is_inert,
    other_policy_kind,
)
from netfence.model.diagnostics import Diagnostic, ObjectRef, Severity, Source, error, notice
from netfence.model.labels import Labels
from netfence.model.policy import NetworkPolicy
from netfence.parse.addresses import assign_addresses
from netfence.parse.documents import RawDocument
from netfence.parse.fields import FieldReader
from netfence.parse.objects import (
    WORKLOAD_KINDS,
    Workload,
    namespace_of,
    object_ref,
    to_namespace,
    to_node,
    to_pod,
    to_service,
    to_workload,
)
from netfence.parse.policy import to_policy
from netfence.parse.validation import dns1123_label_errors, validate_network_policy
from netfence.parse.validation_fast import FastConverter
from netfence.parse.validation_objects import MAX_EXPANDED_PODS, object_errors
from netfence.parse.validation_shapes import show

if TYPE_CHECKING:
    from netfence.model.tiers import ClusterPolicy

DEFAULT_NAMESPACE = "default"
_CLUSTER_SCOPED = ("Namespace", "Node")


@dataclass(frozen=True)
class BuildResult:
    cluster: Cluster
    diagnostics: tuple[Diagnostic, ...]
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_kinds: tuple[SkippedKind, ...] = ()

    @property
    def completeness(self) -> Completeness:
        """What was not evaluated: skipped kinds, other policy kinds, fields not applied."""
        return completeness(self.skipped_kinds, self.cluster.other_policies, self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.ERROR)


@dataclass
class _Collected:
    namespaces: dict[str, Namespace] = field(default_factory=dict)
    pods: dict[str, Pod] = field(default_factory=dict)
    workloads: dict[str, Workload] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    policies: dict[str, NetworkPolicy] = field(default_factory=dict)
    other_policies: dict[str, OtherPolicy] = field(default_factory=dict)
    cluster_policies: dict[str, ClusterPolicy] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_sources: dict[tuple[str, str], list[Source]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Converted:
    """One document converted on its own: what goes into which table, and the
    problems found. Depends only on the document and the default namespace."""

    table: str  # a field of _Collected ("" when nothing is stored)
    key: str  # kind/namespace/name
    value: object
    ref: ObjectRef | None
    diagnostics: tuple[Diagnostic, ...]
    skipped_kind: str | None = None


@dataclass
class ConversionCache:
    """Converted documents, reused while a caller hands back the very same object
    (a source that re-reads only what changed keeps unchanged documents as the
    same objects). Entries not used by the latest build are dropped. A document
    must not be changed in place once handed over: a changed object is a new one
    (both agent sources make new dicts for what they re-read or receive)."""

    # id of the document's object -> (that object, its source, default namespace, result)
    _entries: dict[int, tuple[dict[str, object], Source, str, _Converted]] = field(
        default_factory=dict
    )
    _used: set[int] = field(default_factory=set)

    def convert(self, doc: RawDocument, default_namespace: str) -> _Converted:
        key = id(doc.obj)
        entry = self._entries.get(key)
        if (
            entry is None
            or entry[0] is not doc.obj
            or entry[2] != default_namespace
            or (entry[1] is not doc.source and entry[1] != doc.source)
        ):
            converted = _convert(doc, default_namespace)
            entry = self._entries[key] = (doc.obj, doc.source, default_namespace, converted)
        self._used.add(key)
        return entry[3]

    def begin(self) -> None:
        self._used = set()

    def end(self) -> None:
        for key in self._entries.keys() - self._used:
            del self._entries[key]


def build_cluster(
    documents: Iterable[RawDocument],
    default_namespace: str | None = None,
    cache: ConversionCache | None = None,
) -> BuildResult:
    collected = _Collected()
    namespace = default_namespace or DEFAULT_NAMESPACE
    if default_namespace:  # kubectl -n: the API server would refuse every object put there
        collected.diagnostics.extend(
            error(f"default namespace: Invalid value: {show(default_namespace)}: {m}")
            for m in dns1123_label_errors(default_namespace)
        )
    if cache is not None:
        cache.begin()
    fast = FastConverter()
    for doc in documents:
        if cache is not None:
            _add(cache.convert(doc, namespace), doc, collected)
            continue
        plain = fast.convert(doc.obj, namespace, doc.source)
        if plain is None:
            _add(convert_fully(doc, namespace), doc, collected)
        else:  # what _add does with _Converted(*plain, ()), without making it
            table, key, value, ref = plain
            _keep(getattr(collected, table), key, value, doc, ref, collected)
    if cache is not None:
        cache.end()
    namespaces = _namespaces(collected)
    pods = list(collected.pods.values())
    collected.diagnostics.extend(_shared_addresses(pods))
    pods.extend(_expand_workloads(collected, pods))
    pods, services, nodes, unaddressed = assign_addresses(
        pods, collected.services.values(), collected.nodes.values()
    )
    collected.diagnostics.extend(unaddressed)
    cluster = Cluster(
        namespaces=tuple(namespaces),
        pods=tuple(pods),  # in order of namespace and name (assign_addresses)
        services=tuple(services),
        nodes=tuple(nodes),
        policies=tuple(collected.policies.values()),
        other_policies=tuple(collected.other_policies.values()),
        cluster_policies=tuple(collected.cluster_policies.values()),
    )
    skipped_kinds = tuple(
        SkippedKind(api_version, kind, tuple(sources), is_inert(api_version, kind))
        for (api_version, kind), sources in sorted(collected.skipped_sources.items())
    )
    return BuildResult(
        cluster, tuple(collected.diagnostics), dict(collected.skipped), skipped_kinds
    )


Converter = Callable[[RawDocument, str, FieldReader], object]


def _namespace(doc: RawDocument, namespace: str, reader: FieldReader) -> Namespace:
    return to_namespace(doc, reader)


def _node(doc: RawDocument, namespace: str, reader: FieldReader) -> Node:
    return to_node(doc, reader)


_CONVERTERS: dict[str, tuple[str, Converter]] = {
    "Namespace": ("namespaces", _namespace),
    "Pod": ("pods", to_pod),
    "Service": ("services", to_service),
    "Node": ("nodes", _node),
    **{kind: ("workloads", to_workload) for kind in WORKLOAD_KINDS},
}


# The fast path of the builds that keep a ConversionCache (the agent's): its memory
# is bounded (validation_fast); a build without a cache has a converter of its own.
_SHARED_FAST = FastConverter()


def _convert(
    doc: RawDocument, default_namespace: str, fast: FastConverter | None = None
) -> _Converted:
    """One document converted, with its validation: a plain Pod or Service in one
    pass (``validation_fast``), anything else the full way."""
    plain = (fast or _SHARED_FAST).convert(doc.obj, default_namespace, doc.source)
    if plain is not None:
        return _Converted(*plain, ())
    return convert_fully(doc, default_namespace)


def convert_fully(doc: RawDocument, default_namespace: str) -> _Converted:
    """One document converted, with its validation: errors leave the object out.
    The oracle of the fast path (``validation_fast``)."""
    converted = _convert_document(doc, default_namespace)
    problems = [e.diagnostic(doc.source, converted.ref) for e in object_errors(doc.obj)]
    if not problems:
        return converted
    diagnostics = (*converted.diagnostics, *problems)
    if any(d.severity is Severity.ERROR for d in problems):
        return _Converted("", converted.key, None, converted.ref, diagnostics)
    return dataclasses.replace(converted, diagnostics=diagnostics)


def _convert_document(doc: RawDocument, default_namespace: str) -> _Converted:
    kind = doc.kind
    namespace = None if kind in _CLUSTER_SCOPED else namespace_of(doc, default_namespace)
    ns = namespace or default_namespace
    reader = FieldReader(doc.source, object_ref(doc, namespace))
    ref = reader.obj or object_ref(doc, None)
    key = f"{kind}/{ref.namespace}/{ref.name}"
    api_version = doc.obj.get("apiVersion")
    other = other_policy_kind(api_version if isinstance(api_version, str) else "", kind)
    if other is not None:  # recognised, not evaluated
        own = None if other.cluster_wide else namespace_of(doc, default_namespace)
        policy = OtherPolicy(str(api_version), kind, own, ref.name or "", doc.source)
        key = f"{other.group}/{kind}/{own}/{policy.name}"
        return _with_tier_policy(_Converted("other_policies", key, policy, ref, ()), doc, ns)
    if kind == "NetworkPolicy":
        problems = tuple(validate_network_policy(doc.obj, doc.source, namespace))
        if any(d.severity is Severity.ERROR for d in problems):
            return _Converted("", key, None, ref, problems)  # the API server would reject it
        return _Converted("policies", key, to_policy(doc.obj, ns, doc.source), ref, problems)
    if kind not in _CONVERTERS:
        return _Converted("", key, None, ref, (), skipped_kind=kind or "<no kind>")
    table, converter = _CONVERTERS[kind]
    value = converter(doc, ns, reader)
    if kind == "Pod" and not reader.problems and finished_pod(doc):
        # a finished pod keeps its status.podIP, which a CNI may already have
        # given to a live pod: it is no endpoint of anything
        phase = doc.obj["status"]["phase"]
        return _Converted(
            "", key, None, ref, (notice(f"phase {phase}: not an endpoint", doc.source, ref),)
        )
    if reader.problems:  # errors: the object is left out
        return _Converted("", key, None, ref, tuple(reader.problems))
    return _Converted(table, key, value, ref, ())


def _with_tier_policy(converted: _Converted, doc: RawDocument, namespace: str) -> _Converted:
    """A cluster-wide policy (or an EKS ApplicationNetworkPolicy) validated and, when
    valid, converted (parse/tier_read.py): a cluster-wide one into
    ``Cluster.cluster_policies`` (the commands that do not evaluate the tiers say so
    where they answer), an ApplicationNetworkPolicy into ``Cluster.policies``
    beside the NetworkPolicies: it is a NetworkPolicy of the same tier, keyed by
    its kind too. An invalid one stays a policy of another kind, not evaluated."""
    from netfence.model.tiers import ClusterPolicy  # these modules load only when needed
    from netfence.parse.tier_read import read_tier_object

    read = read_tier_object(doc.obj, doc.source, namespace)
    if read is None:
        return converted
    if isinstance(read.policy, ClusterPolicy):  # evaluated by the engine: no notice
        return _Converted("cluster_policies", read.key, read.policy, read.ref, read.diagnostics)
    if read.policy is not None:  # the NetworkPolicy tier's
        return _Converted("policies", read.key, read.policy, read.ref, read.diagnostics)
    return dataclasses.replace(converted, ref=read.ref, diagnostics=read.diagnostics)


def finished_pod(doc: RawDocument) -> bool:
    """status.phase Succeeded or Failed: every container has terminated for good."""
    status = doc.obj.get("status")
    return isinstance(status, dict) and status.get("phase") in ("Succeeded", "Failed")


def _add(converted: _Converted, doc: RawDocument, into: _Collected) -> None:
    """Keep a converted object unless it had errors; a later object of the same
    kind, namespace and name replaces an earlier one."""
    into.diagnostics.extend(converted.diagnostics)
    if converted.skipped_kind is not None:
        into.skipped[converted.skipped_kind] += 1
        api_version = doc.obj.get("apiVersion")
        what = (api_version if isinstance(api_version, str) else "", doc.kind)
        into.skipped_sources.setdefault(what, []).append(doc.source)
    if converted.table:
        table = getattr(into, converted.table)
        _keep(table, converted.key, converted.value, doc, converted.ref, into)


def _keep(
    table: dict[str, object],
    key: str,
    value: object,
    doc: RawDocument,
    ref: ObjectRef | None,
    into: _Collected,
) -> None:
    if key in table:
        into.diagnostics.append(
            notice(
                "replaces an earlier object with the same name, as kubectl apply would",
                doc.source,
                ref,
            )
        )
    table[key] = value


def _namespaces(collected: _Collected) -> list[Namespace]:
    declared = {ns.name: ns for ns in collected.namespaces.values()}
    used = [
        *(p.namespace for p in collected.pods.values()),
        *(s.namespace for s in collected.services.values()),
        *(p.namespace for p in collected.policies.values()),
        *(p.namespace for p in collected.other_policies.values() if p.namespace is not None),
        *(w.namespace for w in collected.workloads.values()),
    ]
    for name in used:
        if name not in declared:
            declared[name] = Namespace(
                name, Labels.of({NAMESPACE_NAME_LABEL: name}), declared=False
            )
            collected.diagnostics.append(
                notice(
                    "is used but not declared: assumed to exist with only the label "
                    f"{NAMESPACE_NAME_LABEL}={name}",
                    obj=ObjectRef("Namespace", None, name),
                )
            )
    return sorted(declared.values(), key=lambda ns: ns.name)


def _expand_workloads(collected: _Collected, given: Sequence[Pod]) -> list[Pod]:
    if not collected.workloads:  # the given pods are not even indexed (GivenPods)
        return []
    taken = {p.key for p in given}
    expanded: list[Pod] = []
    nodes = sorted(collected.nodes.values(), key=lambda n: n.name)
    budget = MAX_EXPANDED_PODS
    stands_for = GivenPods(given).stand_for
    for workload in collected.workloads.values():
        if stands_for(workload):
            continue
        count = max(len(nodes), 1) if workload.ref.kind == "DaemonSet" else workload.replicas
        if count > budget:  # checked before a single pod is made
            collected.diagnostics.append(_too_many_pods(workload, count, budget))
            continue
        budget -= count
        for name, node in _pod_names(workload, [n.name for n in nodes]):
            pod = Pod(
                namespace=workload.namespace,
                name=name,
                labels=workload.template.labels,
                ips=(),
                ports=workload.template.ports,
                host_network=workload.template.host_network,
                node=node or workload.template.node,
                workload=workload.ref,
                source=workload.doc.source,
            )
            if pod.key in taken:
                collected.diagnostics.append(
                    notice(
                        f"pod {pod.key} expanded from this workload already exists; kept the first",
                        workload.doc.source,
                        object_ref(workload.doc, workload.namespace),
                    )
                )
                continue
            taken.add(pod.key)
            expanded.append(pod)
    return expanded


def _too_many_pods(workload: Workload, count: int, budget: int) -> Diagnostic:
    kind = workload.ref.kind
    field = {"DaemonSet": None, "Job": "spec.parallelism"}.get(kind, "spec.replicas")
    if kind == "CronJob":
        field = "spec.jobTemplate.spec.parallelism"
    what = f"one pod on each of {count} nodes" if field is None else f"Invalid value: {count}"
    earlier = MAX_EXPANDED_PODS - budget
    others = f" ({earlier} from other workloads)" if earlier else ""
    message = (
        f"{what}: would expand more than {MAX_EXPANDED_PODS} pods from workloads "
        f"in all{others}; give the pods themselves (kubectl get pods -o yaml) instead"
    )
    ref = object_ref(workload.doc, workload.namespace)
    return Diagnostic(Severity.ERROR, message, workload.doc.source, ref, field)


def _shared_addresses(pods: Sequence[Pod]) -> list[Diagnostic]:
    """Two live pods (not hostNetwork) with one address: no cluster has them, and no
    verdict about that address can be sure which pod it means."""
    owners: dict[object, Pod] = {}
    problems: list[Diagnostic] = []
    for pod in pods:
        if pod.host_network:
            continue
        for i, ip in enumerate(pod.ips):
            first = owners.setdefault(ip, pod)
            if first is not pod:
                problems.append(
                    Diagnostic(
                        Severity.WARNING,
                        f'Duplicate value: "{ip}": also the address of pod {first.key}',
                        pod.source,
                        ObjectRef("Pod", pod.namespace, pod.name),
                        "status.podIP" if i == 0 else "status.podIPs",
                    )
                )
    return problems


class GivenPods:
    """Pods given explicitly (e.g. from ``kubectl get pods -o yaml``) stand for a
    workload: by owner reference, or by the workload's selector. Indexed once, so
    that ``kubectl get all`` (every pod and every workload) is not pods × workloads."""

    def __init__(self, given: Iterable[Pod]) -> None:
        self._owners: set[tuple[str, WorkloadRef]] = set()
        self._by_label: dict[tuple[str, str, str], list[Pod]] = {}
        for pod in given:
            if pod.workload is not None:
                self._owners.add((pod.namespace, pod.workload))
            for key, value in pod.labels.items_:
                self._by_label.setdefault((pod.namespace, key, value), []).append(pod)

    def stand_for(self, workload: Workload) -> bool:
        if (workload.namespace, workload.ref) in self._owners:
            return True
        selector = workload.selector
        if not selector:
            return False
        (key, value), *rest = selector.items_
        return any(
            all(pod.labels.get(k) == v for k, v in rest)
            for pod in self._by_label.get((workload.namespace, key, value), ())
        )


def _pod_names(workload: Workload, nodes: list[str]) -> list[tuple[str, str | None]]:
    name = workload.ref.name
    if workload.ref.kind == "DaemonSet":
        return [(f"{name}-{node}", node) for node in nodes] or [(f"{name}-0", None)]
    return [(f"{name}-{i}", None) for i in range(workload.replicas)]
