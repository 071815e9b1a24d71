"""FROM/TO arguments → what they name in the cluster.

Accepted forms: ``NAMESPACE/POD``, ``NAMESPACE/KIND/NAME`` (a workload or a
Service: all its pods), an IP address (a pod's, a Service's ClusterIP, or an
outside address), a DNS name of a Service (``svc``, ``svc.ns``,
``svc.ns.svc``, ``svc.ns.svc.cluster.local``), resolved as a pod's resolver
would with the kubelet's search path, optionally with ``:PORT`` (the Service's
port, number or name), or a described endpoint ``NAMESPACE:key=value,...``: a
hypothetical pod of NAMESPACE with exactly those labels (engine/described.py),
for inputs without pods.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from netfence.engine.described import described_pod, is_described
from netfence.errors import TargetError
from netfence.model.cluster import Cluster, Pod, Service, WorkloadRef
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress
from netfence.model.ports import ContainerPort
from netfence.parse.validation_meta import (
    dns1123_label_errors,
    label_value_errors,
    qualified_name_errors,
)

KIND_ALIASES: Mapping[str, str] = {
    **dict.fromkeys(("pod", "pods", "po"), "Pod"),
    **dict.fromkeys(("deployment", "deployments", "deploy"), "Deployment"),
    **dict.fromkeys(("statefulset", "statefulsets", "sts"), "StatefulSet"),
    **dict.fromkeys(("daemonset", "daemonsets", "ds"), "DaemonSet"),
    **dict.fromkeys(("replicaset", "replicasets", "rs"), "ReplicaSet"),
    **dict.fromkeys(("job", "jobs"), "Job"),
    **dict.fromkeys(("cronjob", "cronjobs", "cj"), "CronJob"),
    **dict.fromkeys(("service", "services", "svc"), "Service"),
}

_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\.?$")


class TargetKind(enum.Enum):
    PODS = "pods"
    SERVICE = "service"
    EXTERNAL = "external"


@dataclass(frozen=True, slots=True)
class Target:
    """What a FROM/TO argument names. ``dns_name`` is set when it was a DNS name."""

    text: str
    kind: TargetKind
    pods: tuple[Pod, ...] = ()
    service: Service | None = None
    ip: IPAddress | None = None
    dns_name: str | None = None
    port: int | str | None = None  # from SVC:PORT

    @property
    def described(self) -> bool:
        """A hypothetical pod given by namespace and labels, not a pod of the input."""
        return len(self.pods) == 1 and is_described(self.pods[0])

    def format(self) -> str:
        if self.described:
            described = self.pods[0]
            labels = f"labels {described.labels.format()}" if described.labels else "no labels"
            return f"described endpoint {self.text} (a pod of {described.namespace} with {labels})"
        if self.kind is TargetKind.SERVICE and self.service is not None:
            return f"service {self.service.key}"
        if self.kind is TargetKind.EXTERNAL:
            return f"{self.ip} (outside the cluster's pods)"
        if len(self.pods) == 1:
            pod = self.pods[0].key
            return f"pod {pod}" if self.text in (pod, str(self.ip)) else f"{self.text} (pod {pod})"
        return f"{self.text} ({len(self.pods)} pods)"


def resolve_pair(
    source: str,
    destination: str,
    cluster: Cluster,
    extra_hosts: Mapping[str, IPAddress] | None = None,
) -> tuple[Target, Target]:
    """FROM and TO of a check: short DNS names in TO resolve in FROM's namespace,
    as its pods' resolvers would; ``extra_hosts`` holds ``--resolve NAME=IP``."""
    src = resolve_target(source, cluster)
    client_ns = src.pods[0].namespace if src.pods else None
    return src, resolve_target(destination, cluster, client_ns, extra_hosts)


def resolve_target(
    text: str,
    cluster: Cluster,
    client_namespace: str | None = None,
    extra_hosts: Mapping[str, IPAddress] | None = None,
) -> Target:
    """Resolve one FROM/TO argument; ``client_namespace`` is the namespace whose
    search path resolves short DNS names (the source pod's)."""
    ip = _as_ip(text)
    if ip is not None:
        return _target_for_ip(text, ip, cluster)
    if ":" in text:
        head, _, tail = text.partition(":")
        if "=" in tail or not tail:
            return _described_target(text, head, tail)
        if "/" not in head and _DNS_NAME.match(head.lower()):
            try:
                target = _dns_target(
                    head.lower().rstrip("."), cluster, client_namespace, extra_hosts or {}
                )
            except TargetError as exc:
                if tail.isdigit():
                    raise
                raise TargetError(
                    f"{text!r}: {tail!r} is not key=value (for NAMESPACE:key=value), and {exc}"
                ) from None
            return replace(target, text=text, port=_port(text, tail))
        raise TargetError(f"{text!r}: expected NAMESPACE:key=value,... or SERVICE[.NAMESPACE]:PORT")
    parts = text.split("/")
    if len(parts) == 2:
        return _pod_target(text, parts[0], parts[1], cluster)
    if len(parts) == 3:
        return _kind_target(text, parts[0], parts[1], parts[2], cluster)
    if len(parts) == 1 and _DNS_NAME.match(text.lower()):
        return _dns_target(text.lower().rstrip("."), cluster, client_namespace, extra_hosts or {})
    raise TargetError(
        f"{text!r}: expected NAMESPACE/POD, NAMESPACE/KIND/NAME, an IP address, a DNS name "
        "(SERVICE[.NAMESPACE][:PORT]) or NAMESPACE:key=value,..."
    )


