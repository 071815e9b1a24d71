"""Plain Pods and Services validated and converted in one pass: the bulk of a
large cluster (NetworkPolicies with a spec seen before: ``policy_fast``).

Most objects of a large input are plain: a Pod with a name, labels, containers
with numbered ports, a node and one address; a Service with named ports and a
selector. ``FastConverter.convert`` turns such an object straight into the model
when what it checked proves that the full path (``build._convert``: the
converters of ``objects`` and every check of ``validation_objects``) gives the
same value without a single diagnostic. On anything else (a field it does not
know, a value of an unusual type, anything invalid) it answers None and the full
path runs: it stays the oracle, and the tests check the two against each other
on generated objects.

Field paths and messages are never built here: an object that is not plainly
valid is validated again by the full path, which builds them. A string proved
valid once (a label key or value, a namespace, a node name, a port name) is
remembered, and equal label sets and port lists are one object (pods share
them); the memory of one converter is bounded (``_REMEMBERED``).
"""

from __future__ import annotations

from _socket import AF_INET, inet_pton  # socket.py without its enum set-up (start-up)
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any, Literal

import orjson

from netfence.model.cluster import Pod, Service, ServicePort, WorkloadRef
from netfence.model.diagnostics import ObjectRef, Source
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress
from netfence.model.ports import ContainerPort, Protocol
from netfence.parse.fields import parse_ip
from netfence.parse.policy_fast import PolicyMemo
from netfence.parse.validation_meta import (
    OBJECT_META,
    dns1035_label_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    iana_svc_name_errors,
    label_value_errors,
    qualified_name_errors,
)
from netfence.parse.validation_pods import ip_errors

#: What one plain object converts to: (table, key, value, ref), as in build._Converted.
Plain = tuple[str, str, object, ObjectRef]

_TOP = frozenset(("apiVersion", "kind", "metadata", "spec", "status"))
_META = frozenset(OBJECT_META.fields)
_CONTAINER_PORT = frozenset(("containerPort", "hostIP", "hostPort", "name", "protocol"))
_SERVICE_PORT = frozenset(("appProtocol", "name", "nodePort", "port", "protocol", "targetPort"))
_SERVICE_TYPES = frozenset(("ClusterIP", "ExternalName", "LoadBalancer", "NodePort"))
_PROTOCOL: dict[str | None, Protocol] = {
    None: Protocol.TCP,
    "": Protocol.TCP,
    **{p.value: p for p in Protocol},
}
_FINISHED = ("Succeeded", "Failed")
_ANNOTATION_CHARS = 256 * 1024 // 4  # a character is at most 4 bytes of UTF-8
_REMEMBERED = 1 << 16
_UNSPECIFIED = bytes(4)  # entries of each memory, then it starts again


class _Valid(set[str]):
    """The strings one rule found valid: ``text in valid or valid.check(text)`` (a
    string found invalid is not kept: the object goes the full way, which reports
    it)."""

    def __init__(self, errors: Callable[[str], list[str]]) -> None:
        super().__init__()
        self._errors = errors

    def check(self, text: str) -> bool:
        if self._errors(text):
            return False
        if len(self) >= _REMEMBERED:
            self.clear()
        self.add(text)
        return True


def _protocol(value: object) -> bool:
    """Absent, empty (both TCP) or one of TCP, UDP and SCTP."""
    return value is None or (value.__class__ is str and value in _PROTOCOL)


def _annotation_key_errors(key: str) -> list[str]:
    return qualified_name_errors(key.lower())


def _address(text: str) -> IPAddress | None:
    """The address of a valid IP text, or None when it is not one (or not plainly)."""
    try:  # dotted IPv4, in C: what ip_errors and parse_ip both do first
        packed = inet_pton(AF_INET, text)
    except (OSError, ValueError):
        return parse_ip(text) if not ip_errors(text) else None
    if packed == _UNSPECIFIED:
        return None
    return IPv4Address(packed)  # what parse_ip makes of it, without a second inet_pton


