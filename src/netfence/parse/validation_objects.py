"""Validation of the other kinds netfence reads, as the API server does it.

Public API::

    object_errors(obj) -> list[FieldError]      Namespace, Node, Pod, Service and the
                                                workloads (Deployment, StatefulSet,
                                                DaemonSet, ReplicaSet, Job, CronJob)
    MAX_EXPANDED_PODS                           the most pods the build expands from
                                                workloads (see docs/semantics.md)

Each kind's metadata (its name rule, the namespace, labels, annotations), then
what netfence reads of its spec and status, with upstream's field paths and
messages (``pkg/apis/core/validation``, ``pkg/apis/apps/validation``,
``pkg/apis/batch/validation``). Pods and pod templates are in
``netfence.parse.validation_pods``. Like NetworkPolicy validation, every problem
is reported at once; unlike it, unknown fields are reported only where a typo
would change what netfence reads (netfence reads a small part of these kinds),
and wrong types are reported by the converter (``netfence.parse.fields``).

Names: Namespaces are DNS-1123 labels, Services DNS-1035 labels, CronJobs
DNS-1123 subdomains of at most 52 characters (a Job's name adds 11), every other
kind a DNS-1123 subdomain.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netfence.model.labels import Labels
from netfence.parse.policy import selector as to_selector
from netfence.parse.validation_meta import (
    LABEL_SELECTOR,
    OBJECT_META,
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    iana_svc_name_errors,
    label_map_errors,
    object_meta_errors,
    selector_errors,
)
from netfence.parse.validation_pods import (
    int32_errors,
    ip_errors,
    is_int,
    node_address_errors,
    pod_spec_errors,
    pod_status_errors,
    port_number_errors,
    protocol_errors,
)
from netfence.parse.validation_shapes import (
    ANYTHING,
    FieldError,
    Obj,
    as_map,
    check_shape,
    child,
    index,
    invalid,
    list_at,
    not_supported,
    objects_at,
    required,
    show,
    str_at,
    unknown_fields,
)

__all__ = ["MAX_EXPANDED_PODS", "object_errors"]

#: The most pods netfence makes from workload templates in one build (replicas of
#: Deployments, StatefulSets, ReplicaSets, parallelism of Jobs, one per node for
#: DaemonSets), checked by the build before it makes any. Pods given as Pods do
#: not count.
MAX_EXPANDED_PODS = 100_000

_SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_APPS_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
_KINDS = frozenset(("Namespace", "Node", "Pod", "Service", "Job", "CronJob", *_APPS_KINDS))

# Unknown fields are reported (as kubectl's strict decoding does) where a typo would
# silently change what netfence reads: the top level, metadata, selectors, Service
# ports; container ports are in validation_pods.
_TOP = Obj(
    dict.fromkeys(("apiVersion", "kind", "metadata", "spec", "status"), ANYTHING),
    hints={"labels": "labels go under metadata"},
)
_TEMPLATE = Obj(dict.fromkeys(("metadata", "spec"), ANYTHING))
_SERVICE_PORT = Obj(
    dict.fromkeys(("appProtocol", "name", "nodePort", "port", "protocol", "targetPort"), ANYTHING)
)
_EXPRESSIONS = LABEL_SELECTOR.fields["matchExpressions"]
_CRONJOB_NAME_LIMIT = 52


def object_errors(obj: Mapping[str, Any]) -> list[FieldError]:
    """Every problem of one object of a kind netfence reads (none for other kinds)."""
    kind = obj.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        return []
    meta = obj.get("metadata")
    spec = as_map(obj.get("spec"))
    unknown = unknown_fields(obj, _TOP, "") + unknown_fields(meta, OBJECT_META, "metadata")
    return unknown + _kind_errors(kind, obj, meta, spec)


def _kind_errors(
    kind: object, obj: Mapping[str, Any], meta: object, spec: Mapping[str, Any]
) -> list[FieldError]:
    if kind == "Namespace":
        return object_meta_errors(meta, "metadata", dns1123_label_errors, namespaced=False)
    if kind == "Node":
        errors = object_meta_errors(meta, "metadata", namespaced=False)
        return errors + node_address_errors(as_map(obj.get("status")))
    if kind == "Pod":
        errors = object_meta_errors(meta, "metadata")
        errors.extend(pod_spec_errors(spec, "spec"))
        return errors + pod_status_errors(as_map(obj.get("status")))
    if kind == "Service":
        return object_meta_errors(meta, "metadata", dns1035_label_errors) + _service_errors(spec)
    if kind == "CronJob":
        errors = object_meta_errors(meta, "metadata", _cronjob_name_errors)
        job_template = as_map(spec.get("jobTemplate"))
        path = "spec.jobTemplate"
        labels = as_map(job_template.get("metadata")).get("labels")
        errors.extend(label_map_errors(labels, f"{path}.metadata.labels"))
        job_spec = as_map(job_template.get("spec"))
        return errors + _workload_spec_errors("Job", job_spec, f"{path}.spec")
    if kind in _APPS_KINDS or kind == "Job":
        errors = object_meta_errors(meta, "metadata")
        return errors + _workload_spec_errors(str(kind), spec, "spec")
    return []


def _cronjob_name_errors(name: str) -> list[str]:
    """ValidateCronJob: the Job's name is the CronJob's and an 11-character suffix."""
    errors = dns1123_subdomain_errors(name)
    if len(name) > _CRONJOB_NAME_LIMIT:
        errors.append(f"must be no more than {_CRONJOB_NAME_LIMIT} characters")
    return errors


# --- workloads ------------------------------------------------------------------------------


def _workload_spec_errors(kind: str, spec: Mapping[str, Any], path: str) -> list[FieldError]:
    """The replica count, the selector and the template a controller makes pods from."""
    errors: list[FieldError] = []
    count_field = "parallelism" if kind == "Job" else "replicas"
    if kind != "DaemonSet":
        errors.extend(int32_errors(spec.get(count_field), child(path, count_field)))
    template = as_map(spec.get("template"))
    template_meta = as_map(template.get("metadata"))
    errors.extend(unknown_fields(template, _TEMPLATE, child(path, "template")))
    errors.extend(unknown_fields(template_meta, OBJECT_META, child(path, "template.metadata")))
    labels_path = child(path, "template.metadata.labels")
    errors.extend(label_map_errors(template_meta.get("labels"), labels_path))
    errors.extend(pod_spec_errors(as_map(template.get("spec")), child(path, "template.spec")))
    errors.extend(_selector_errors(kind, spec, template_meta.get("labels"), path))
    return errors


def _selector_errors(
    kind: str, spec: Mapping[str, Any], labels: object, path: str
) -> list[FieldError]:
    """apps/v1 controllers need a non-empty selector that selects their template's
    labels; a Job's selector is generated unless given, and then must match too."""
    where = child(path, "selector")
    raw = spec.get("selector")
    if raw is None:
        return [required(where)] if kind in _APPS_KINDS else []
    if not isinstance(raw, Mapping):
        return []  # the converter reports the type
    errors = unknown_fields(raw, LABEL_SELECTOR, where)
    expressions = raw.get("matchExpressions")
    errors.extend(check_shape(expressions, _EXPRESSIONS, child(where, "matchExpressions")))
    problems = selector_errors(raw, where)
    errors.extend(problems)
    if problems or not _well_typed_selector(raw):
        return errors
    if not raw.get("matchLabels") and not raw.get("matchExpressions"):
        if kind in _APPS_KINDS:
            detail = f"empty selector is invalid for {kind.lower()}"
            errors.append(invalid(where, raw, detail))
        return errors
    template_labels = Labels.of(
        {str(k): v or "" for k, v in as_map(labels).items() if v is None or isinstance(v, str)}
    )
    if not to_selector(dict(raw)).matches(template_labels):
        detail = "`selector` does not match template `labels`"
        where = child(path, "template.metadata.labels")
        errors.append(invalid(where, dict(as_map(labels)), detail))
    return errors