def _port(text: str, value: str) -> int | str:
    if value.isdigit():
        number = int(value)
        if not 1 <= number <= 65535:
            raise TargetError(f"{text!r}: port {value} must be between 1 and 65535")
        return number
    return value


def described_target(
    namespace: str,
    labels: Labels,
    text: str | None = None,
    ports: Iterable[ContainerPort] = (),
) -> Target:
    """A described endpoint: the hypothetical pod of ``namespace`` with ``labels``
    (declaring the container ``ports``, none by default)."""
    pod = described_pod(namespace, labels, ports)
    return Target(text or f"{namespace}:{pod.name[1:-1]}", TargetKind.PODS, (pod,))


def _described_target(text: str, namespace: str, items: str) -> Target:
    problems = [f"namespace {namespace!r} {m}" for m in dns1123_label_errors(namespace)]
    labels: dict[str, str] = {}
    for item in filter(None, (i.strip() for i in items.split(","))):
        key, equals, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not equals:
            problems.append(f"{item!r} is not key=value")
            continue
        problems.extend(f"label key {key!r}: {m}" for m in qualified_name_errors(key))
        problems.extend(f"label value {value!r}: {m}" for m in label_value_errors(value))
        if key in labels and labels[key] != value:
            problems.append(f"label {key!r} given twice")
        labels[key] = value
    if problems:
        raise TargetError(f"{text!r}: {'; '.join(problems)}")
    return described_target(namespace, Labels.of(labels), text)


def _as_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _target_for_ip(text: str, ip: IPAddress, cluster: Cluster) -> Target:
    pod = cluster.pod_by_ip(ip)
    if pod is not None:
        return Target(text, TargetKind.PODS, (pod,), ip=ip)
    for service in cluster.services:
        if ip in service.cluster_ips:
            return Target(text, TargetKind.SERVICE, cluster.service_backends(service), service, ip)
    return Target(text, TargetKind.EXTERNAL, ip=ip)


def _require_namespace(text: str, namespace: str, cluster: Cluster) -> None:
    if cluster.namespace(namespace) is None:
        known = ", ".join(ns.name for ns in cluster.namespaces) or "none"
        raise TargetError(f"{text!r}: namespace {namespace!r} not found (namespaces: {known})")


def _pod_target(text: str, namespace: str, name: str, cluster: Cluster) -> Target:
    _require_namespace(text, namespace, cluster)
    pod = cluster.pod(namespace, name)
    if pod is None:
        names = sorted(p.name for p in cluster.pods_in(namespace))
        hint = f" (pods there: {', '.join(names[:10])}{', ...' if len(names) > 10 else ''})"
        raise TargetError(
            f"{text!r}: pod {name!r} not found in namespace {namespace!r}{hint if names else ''}"
        )
    return Target(text, TargetKind.PODS, (pod,))


def _kind_target(text: str, namespace: str, kind_text: str, name: str, cluster: Cluster) -> Target:
    kind = KIND_ALIASES.get(kind_text.lower())
    if kind is None:
        kinds = ", ".join(sorted(set(KIND_ALIASES.values())))
        raise TargetError(f"{text!r}: unknown kind {kind_text!r} (use {kinds})")
    if kind == "Pod":
        return _pod_target(text, namespace, name, cluster)
    _require_namespace(text, namespace, cluster)
    if kind == "Service":
        service = cluster.service(namespace, name)
        if service is None:
            raise TargetError(f"{text!r}: service {name!r} not found in namespace {namespace!r}")
        return Target(text, TargetKind.SERVICE, cluster.service_backends(service), service)
    ref = WorkloadRef(kind, name)
    pods = tuple(p for p in cluster.pods_in(namespace) if p.workload == ref)
    if not pods:
        raise TargetError(f"{text!r}: no pods of {kind} {name!r} in namespace {namespace!r}")
    return Target(text, TargetKind.PODS, pods)


def service_name_candidates(name: str, client_namespace: str | None, domain: str) -> list[str]:
    """The names a pod's resolver tries, in order. Kubelet writes ``search
    <ns>.svc.<domain> svc.<domain> <domain>`` and ``options ndots:5``: a name with
    fewer than 5 dots is tried with each search suffix first, then as is."""
    suffixes = [f"svc.{domain}", domain]
    if client_namespace:
        suffixes.insert(0, f"{client_namespace}.svc.{domain}")
    tried = [f"{name}.{s}" for s in suffixes] if name.count(".") < 5 else []
    return [*tried, name]


def _dns_target(
    name: str, cluster: Cluster, client_namespace: str | None, extra_hosts: Mapping[str, IPAddress]
) -> Target:
    domain = cluster.cluster_domain
    for fqdn in service_name_candidates(name, client_namespace, domain):
        service = _service_for_fqdn(fqdn, cluster)
        if service is not None:
            backends = cluster.service_backends(service)
            return Target(name, TargetKind.SERVICE, backends, service, dns_name=name)
    if name in extra_hosts:
        return Target(name, TargetKind.EXTERNAL, ip=extra_hosts[name], dns_name=name)
    raise TargetError(
        f"{name!r}: no Service has this name in the cluster; for a host outside the cluster, "
        f"give its address with --resolve {name}=IP"
    )


def _service_for_fqdn(fqdn: str, cluster: Cluster) -> Service | None:
    suffix = f".svc.{cluster.cluster_domain}"
    if not fqdn.endswith(suffix):
        return None
    labels = fqdn[: -len(suffix)].split(".")
    if len(labels) != 2:
        return None
    return cluster.service(labels[1], labels[0])
