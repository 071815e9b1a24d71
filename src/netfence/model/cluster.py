"""The cluster a policy set applies to: namespaces, pods, services, nodes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netfence.model.completeness import OtherPolicy
from netfence.model.diagnostics import Source
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress, NetworkPolicy
from netfence.model.ports import ContainerPort, Protocol

if TYPE_CHECKING:
    from netfence.model.tiers import ClusterPolicy

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Labels
    declared: bool = True
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class WorkloadRef:
    """The controller a pod belongs to, e.g. ``Deployment ui``."""

    kind: str
    name: str

    def format(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def first_address(ips: Iterable[IPAddress], version: int) -> IPAddress | None:
    """The first of ``ips`` of IP ``version`` (4 or 6): a pod's, Service's or Node's
    address of that family."""
    return next((ip for ip in ips if ip.version == version), None)


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    labels: Labels
    ips: tuple[IPAddress, ...]
    ports: tuple[ContainerPort, ...] = ()
    host_network: bool = False
    node: str | None = None
    workload: WorkloadRef | None = None
    source: Source | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def ip_of_version(self, version: int) -> IPAddress | None:
        return first_address(self.ips, version)

    def named_port(self, name: str, protocol: Protocol) -> int | None:
        """The number of the container port called ``name`` with ``protocol``, if any."""
        for port in self.ports:
            if port.name == name and port.protocol is protocol:
                return port.port
        return None


@dataclass(frozen=True, slots=True)
class ServicePort:
    port: int
    target_port: int | str
    protocol: Protocol = Protocol.TCP
    name: str | None = None

    def target_on(self, pod: Pod) -> int | None:
        """The port this service port reaches on one backend: ``targetPort`` itself,
        or the pod's container port of that name and this protocol (None: the pod
        declares none, so it is no endpoint for this port)."""
        target = self.target_port
        return target if isinstance(target, int) else pod.named_port(target, self.protocol)


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    selector: Labels | None
    ports: tuple[ServicePort, ...]
    cluster_ips: tuple[IPAddress, ...] = ()
    source: Source | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    labels: Labels
    ips: tuple[IPAddress, ...] = ()


@dataclass(frozen=True)
class Cluster:
    """Everything the policies apply to. Lookups are indexed once at creation."""

    namespaces: tuple[Namespace, ...]
    pods: tuple[Pod, ...]
    services: tuple[Service, ...] = ()
    nodes: tuple[Node, ...] = ()
    # NetworkPolicies and EKS ApplicationNetworkPolicies (origin APPLICATION_NETWORK_POLICY):
    # one tier, additive
    policies: tuple[NetworkPolicy, ...] = ()
    cluster_domain: str = "cluster.local"
    # policies of other kinds (Cilium, Calico, AdminNetworkPolicy, EKS): not evaluated
    other_policies: tuple[OtherPolicy, ...] = ()
    # the cluster-wide tiers (model/tiers.py), in input order
    cluster_policies: tuple[ClusterPolicy, ...] = ()
    # lookups built by __post_init__; not init fields, so dataclasses.replace makes new ones
    _ns_index: dict[str, Namespace] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _pod_index: dict[str, Pod] = field(default_factory=dict, init=False, compare=False, repr=False)
    _ip_index: dict[IPAddress, Pod] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _service_index: dict[str, Service] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _pods_by_ns: dict[str, list[Pod]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    _node_ip_index: dict[IPAddress, Node] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        self._ns_index.update((ns.name, ns) for ns in self.namespaces)
        self._pod_index.update((pod.key, pod) for pod in self.pods)
        self._service_index.update((s.key, s) for s in self.services)
        for pod in self.pods:
            self._pods_by_ns.setdefault(pod.namespace, []).append(pod)
        for pod in self.pods:
            if not pod.host_network:
                self._ip_index.update((ip, pod) for ip in pod.ips)
        for node in self.nodes:
            self._node_ip_index.update((ip, node) for ip in node.ips)

    def namespace(self, name: str) -> Namespace | None:
        return self._ns_index.get(name)

    def pod(self, namespace: str, name: str) -> Pod | None:
        return self._pod_index.get(f"{namespace}/{name}")

    def pod_by_ip(self, ip: IPAddress) -> Pod | None:
        """The (non-hostNetwork) pod that owns ``ip``, if any."""
        return self._ip_index.get(ip)

    def node_by_ip(self, ip: IPAddress) -> Node | None:
        """The node with ``ip`` among its addresses, if any."""
        return self._node_ip_index.get(ip)

    def namespace_labels(self, name: str) -> Labels:
        ns = self._ns_index.get(name)
        return ns.labels if ns is not None else Labels.of({NAMESPACE_NAME_LABEL: name})

    def service(self, namespace: str, name: str) -> Service | None:
        return next((s for s in self.services if s.namespace == namespace and s.name == name), None)

    def pods_in(self, namespace: str) -> Iterable[Pod]:
        return iter(self._pods_by_ns.get(namespace, ()))

    def service_backends(self, service: Service) -> tuple[Pod, ...]:
        """API reference (Service.spec.selector): "Route service traffic to pods
        with label keys and values matching this selector." A Service without a
        selector has no backends netfence can know of."""
        if not service.selector:
            return ()
        wanted = service.selector.items_
        return tuple(
            p
            for p in self.pods_in(service.namespace)
            if all(p.labels.get(k) == v for k, v in wanted)
        )