def _well_typed_selector(raw: Mapping[str, Any]) -> bool:
    """Whether a selector can be converted as it is (the converter reports the rest)."""
    labels = raw.get("matchLabels")
    if labels is not None and not (
        isinstance(labels, Mapping) and all(_is_string(v) for v in labels.values())
    ):
        return False
    expressions = raw.get("matchExpressions")
    if expressions is None:
        return True
    if not isinstance(expressions, list):
        return False
    for item in expressions:
        entry = as_map(item)
        values = entry.get("values")
        if not isinstance(entry.get("key"), str) or not isinstance(entry.get("operator"), str):
            return False
        if values is not None and not (
            isinstance(values, list) and all(_is_string(v) for v in values)
        ):
            return False
    return True


def _is_string(value: object) -> bool:
    """A string, or null (Go's zero value, "")."""
    return value is None or isinstance(value, str)


# --- Services ---------------------------------------------------------------------------------


def _service_errors(spec: Mapping[str, Any]) -> list[FieldError]:
    """ValidateService, for what netfence reads: type, ports, selector and cluster IPs."""
    errors: list[FieldError] = []
    kind = str_at(spec, "type", "")
    if kind and kind not in _SERVICE_TYPES:
        errors.append(not_supported("spec.type", kind, _SERVICE_TYPES))
    cluster_ip = str_at(spec, "clusterIP", "")
    headless = cluster_ip == "None"
    ports = objects_at(spec, "ports")
    if list_at(spec, "ports") == [] and not headless and kind != "ExternalName":
        errors.append(required("spec.ports"))
    names: set[str] = set()
    seen: set[tuple[object, object]] = set()
    for i, port in ports:
        where = index("spec.ports", i)
        errors.extend(unknown_fields(port, _SERVICE_PORT, where))
        errors.extend(_service_port_errors(port, where, len(ports) > 1, names))
        key = (port.get("port"), port.get("protocol") or "TCP")
        if is_int(key[0]) and 1 <= key[0] <= 65535 and isinstance(key[1], str):
            if key in seen:
                errors.append(FieldError(where, f"Duplicate value: {key[0]}/{key[1]}"))
            seen.add(key)
    errors.extend(label_map_errors(spec.get("selector"), "spec.selector"))
    if cluster_ip and not headless:
        errors.extend(invalid("spec.clusterIP", cluster_ip, m) for m in ip_errors(cluster_ip))
    for i, item in enumerate(list_at(spec, "clusterIPs") or []):
        if isinstance(item, str) and item not in ("", "None"):
            where = index("spec.clusterIPs", i)
            errors.extend(invalid(where, item, m) for m in ip_errors(item))
    return errors


def _service_port_errors(
    port: Mapping[str, Any], path: str, require_name: bool, names: set[str]
) -> list[FieldError]:
    """validateServicePort: a name (required when there are several ports, a DNS-1123
    label, unique), a port number, a protocol and a targetPort that is a port
    number or an IANA service name (0 and "" mean the port itself)."""
    errors: list[FieldError] = []
    name = str_at(port, "name", "")
    where = child(path, "name")
    if name == "" and require_name:
        errors.append(required(where))
    elif name:
        errors.extend(invalid(where, name, m) for m in dns1123_label_errors(name))
        if name in names:
            errors.append(FieldError(where, f"Duplicate value: {show(name)}"))
        names.add(name)
    number = port.get("port")
    if number is None:
        errors.append(required(child(path, "port")))
    else:
        errors.extend(port_number_errors(number, child(path, "port")))
    errors.extend(protocol_errors(port.get("protocol"), child(path, "protocol")))
    target = port.get("targetPort")
    if is_int(target) and target != 0:
        errors.extend(port_number_errors(target, child(path, "targetPort")))
    elif isinstance(target, str) and target:
        where = child(path, "targetPort")
        errors.extend(invalid(where, target, m) for m in iana_svc_name_errors(target))
    return errors
