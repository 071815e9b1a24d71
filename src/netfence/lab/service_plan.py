"""kube-dns and ClusterIPs as the lab serves them. Pure.

Which pods run the lab DNS and on which port, the names it answers, the
ClusterIP → backend entries of the kube-proxy tables, and the backends that may
reach themselves through their own Service (hairpin). IPv6 ClusterIPs and
addresses count only in a dual-stack lab.
"""

from __future__ import annotations

from netfence.lab.kubeproxy import ServiceEntry
from netfence.model.cluster import Cluster, Pod, Service, first_address
from netfence.model.ports import Protocol

KUBE_DNS = ("kube-system", "kube-dns")


def dns_service(cluster: Cluster, notes: list[str]) -> Service | None:
    service = cluster.service(*KUBE_DNS)
    if service is None or first_address(service.cluster_ips, 4) is None:
        notes.append("no kube-system/kube-dns Service with an IPv4 ClusterIP: pods get no DNS")
        return None
    if not cluster.service_backends(service):
        notes.append("kube-system/kube-dns has no backend pods: names will not resolve")
    return service


def dns_ports(cluster: Cluster, service: Service | None) -> dict[str, int]:
    """Per kube-dns backend pod: the container port its 53/UDP service port targets."""
    if service is None:
        return {}
    ports = [p for p in service.ports if p.protocol is Protocol.UDP] or list(service.ports)
    found = {}
    for pod in cluster.service_backends(service):
        for port in ports:
            number = port.target_on(pod)
            if number is not None:
                found[pod.key] = number
                break
    return found


def dns_records(
    cluster: Cluster, dual_stack: bool, extra: dict[str, tuple[str, ...]]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``<svc>.<ns>.svc.<domain>`` → ClusterIPs (IPv6 ones too in a dual-stack lab),
    and the ``extra`` names (the external host's)."""
    versions = (4, 6) if dual_stack else (4,)
    records: dict[str, tuple[str, ...]] = dict(extra)
    for service in cluster.services:
        ips = tuple(str(ip) for ip in service.cluster_ips if ip.version in versions)
        if ips:
            name = f"{service.name}.{service.namespace}.svc.{cluster.cluster_domain}"
            records[name] = ips
    return tuple(sorted(records.items()))


def service_entries(cluster: Cluster, pods: list[Pod], dual_stack: bool) -> list[ServiceEntry]:
    """Per ClusterIP (IPv6 ones too in a dual-stack lab) and port: the backends'
    addresses of the same family."""
    in_lab = {p.key for p in pods}
    entries = []
    for service in cluster.services:
        backends = [p for p in cluster.service_backends(service) if p.key in in_lab]
        for version in (4, 6) if dual_stack else (4,):
            ip = first_address(service.cluster_ips, version)
            if ip is None:
                continue
            for port in service.ports:
                targets = tuple(
                    (str(address), number)
                    for pod in backends
                    if (address := first_address(pod.ips, version)) is not None
                    and (number := port.target_on(pod)) is not None
                )
                entries.append(ServiceEntry(port.protocol, str(ip), port.port, targets))
    return entries


def hairpin_addresses(cluster: Cluster, pods: list[Pod], dual_stack: bool) -> list[str]:
    """Backend pods, which may reach themselves through their own Service."""
    in_lab = {p.key: p for p in pods}
    keys = {b.key for s in cluster.services for b in cluster.service_backends(s)}
    versions = (4, 6) if dual_stack else (4,)
    return sorted(
        {
            str(a)
            for k in keys
            if k in in_lab
            for v in versions
            if (a := first_address(in_lab[k].ips, v))
        }
    )