class FastConverter:
    """Plain Pods and Services, converted (module docstring); one per build, or
    kept by a caller that builds again and again (memory bounded)."""

    def __init__(self) -> None:
        self._subdomain = _Valid(dns1123_subdomain_errors)
        self._label = _Valid(dns1123_label_errors)
        self._service_name = _Valid(dns1035_label_errors)
        self._label_key = _Valid(qualified_name_errors)
        self._label_value = _Valid(label_value_errors)
        self._annotation_key = _Valid(_annotation_key_errors)
        self._port_name = _Valid(iana_svc_name_errors)
        self._labels: dict[tuple[tuple[str, str], ...], Labels] = {}
        self._ports: dict[tuple[tuple[int, Any, str | None], ...], tuple[ContainerPort, ...]] = {}
        self._owners: dict[tuple[str, str], WorkloadRef] = {}
        self._containers: dict[bytes, tuple[ContainerPort, ...]] = {}
        self._policies = PolicyMemo()

    def convert(self, obj: dict[str, Any], default_namespace: str, source: Source) -> Plain | None:
        kind = obj.get("kind")
        if kind == "Pod":
            return self._pod(obj, default_namespace, source)
        if kind == "Service":
            return self._service(obj, default_namespace, source)
        if kind == "NetworkPolicy":
            return self._policies.convert(obj, default_namespace, source)
        return None

    # --- metadata ------------------------------------------------------------------------

    def _meta(
        self, obj: dict[str, Any], default_namespace: str, name_valid: _Valid
    ) -> tuple[dict[str, Any], str, str] | None:
        """(metadata, name, namespace) of plainly valid metadata."""
        meta = obj.get("metadata")
        if meta.__class__ is not dict or not _TOP.issuperset(obj) or not _META.issuperset(meta):
            return None
        name = meta.get("name")
        if name.__class__ is not str or not (name in name_valid or name_valid.check(name)):
            return None
        namespace = meta.get("namespace")
        if namespace is None or namespace == "":
            namespace = default_namespace
        elif namespace.__class__ is not str or not (
            namespace in self._label or self._label.check(namespace)
        ):
            return None
        generation = meta.get("generation")
        if generation is not None and not (generation.__class__ is int and generation >= 0):
            return None
        if not self._annotations(meta.get("annotations")):
            return None
        return meta, name, namespace

    def _annotations(self, raw: object) -> bool:
        if raw is None:
            return True
        if raw.__class__ is not dict:
            return False
        size = 0
        valid = self._annotation_key
        for key, value in raw.items():
            if key.__class__ is not str or value.__class__ is not str:
                return False
            if key not in valid and not valid.check(key):
                return False
            size += len(key) + len(value)
        return size <= _ANNOTATION_CHARS

    def labels(self, raw: object) -> Labels | None:
        """The label set of a plainly valid ``map[string]string`` (None or {} for
        none), one object for equal sets; None when not plainly valid."""
        if raw is None:
            raw = {}
        elif raw.__class__ is not dict:
            return None
        items = tuple(raw.items())
        try:
            known = self._labels.get(items)
        except TypeError:  # a value that is no string (a list, a map)
            return None
        if known is not None:
            return known
        key_valid, value_valid = self._label_key, self._label_value
        for key, value in items:
            if key.__class__ is not str or value.__class__ is not str:
                return None
            if (key not in key_valid and not key_valid.check(key)) or (
                value not in value_valid and not value_valid.check(value)
            ):
                return None
        if len(self._labels) >= _REMEMBERED:
            self._labels.clear()
        labels = self._labels[items] = Labels.of_sorted(tuple(sorted(items)))  # distinct keys
        return labels

    # --- Pods ----------------------------------------------------------------------------

    def _pod(self, obj: dict[str, Any], default_namespace: str, source: Source) -> Plain | None:
        read = self._meta(obj, default_namespace, self._subdomain)
        if read is None:
            return None
        meta, name, namespace = read
        labels = self.labels(meta.get("labels"))
        if labels is None:
            return None
        spec = obj.get("spec")
        if spec is None:
            spec = {}
        elif spec.__class__ is not dict:
            return None
        ports = self._container_ports(spec.get("containers"))
        node = spec.get("nodeName")
        if node == "":
            node = None
        elif node is not None and (
            node.__class__ is not str
            or not (node in self._subdomain or self._subdomain.check(node))
        ):
            return None
        host_network = spec.get("hostNetwork")
        if host_network is None:
            host_network = False
        elif host_network.__class__ is not bool:
            return None
        ips = self._pod_ips(obj.get("status"))
        owners = meta.get("ownerReferences")
        workload = None if owners is None else self._owner(owners, labels)
        if ports is None or ips is None or workload is False:
            return None
        pod = Pod(namespace, name, labels, ips, ports, host_network, node, workload, source)
        return "pods", f"Pod/{namespace}/{name}", pod, ObjectRef("Pod", namespace, name)

    def _container_ports(self, containers: object) -> tuple[ContainerPort, ...] | None:
        """The ports of plainly valid containers; the pods of one workload have the
        same, so the verdict is remembered by the containers' names and ports as
        JSON text (which tells 80 from 80.0 and true; NaN and infinities are
        written as null, so a text with a null is not remembered)."""
        if containers is None:
            return ()
        if containers.__class__ is not list:
            return None
        read: list[tuple[object, object]] = []
        for container in containers:
            if container.__class__ is not dict:
                return None
            read.append((container.get("name"), container.get("ports")))
        try:
            text: bytes | None = orjson.dumps(read)
        except TypeError:  # an integer past 64 bits
            text = None
        if text is not None:
            if b"null" in text:
                text = None
            else:
                known = self._containers.get(text)
                if known is not None:
                    return known
        ports = self._read_container_ports(read)
        if ports is not None and text is not None:
            if len(self._containers) >= _REMEMBERED:
                self._containers.clear()
            self._containers[text] = ports
        return ports

    def _read_container_ports(
        self, containers: list[tuple[object, object]]
    ) -> tuple[ContainerPort, ...] | None:
        key: list[tuple[int, Any, str | None]] = []
        used: set[str] = set()  # port names of earlier containers (a reuse is a warning)
        for name, container_ports in containers:
            if name not in (None, "") and (
                name.__class__ is not str or not (name in self._label or self._label.check(name))
            ):
                return None
            names = self._ports_of(container_ports, key)
            if names is None or not used.isdisjoint(names):
                return None
            used.update(names)
        ports_key = tuple(key)
        ports = self._ports.get(ports_key)
        if ports is None:
            if len(self._ports) >= _REMEMBERED:
                self._ports.clear()
            ports = tuple(ContainerPort(n, _PROTOCOL[p], name) for n, p, name in ports_key)
            self._ports[ports_key] = ports
        return ports

    def _ports_of(self, ports: object, key: list[tuple[int, Any, str | None]]) -> set[str] | None:
        """One container's ports appended to ``key``; their names."""
        names: set[str] = set()
        if ports is None:
            return names
        if ports.__class__ is not list:
            return None
        for port in ports:
            if port.__class__ is not dict or not _CONTAINER_PORT.issuperset(port):
                return None
            number = port.get("containerPort")
            protocol = port.get("protocol")
            host_port = port.get("hostPort")
            name = port.get("name")
            if (
                number.__class__ is not int
                or not 1 <= number <= 65535
                or not _protocol(protocol)
                or not (host_port is None or (host_port.__class__ is int and host_port == 0))
            ):
                return None
            if name == "":
                name = None
            elif name is not None:
                if name.__class__ is not str or name in names:
                    return None
                if name not in self._port_name and not self._port_name.check(name):
                    return None
                names.add(name)
            key.append((number, protocol, name))
        return names

    def _pod_ips(self, status: object) -> tuple[IPAddress, ...] | None:
        """podIP and podIPs when they name one valid address (or none)."""
        if status is None:
            return ()
        if status.__class__ is not dict:
            return None
        if status.get("phase") in _FINISHED:
            return None
        single = status.get("podIP")
        entries = status.get("podIPs")
        text = None
        if entries is not None:
            if entries.__class__ is not list or len(entries) > 1:
                return None
            if entries:
                entry = entries[0]
                text = entry.get("ip") if entry.__class__ is dict else None
                if text.__class__ is not str or text == "":
                    return None
        if single is not None and single != "":
            if single.__class__ is not str or (text is not None and text != single):
                return None
            text = single
        if text is None:
            return ()
        address = _address(text)
        return None if address is None else (address,)

    def _owner(self, owners: object, labels: Labels) -> WorkloadRef | Literal[False] | None:
        """The controller (objects.owner_workload) of well-typed references; False
        when they are not plainly so."""
        if owners.__class__ is not list:
            return False
        found: WorkloadRef | None = None
        for ref in owners:
            if ref.__class__ is not dict:
                return False
            kind, name = ref.get("kind"), ref.get("name")
            if (kind is not None and kind.__class__ is not str) or (
                name is not None and name.__class__ is not str
            ):
                return False
            if found is None and kind and name and ref.get("controller") in (True, None):
                found = self._workload(kind, name, labels)
        return found

    def _workload(self, kind: str, name: str, labels: Labels) -> WorkloadRef:
        pod_hash = labels.get("pod-template-hash")
        if kind == "ReplicaSet" and pod_hash and name.endswith(f"-{pod_hash}"):
            kind, name = "Deployment", name[: -len(pod_hash) - 1]
        found = self._owners.get((kind, name))
        if found is None:
            if len(self._owners) >= _REMEMBERED:
                self._owners.clear()
            found = self._owners[kind, name] = WorkloadRef(kind, name)
        return found

    # --- Services ------------------------------------------------------------------------

    def _service(self, obj: dict[str, Any], default_namespace: str, source: Source) -> Plain | None:
        read = self._meta(obj, default_namespace, self._service_name)
        if read is None or self.labels(read[0].get("labels")) is None:
            return None
        _, name, namespace = read
        spec = obj.get("spec")
        if spec.__class__ is not dict:
            return None
        kind = spec.get("type")
        cluster_ip = spec.get("clusterIP")
        if kind not in (None, "") and (kind.__class__ is not str or kind not in _SERVICE_TYPES):
            return None
        if cluster_ip is not None and cluster_ip.__class__ is not str:
            return None
        ports = self._service_ports(spec.get("ports"))
        ips = self._cluster_ips(spec.get("clusterIPs"), cluster_ip)
        raw_selector = spec.get("selector")
        selector = self.labels(raw_selector) if raw_selector else None
        if (
            ports is None
            or ips is None
            or (raw_selector is not None and raw_selector.__class__ is not dict)
            or (raw_selector and selector is None)
        ):
            return None
        if not ports and cluster_ip != "None" and kind != "ExternalName":
            return None  # spec.ports: Required value
        service = Service(namespace, name, selector, ports, ips, source)
        return (
            "services",
            f"Service/{namespace}/{name}",
            service,
            ObjectRef("Service", namespace, name),
        )

    def _service_ports(self, raw: object) -> tuple[ServicePort, ...] | None:
        if raw is None:
            return ()
        if raw.__class__ is not list:
            return None
        ports: list[ServicePort] = []
        names: set[str] = set()
        seen: set[tuple[int, str]] = set()
        for port in raw:
            if port.__class__ is not dict or not _SERVICE_PORT.issuperset(port):
                return None
            number = port.get("port")
            protocol = port.get("protocol")
            name = port.get("name")
            if number.__class__ is not int or not 1 <= number <= 65535 or not _protocol(protocol):
                return None
            if name in (None, ""):
                if len(raw) > 1:
                    return None  # Required value
                name = None
            else:
                if name.__class__ is not str or name in names:
                    return None
                if name not in self._label and not self._label.check(name):
                    return None
                names.add(name)
            target = self._target(port.get("targetPort"), number)
            key = (number, protocol or "TCP")
            if target is None or key in seen:
                return None
            seen.add(key)
            ports.append(ServicePort(number, target, _PROTOCOL[protocol], name))
        return tuple(ports)

    def _target(self, target: object, number: int) -> int | str | None:
        """targetPort: absent, 0 and "" mean the port itself."""
        if target is None:
            return number
        if target.__class__ is int:
            if target == 0:
                return number
            return target if 1 <= target <= 65535 else None
        if target.__class__ is str:
            if target == "":
                return number
            return target if target in self._port_name or self._port_name.check(target) else None
        return None

    def _cluster_ips(self, raw: object, single: str | None) -> tuple[IPAddress, ...] | None:
        ips: list[IPAddress] = []
        if raw is not None:
            if raw.__class__ is not list:
                return None
            for text in raw:
                if text.__class__ is not str:
                    return None
                if text in ("", "None"):
                    continue
                address = _address(text)
                if address is None:
                    return None
                if address not in ips:
                    ips.append(address)
        if single not in (None, "", "None"):
            address = _address(single)
            if address is None:
                return None
            if address not in ips:
                ips.insert(0, address)
        return tuple(ips)
