"""Pod validation, as the API server does it, on the raw decoded manifest.

The part of ``netfence.parse.validation_objects`` about pods and pod templates::

    pod_spec_errors(spec, path) -> list[FieldError]     containers' ports, nodeName
    pod_status_errors(status) -> list[FieldError]       status.podIP and status.podIPs
    ip_errors(text) -> list[str]                        one IP address (pods, Services, nodes)
    int32_errors(value, path) -> list[FieldError]       replicas and other int32 counts

Rules of upstream ``pkg/apis/core/validation`` (validateContainerPorts,
ValidateNodeName, validatePodIPs) and ``k8s.io/apimachinery`` (IsValidPortNum,
IsValidPortName, IsValidIP); field paths and messages are the API server's. Values
of the wrong type are left to the converter (``netfence.parse.fields``), which
reports them; these checks look only at well-typed values.

Deliberate differences from upstream:

- A port name used by two containers of one pod is a warning: the API server
  accepts it (names must be unique only within a container), but a named port
  (in a policy or a Service's targetPort) then means the first container's port.
- ``status.podIPs[0]`` must equal ``status.podIP`` when both are given: the API
  server would silently keep ``podIP`` and drop ``podIPs``, and netfence does not
  guess which of two addresses a pod really has.
- A pod IP may not be the unspecified address (``0.0.0.0``, ``::``): it belongs to
  no pod, and an enforcer must not match every connection against it.
- Containers and their names are not required: a sketch of a pod with labels only
  is accepted (it declares no ports).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from _socket import AF_INET, inet_pton  # socket.py without its enum set-up (start-up)
from collections.abc import Mapping
from typing import Any, TypeGuard

from netfence.parse.validation_meta import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    iana_svc_name_errors,
)
from netfence.parse.validation_shapes import (
    ANYTHING,
    FieldError,
    Obj,
    as_map,
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
    warning,
)

PROTOCOLS = ("SCTP", "TCP", "UDP")
INT32_MAX = 2**31 - 1
_PORT_RANGE = "must be between 1 and 65535, inclusive"
_BAD_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_IPV4_DOTTED = re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}")


def is_int(value: object) -> TypeGuard[int]:
    """An integer of JSON (a boolean is none)."""
    return isinstance(value, int) and not isinstance(value, bool)


def int32_errors(value: object, path: str, minimum: int = 0) -> list[FieldError]:
    """An int32 field (replicas, parallelism): a larger number does not decode (Go:
    "cannot unmarshal number ... of type int32"); a negative one is invalid."""
    if not is_int(value):
        return []
    if not -(2**31) <= value <= INT32_MAX:
        detail = f"must be a 32-bit integer (at most {INT32_MAX})"
        return [invalid(path, value, detail)]
    if value < minimum:
        return [invalid(path, value, f"must be greater than or equal to {minimum}")]
    return []


def protocol_errors(value: object, path: str) -> list[FieldError]:
    """A port's protocol: defaulted to TCP when absent or empty, else exactly one of
    TCP, UDP or SCTP (``tcp`` is invalid)."""
    if not isinstance(value, str) or value == "" or value in PROTOCOLS:
        return []
    return [not_supported(path, value, PROTOCOLS)]


def port_number_errors(value: object, path: str) -> list[FieldError]:
    if is_int(value) and not 1 <= value <= 65535:
        return [invalid(path, value, _PORT_RANGE)]
    return []


# --- spec ---------------------------------------------------------------------------------


def pod_spec_errors(spec: Mapping[str, Any], path: str) -> list[FieldError]:
    """What netfence reads of a PodSpec: each container's name and ports, port names
    across containers, and spec.nodeName."""
    errors: list[FieldError] = []
    first_use: dict[str, str] = {}
    containers = child(path, "containers")
    for i, container in objects_at(spec, "containers"):
        where = index(containers, i)
        name = str_at(container, "name", "")
        if name:
            problems = dns1123_label_errors(name)
            errors.extend(invalid(child(where, "name"), name, m) for m in problems)
        errors.extend(container_ports_errors(container, child(where, "ports"), first_use))
    node = str_at(spec, "nodeName", "")
    if node:  # ValidateNodeName: the name of a Node, a DNS-1123 subdomain
        where = child(path, "nodeName")
        errors.extend(invalid(where, node, m) for m in dns1123_subdomain_errors(node))
    return errors


def container_ports_errors(
    container: Mapping[str, Any], path: str, first_use: dict[str, str]
) -> list[FieldError]:
    """validateContainerPorts: a containerPort (1-65535), an optional hostPort in
    range, a protocol, and port names that are IANA service names, unique in the
    container. ``first_use`` maps port names of earlier containers to their ports'
    paths."""
    errors: list[FieldError] = []
    names: dict[str, str] = {}
    for i, port in objects_at(container, "ports"):
        where = index(path, i)
        if not port.keys() <= _PORT_FIELDS:  # a typo such as "containerport"
            errors.extend(unknown_fields(port, _CONTAINER_PORT, where))
        name = str_at(port, "name", "")
        if name:
            errors.extend(_port_name_errors(name, where, names, first_use))
        if _plain_port(port):
            continue
        number = port.get("containerPort")
        if number is None or number == 0:
            errors.append(required(child(where, "containerPort")))
        else:
            errors.extend(port_number_errors(number, child(where, "containerPort")))
        host_port = port.get("hostPort")
        if host_port != 0:
            errors.extend(port_number_errors(host_port, child(where, "hostPort")))
        errors.extend(protocol_errors(port.get("protocol"), child(where, "protocol")))
    for name, where in names.items():
        first_use.setdefault(name, where)
    return errors


@functools.lru_cache(maxsize=1 << 12)
def _port_name_problems(name: str) -> tuple[str, ...]:
    return tuple(iana_svc_name_errors(name))


def _plain_port(port: Mapping[str, Any]) -> bool:
    """The common case, checked fast: a port number in range, a known protocol or
    none, no hostPort."""
    number = port.get("containerPort")
    protocol = port.get("protocol")
    return (
        type(number) is int
        and 1 <= number <= 65535
        and (protocol is None or (isinstance(protocol, str) and protocol in _DEFAULT_OR_KNOWN))
        and port.get("hostPort") in (None, 0)
    )


_DEFAULT_OR_KNOWN = frozenset((None, "", *PROTOCOLS))
_PORT_FIELDS = frozenset(("containerPort", "hostIP", "hostPort", "name", "protocol"))
_CONTAINER_PORT = Obj(dict.fromkeys(_PORT_FIELDS, ANYTHING))


def _port_name_errors(
    name: str, port_path: str, names: dict[str, str], first_use: Mapping[str, str]
) -> list[FieldError]:
    path = child(port_path, "name")
    problems = _port_name_problems(name) if len(name) <= 15 else iana_svc_name_errors(name)
    if problems:
        return [invalid(path, name, m) for m in problems]
    if name in names:
        return [FieldError(path, f"Duplicate value: {show(name)}")]
    names[name] = port_path
    if name in first_use:
        return [
            warning(
                path,
                f"duplicate port name {show(name)} with {first_use[name]}: policies and "
                "Services that select ports by name use the first",
            )
        ]
    return []


# --- status -------------------------------------------------------------------------------


def pod_status_errors(status: Mapping[str, Any]) -> list[FieldError]:
    """validatePodIPs: every address a valid IP, at most one per family, no duplicate;
    ``podIP`` is ``podIPs[0]``."""
    errors: list[FieldError] = []
    single = str_at(status, "podIP", "")
    if single:
        errors.extend(invalid("status.podIP", single, m) for m in ip_errors(single))
    entries = objects_at(status, "podIPs")
    texts: list[tuple[int, str]] = []
    for i, entry in entries:
        text = str_at(entry, "ip", "")
        if text is None:
            continue
        where = index("status.podIPs", i) + ".ip"
        if text == "":
            errors.append(required(where))
            continue
        problems = ip_errors(text)
        errors.extend(invalid(where, text, m) for m in problems)
        if not problems:
            texts.append((i, text))
    if len(texts) > 1:
        errors.extend(_pod_ips_errors(status, texts))
    first = texts[0][1] if texts and texts[0][0] == 0 else None
    if single and first and first != single and not ip_errors(single) and _differ(first, single):
        detail = f"must be the same address as status.podIP ({show(single)})"
        errors.append(invalid("status.podIPs[0].ip", first, detail))
    return errors


def _differ(a: str, b: str) -> bool:
    return ipaddress.ip_address(a) != ipaddress.ip_address(b)


def _pod_ips_errors(status: Mapping[str, Any], texts: list[tuple[int, str]]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for i, text in texts:
        address = ipaddress.ip_address(text)
        if address in seen:
            errors.append(FieldError(index("status.podIPs", i), f"Duplicate value: {show(text)}"))
        seen.add(address)
    if {a.version for a in seen} != {4, 6} or len(texts) > 2:
        raw = list_at(status, "podIPs") or []
        detail = "may specify no more than one IP for each IP family"
        errors.append(invalid("status.podIPs", raw, detail))
    return errors


def ip_errors(text: str) -> list[str]:
    """IsValidIP, as the API server's strict IP validation says it, plus: no zone
    (``fe80::1%eth0``), no NUL or other characters an address cannot have, and not
    the unspecified address."""
    try:  # the common case, dotted IPv4, in C (inet_pton also refuses leading zeros)
        packed = inet_pton(AF_INET, text)
    except (OSError, ValueError):
        pass
    else:
        return ["may not be unspecified (0.0.0.0 or ::)"] if packed == bytes(4) else []
    if not text.isascii() or not text.isprintable() or "%" in text:
        return [_BAD_IP]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        if _IPV4_DOTTED.fullmatch(text) and all(int(o) <= 255 for o in text.split(".")):
            return ["must not have leading 0s"]
        return [_BAD_IP]
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return ["must not be an IPv4-mapped IPv6 address"]
    if address.is_unspecified:
        return ["may not be unspecified (0.0.0.0 or ::)"]
    return []


def node_address_errors(status: Mapping[str, Any]) -> list[FieldError]:
    """A Node's InternalIP and ExternalIP addresses are IP addresses."""
    errors: list[FieldError] = []
    for i, entry in objects_at(status, "addresses"):
        kind = as_map(entry).get("type")
        text = str_at(entry, "address", "")
        if kind in ("InternalIP", "ExternalIP") and text:
            where = index("status.addresses", i) + ".address"
            errors.extend(invalid(where, text, m) for m in ip_errors(text))
    return errors
