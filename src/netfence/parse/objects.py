"""Raw objects → model values, one function per kind. Type errors become diagnostics.

The values themselves (names, ports, protocols, addresses, counts) are checked by
``netfence.parse.validation_objects``, as the API server would; an object with an
error there is left out, so these converters only need to stay safe on bad values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netfence.model.cluster import (
    NAMESPACE_NAME_LABEL,
    Namespace,
    Node,
    Pod,
    Service,
    ServicePort,
    WorkloadRef,
)
from netfence.model.diagnostics import ObjectRef
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress
from netfence.model.ports import ContainerPort, Protocol
from netfence.parse.documents import RawDocument
from netfence.parse.fields import FieldReader

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob")


@dataclass(frozen=True, slots=True)
class PodTemplate:
    """What a workload's pods will look like."""

    labels: Labels
    ports: tuple[ContainerPort, ...]
    host_network: bool
    node: str | None


@dataclass(frozen=True, slots=True)
class Workload:
    """A controller whose pods are expanded from its template when no Pods are given."""

    ref: WorkloadRef
    namespace: str
    replicas: int
    selector: Labels | None
    template: PodTemplate
    doc: RawDocument


def object_ref(doc: RawDocument, namespace: str | None) -> ObjectRef:
    meta = doc.obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return ObjectRef(doc.kind, namespace, name if isinstance(name, str) else None)


def metadata(doc: RawDocument, reader: FieldReader) -> dict[str, Any]:
    return reader.mapping(doc.obj.get("metadata"), "metadata")


def namespace_of(doc: RawDocument, default: str) -> str:
    meta = doc.obj.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return namespace if isinstance(namespace, str) and namespace else default


def to_namespace(doc: RawDocument, reader: FieldReader) -> Namespace:
    """The API server sets the immutable label ``kubernetes.io/metadata.name`` on
    every namespace to its name (NamespaceDefaultLabelName feature, GA in 1.22)."""
    meta = metadata(doc, reader)
    name = reader.string(meta.get("name"), "metadata.name")
    labels = reader.labels(meta.get("labels"), "metadata.labels")
    return Namespace(name, labels.with_label(NAMESPACE_NAME_LABEL, name), True, doc.source)


def container_ports(
    spec: dict[str, Any], reader: FieldReader, path: str
) -> tuple[ContainerPort, ...]:
    ports: list[ContainerPort] = []
    for ci, container in enumerate(reader.listing(spec.get("containers"), f"{path}.containers")):
        cpath = f"{path}.containers[{ci}]"
        for pi, raw in enumerate(
            reader.listing(reader.mapping(container, cpath).get("ports"), f"{cpath}.ports")
        ):
            ppath = f"{cpath}.ports[{pi}]"
            item = reader.mapping(raw, ppath)
            number = reader.integer(item.get("containerPort"), f"{ppath}.containerPort", 0)
            protocol = protocol_of(item.get("protocol"), reader, f"{ppath}.protocol")
            name = reader.string(item.get("name"), f"{ppath}.name") or None
            if 1 <= number <= 65535:
                ports.append(ContainerPort(number, protocol, name))
    return tuple(ports)


def protocol_of(value: object, reader: FieldReader, path: str) -> Protocol:
    """The protocol; TCP when absent or empty (defaulted) and when unknown (an error
    of validation)."""
    return _PROTOCOLS.get(reader.string(value, path, "TCP"), Protocol.TCP)


_PROTOCOLS = {p.value: p for p in Protocol}  # a dict lookup: Protocol(text) is slow


def to_pod(doc: RawDocument, namespace: str, reader: FieldReader) -> Pod:
    meta = metadata(doc, reader)
    spec = reader.mapping(doc.obj.get("spec"), "spec")
    status = reader.mapping(doc.obj.get("status"), "status")
    ips: list[IPAddress] = []
    for i, entry in enumerate(reader.listing(status.get("podIPs"), "status.podIPs")):
        ip = reader.ip(
            reader.mapping(entry, f"status.podIPs[{i}]").get("ip"), f"status.podIPs[{i}].ip"
        )
        if ip is not None and ip not in ips:
            ips.append(ip)
    single = reader.ip(status.get("podIP"), "status.podIP")
    if single is not None and single not in ips:
        ips.insert(0, single)
    labels = reader.labels(meta.get("labels"), "metadata.labels")
    return Pod(
        namespace=namespace,
        name=reader.string(meta.get("name"), "metadata.name"),
        labels=labels,
        ips=tuple(ips),
        ports=container_ports(spec, reader, "spec"),
        host_network=reader.boolean(spec.get("hostNetwork"), "spec.hostNetwork"),
        node=reader.string(spec.get("nodeName"), "spec.nodeName") or None,
        workload=owner_workload(meta, labels, reader),
        source=doc.source,
    )


