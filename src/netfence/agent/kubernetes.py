"""The Kubernetes API as the agent's source: list + watch with the official client.

A thin adapter: it keeps the latest version of every Namespace, Pod, Service,
Node, NetworkPolicy and cluster-wide policy (AdminNetworkPolicy,
BaselineAdminNetworkPolicy, ClusterNetworkPolicy of both APIs: custom
resources, an empty list where their CRD is not installed), and hands them to
the agent as the same raw documents the directory source produces, so
everything after it is the code the directory source exercises.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from netfence.agent.sources import Snapshot
from netfence.errors import EnvironmentProblem
from netfence.model.diagnostics import Source
from netfence.parse.documents import RawDocument

KINDS = {  # what is watched (the kind, then ``.group`` when two groups share it) → apiVersion
    "Namespace": "v1",
    "Node": "v1",
    "Pod": "v1",
    "Service": "v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    # the cluster-wide tiers: custom resources, which a cluster may not have (then
    # an empty list, listed again now and then)
    "AdminNetworkPolicy": "policy.networking.k8s.io/v1alpha1",
    "BaselineAdminNetworkPolicy": "policy.networking.k8s.io/v1alpha1",
    "ClusterNetworkPolicy": "policy.networking.k8s.io/v1alpha2",
    "ClusterNetworkPolicy.networking.k8s.aws": "networking.k8s.aws/v1alpha1",
}
CUSTOM = {  # the custom resources' plural names
    "AdminNetworkPolicy": "adminnetworkpolicies",
    "BaselineAdminNetworkPolicy": "baselineadminnetworkpolicies",
    "ClusterNetworkPolicy": "clusternetworkpolicies",
    "ClusterNetworkPolicy.networking.k8s.aws": "clusternetworkpolicies",
}
ABSENT = ""  # the resourceVersion of a kind the API server does not serve (no CRD)


def kind_of(watched: str) -> str:
    """The document kind of a KINDS key."""
    return watched.partition(".")[0]


class Client(Protocol):
    def list(self, kind: str) -> tuple[list[dict[str, Any]], str]: ...

    def watch(self, kind: str, resource_version: str) -> Iterator[tuple[str, dict[str, Any]]]: ...


@dataclass
class KubernetesSource:
    client: Client
    _objects: dict[tuple[str, str, str], RawDocument] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _version: int = 0
    # (kind, namespace) → its documents in name order, made again only when one of
    # them changed: the agent compares these parts, not every document
    _parts: dict[tuple[str, str], tuple[RawDocument, ...]] = field(default_factory=dict)
    _changed: set[tuple[str, str]] = field(default_factory=set)
    _last: Snapshot | None = None

    def sync_kind(self, kind: str) -> str:
        """List every object of ``kind`` (replacing what was known); its resourceVersion."""
        items, resource_version = self.client.list(kind)
        with self._lock:
            for key in [k for k in self._objects if k[0] == kind]:
                del self._objects[key]
                self._changed.add(key[:2])
            for item in items:
                self._store(kind, "ADDED", item)
            self._version += 1
        return resource_version

    def apply_event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        with self._lock:
            self._store(kind, event_type, obj)
            self._version += 1

    def _store(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = (kind, meta.get("namespace") or "", meta.get("name") or "")
        self._changed.add(key[:2])
        if event_type == "DELETED":
            self._objects.pop(key, None)
        else:
            document = {**obj, "kind": kind_of(kind), "apiVersion": KINDS[kind]}
            # one document per object version: the agent reuses what it converted
            self._objects[key] = RawDocument(Source(f"kubernetes {kind}", 0), document)

    def snapshot(self) -> Snapshot:
        """Every object, sorted by kind, namespace and name (the same snapshot
        object while nothing changed)."""
        with self._lock:
            if self._last is not None and self._last.version == self._version:
                return self._last
            if self._changed:
                grouped: dict[tuple[str, str], list[RawDocument]] = {}
                for key in sorted(k for k in self._objects if k[:2] in self._changed):
                    grouped.setdefault(key[:2], []).append(self._objects[key])
                for group in self._changed:
                    self._parts.pop(group, None)
                self._parts.update((group, tuple(docs)) for group, docs in grouped.items())
                self._changed = set()
            parts = tuple(self._parts[group] for group in sorted(self._parts))
            documents = tuple(d for part in parts for d in part)
            self._last = Snapshot(documents, (), self._version, parts=parts)
            return self._last

    def watch_forever(self, kind: str, stop: threading.Event) -> None:
        """List, then follow the watch; relist after a gap (e.g. 410 Gone)."""
        while not stop.is_set():
            try:
                resource_version = self.sync_kind(kind)
                if resource_version == ABSENT:  # not served (yet): look again later
                    stop.wait(60.0)
                    continue
                for event_type, obj in self.client.watch(kind, resource_version):
                    if stop.is_set():
                        return
                    self.apply_event(kind, event_type, obj)
            except Exception:  # the API went away: back off, then relist
                stop.wait(2.0)

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        threads = [
            threading.Thread(
                target=self.watch_forever, args=(kind, stop), daemon=True, name=f"watch-{kind}"
            )
            for kind in KINDS
        ]
        for thread in threads:
            thread.start()
        return threads

    def wait_synced(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._version >= len(KINDS):
                    return
            time.sleep(0.05)
        raise EnvironmentProblem("the Kubernetes API did not answer the initial lists in time")


class OfficialClient:
    """The ``kubernetes`` package (in-cluster configuration, else kubeconfig)."""

    _LISTS: ClassVar[dict[str, tuple[str, str]]] = {
        "Namespace": ("CoreV1Api", "list_namespace"),
        "Node": ("CoreV1Api", "list_node"),
        "Pod": ("CoreV1Api", "list_pod_for_all_namespaces"),
        "Service": ("CoreV1Api", "list_service_for_all_namespaces"),
        "NetworkPolicy": ("NetworkingV1Api", "list_network_policy_for_all_namespaces"),
    }

    def __init__(self) -> None:
        try:
            import kubernetes
        except ImportError:
            raise EnvironmentProblem(
                "the Kubernetes source needs: pip install 'netfence[k8s]'"
            ) from None
        try:
            kubernetes.config.load_incluster_config()
        except kubernetes.config.ConfigException:
            kubernetes.config.load_kube_config()
        self._k8s = kubernetes
        self._api = kubernetes.client.ApiClient()

    def _list_function(self, kind: str) -> Any:
        api_name, method = self._LISTS[kind]
        return getattr(getattr(self._k8s.client, api_name)(self._api), method)

    def _custom(self, kind: str) -> tuple[Any, tuple[str, str, str]]:
        """The custom objects' list function, and (group, version, plural)."""
        group, _, version = KINDS[kind].partition("/")
        api = self._k8s.client.CustomObjectsApi(self._api)
        return api.list_cluster_custom_object, (group, version, CUSTOM[kind])

    def list(self, kind: str) -> tuple[list[dict[str, Any]], str]:
        if kind in CUSTOM:
            function, args = self._custom(kind)
            try:
                found = function(*args)
            except self._k8s.client.ApiException as exc:
                if exc.status == 404:
                    return [], ABSENT  # the CRD is not installed
                raise
            return list(found.get("items") or []), found["metadata"]["resourceVersion"]
        result = self._list_function(kind)()
        items = [self._api.sanitize_for_serialization(item) for item in result.items]
        return items, result.metadata.resource_version

    def watch(self, kind: str, resource_version: str) -> Iterator[tuple[str, dict[str, Any]]]:
        function, args = self._custom(kind) if kind in CUSTOM else (self._list_function(kind), ())
        stream = self._k8s.watch.Watch().stream(
            function, *args, resource_version=resource_version, timeout_seconds=300
        )
        for event in stream:
            yield event["type"], self._api.sanitize_for_serialization(event["object"])
