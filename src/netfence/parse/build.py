"""Raw documents → one Cluster, as the API server and controllers would make it.

- Objects without a namespace take ``default_namespace`` (``kubectl apply -n``).
- Every namespace carries ``kubernetes.io/metadata.name``; namespaces that objects
  use but nobody declares exist implicitly, with a notice.
- Workloads whose pods are not given are expanded from their templates, with
  predictable names (``<workload>-<i>``; DaemonSets ``<workload>-<node>``).
- Pods and Services without addresses get deterministic ones.
- A later object with the same kind, namespace and name replaces an earlier one,
  as ``kubectl apply`` would, with a notice.
- Invalid NetworkPolicies are reported and left out; unknown kinds are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from netfence.model.cluster import NAMESPACE_NAME_LABEL, Cluster, Namespace, Node, Pod, Service
from netfence.model.diagnostics import Diagnostic, ObjectRef, Severity, notice
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
from netfence.parse.validation import validate_network_policy

DEFAULT_NAMESPACE = "default"
T = TypeVar("T")
_CLUSTER_SCOPED = ("Namespace", "Node")


@dataclass(frozen=True)
class BuildResult:
    cluster: Cluster
    diagnostics: tuple[Diagnostic, ...]
    skipped: dict[str, int] = field(default_factory=dict)

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
    diagnostics: list[Diagnostic] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def build_cluster(
    documents: Iterable[RawDocument], default_namespace: str | None = None
) -> BuildResult:
    collected = _Collected()
    for doc in documents:
        _collect(doc, default_namespace or DEFAULT_NAMESPACE, collected)
    namespaces = _namespaces(collected)
    pods = list(collected.pods.values())
    pods.extend(_expand_workloads(collected, pods))
    pods, services, nodes = assign_addresses(
        pods, collected.services.values(), collected.nodes.values()
    )
    cluster = Cluster(
        namespaces=tuple(namespaces),
        pods=tuple(sorted(pods, key=lambda p: (p.namespace, p.name))),
        services=tuple(services),
        nodes=tuple(nodes),
        policies=tuple(collected.policies.values()),
    )
    return BuildResult(cluster, tuple(collected.diagnostics), dict(collected.skipped))


def _collect(doc: RawDocument, default_namespace: str, into: _Collected) -> None:
    kind = doc.kind
    namespace = None if kind in _CLUSTER_SCOPED else namespace_of(doc, default_namespace)
    ns = namespace or default_namespace
    reader = FieldReader(doc.source, object_ref(doc, namespace))
    if kind == "NetworkPolicy":
        problems = validate_network_policy(doc.obj, doc.source, namespace)
        into.diagnostics.extend(problems)
        if any(d.severity is Severity.ERROR for d in problems):
            return  # the API server would reject it: never evaluated
        _store(into.policies, to_policy(doc.obj, ns, doc.source), reader, doc, into)
    elif kind == "Namespace":
        _store(into.namespaces, to_namespace(doc, reader), reader, doc, into)
    elif kind == "Pod":
        _store(into.pods, to_pod(doc, ns, reader), reader, doc, into)
    elif kind in WORKLOAD_KINDS:
        _store(into.workloads, to_workload(doc, ns, reader), reader, doc, into)
    elif kind == "Service":
        _store(into.services, to_service(doc, ns, reader), reader, doc, into)
    elif kind == "Node":
        _store(into.nodes, to_node(doc, reader), reader, doc, into)
    else:
        into.skipped[kind or "<no kind>"] += 1


def _store(
    table: dict[str, T], value: T, reader: FieldReader, doc: RawDocument, into: _Collected
) -> None:
    """Keep a converted object unless it had errors; a later object of the same
    kind, namespace and name replaces an earlier one."""
    if reader.problems:
        into.diagnostics.extend(reader.problems)
        return
    ref = reader.obj or object_ref(doc, None)
    key = f"{doc.kind}/{ref.namespace}/{ref.name}"
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
    taken = {p.key for p in given}
    expanded: list[Pod] = []
    nodes = sorted(collected.nodes.values(), key=lambda n: n.name)
    for workload in collected.workloads.values():
        if _has_given_pods(workload, given):
            continue
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


def _has_given_pods(workload: Workload, given: Sequence[Pod]) -> bool:
    """Pods given explicitly (e.g. from ``kubectl get pods -o yaml``) stand for the
    workload: by owner reference, or by the workload's selector."""
    for pod in given:
        if pod.namespace != workload.namespace:
            continue
        if pod.workload == workload.ref:
            return True
        selector = workload.selector
        if selector and all(pod.labels.get(k) == v for k, v in selector.items_):
            return True
    return False


def _pod_names(workload: Workload, nodes: list[str]) -> list[tuple[str, str | None]]:
    name = workload.ref.name
    if workload.ref.kind == "DaemonSet":
        return [(f"{name}-{node}", node) for node in nodes] or [(f"{name}-0", None)]
    return [(f"{name}-{i}", None) for i in range(workload.replicas)]