def owner_workload(meta: dict[str, Any], labels: Labels, reader: FieldReader) -> WorkloadRef | None:
    """The controller of a pod from its ownerReferences; a ReplicaSet named
    ``<deployment>-<pod-template-hash>`` stands for its Deployment."""
    for i, raw in enumerate(
        reader.listing(meta.get("ownerReferences"), "metadata.ownerReferences")
    ):
        ref = reader.mapping(raw, f"metadata.ownerReferences[{i}]")
        kind = reader.string(ref.get("kind"), f"metadata.ownerReferences[{i}].kind")
        name = reader.string(ref.get("name"), f"metadata.ownerReferences[{i}].name")
        if not (kind and name and (ref.get("controller") in (True, None))):
            continue
        pod_hash = labels.get("pod-template-hash")
        if kind == "ReplicaSet" and pod_hash and name.endswith(f"-{pod_hash}"):
            return WorkloadRef("Deployment", name[: -len(pod_hash) - 1])
        return WorkloadRef(kind, name)
    return None


def to_workload(doc: RawDocument, namespace: str, reader: FieldReader) -> Workload:
    meta = metadata(doc, reader)
    spec = reader.mapping(doc.obj.get("spec"), "spec")
    path = "spec"
    replicas_default = 1
    if doc.kind == "CronJob":
        spec = reader.mapping(
            reader.mapping(spec.get("jobTemplate"), "spec.jobTemplate").get("spec"),
            "spec.jobTemplate.spec",
        )
        path = "spec.jobTemplate.spec"
    if doc.kind in ("Job", "CronJob"):
        replicas = reader.integer(spec.get("parallelism"), f"{path}.parallelism", replicas_default)
    elif doc.kind == "DaemonSet":
        replicas = 1
    else:
        replicas = reader.integer(spec.get("replicas"), f"{path}.replicas", replicas_default)
    selector = reader.mapping(spec.get("selector"), f"{path}.selector")
    match_labels = reader.labels(selector.get("matchLabels"), f"{path}.selector.matchLabels")
    template = reader.mapping(spec.get("template"), f"{path}.template")
    tspec = reader.mapping(template.get("spec"), f"{path}.template.spec")
    tmeta = reader.mapping(template.get("metadata"), f"{path}.template.metadata")
    pod_template = PodTemplate(
        labels=reader.labels(tmeta.get("labels"), f"{path}.template.metadata.labels"),
        ports=container_ports(tspec, reader, f"{path}.template.spec"),
        host_network=reader.boolean(tspec.get("hostNetwork"), f"{path}.template.spec.hostNetwork"),
        node=reader.string(tspec.get("nodeName"), f"{path}.template.spec.nodeName") or None,
    )
    name = reader.string(meta.get("name"), "metadata.name")
    return Workload(
        WorkloadRef(doc.kind, name),
        namespace,
        max(replicas, 0),
        match_labels or None,
        pod_template,
        doc,
    )


def to_service(doc: RawDocument, namespace: str, reader: FieldReader) -> Service:
    meta = metadata(doc, reader)
    spec = reader.mapping(doc.obj.get("spec"), "spec")
    ports: list[ServicePort] = []
    for i, raw in enumerate(reader.listing(spec.get("ports"), "spec.ports")):
        item = reader.mapping(raw, f"spec.ports[{i}]")
        number = reader.integer(item.get("port"), f"spec.ports[{i}].port", 0)
        target = item.get("targetPort")
        if target is not None and (not isinstance(target, int | str) or isinstance(target, bool)):
            reader.fail(f"spec.ports[{i}].targetPort", "expected an integer or a port name")
        if target in (None, 0, "") or not isinstance(target, int | str):
            target = number  # defaulted to the port itself
        if not 1 <= number <= 65535:
            continue
        ports.append(
            ServicePort(
                number,
                target,
                protocol_of(item.get("protocol"), reader, f"spec.ports[{i}].protocol"),
                reader.string(item.get("name"), f"spec.ports[{i}].name") or None,
            )
        )
    cluster_ips: list[IPAddress] = []
    for i, raw in enumerate(reader.listing(spec.get("clusterIPs"), "spec.clusterIPs")):
        if raw != "None":
            ip = reader.ip(raw, f"spec.clusterIPs[{i}]")
            if ip is not None and ip not in cluster_ips:
                cluster_ips.append(ip)
    single = spec.get("clusterIP")
    if single not in (None, "", "None"):
        ip = reader.ip(single, "spec.clusterIP")
        if ip is not None and ip not in cluster_ips:
            cluster_ips.insert(0, ip)
    raw_selector = spec.get("selector")
    selector = reader.labels(raw_selector, "spec.selector") if raw_selector else None
    return Service(
        namespace,
        reader.string(meta.get("name"), "metadata.name"),
        selector,
        tuple(ports),
        tuple(cluster_ips),
        doc.source,
    )


def to_node(doc: RawDocument, reader: FieldReader) -> Node:
    meta = metadata(doc, reader)
    status = reader.mapping(doc.obj.get("status"), "status")
    ips: list[IPAddress] = []
    for i, raw in enumerate(reader.listing(status.get("addresses"), "status.addresses")):
        entry = reader.mapping(raw, f"status.addresses[{i}]")
        if entry.get("type") == "InternalIP":
            ip = reader.ip(entry.get("address"), f"status.addresses[{i}].address")
            if ip is not None:
                ips.append(ip)
    return Node(
        reader.string(meta.get("name"), "metadata.name"),
        reader.labels(meta.get("labels"), "metadata.labels"),
        tuple(ips),
    )
