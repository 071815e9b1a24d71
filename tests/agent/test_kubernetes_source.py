"""The Kubernetes source: list + watch events become the same documents the agent reads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.agent.test_agent import FakeApplier

from netfence.agent.agent import Agent
from netfence.agent.kubernetes import ABSENT, CUSTOM, KINDS, KubernetesSource

POD = {
    "metadata": {"name": "db", "namespace": "shop", "labels": {"app": "db"}},
    "spec": {"nodeName": "n1"},
    "status": {"podIP": "10.1.0.2"},
}
POLICY = {
    "metadata": {"name": "deny", "namespace": "shop"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


@dataclass
class FakeClient:
    lists: dict[str, list[dict[str, Any]]]
    events: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)

    def list(self, kind: str) -> tuple[list[dict[str, Any]], str]:
        return self.lists.get(kind, []), "1"

    def watch(self, kind: str, resource_version: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each event also changes what the next list returns, as in a real API server."""
        for event_type, obj in self.events.pop(kind, []):
            named = [o for o in self.lists.get(kind, []) if o["metadata"] != obj["metadata"]]
            self.lists[kind] = named if event_type == "DELETED" else [*named, obj]
            yield event_type, obj


def test_lists_become_documents_with_kind_and_api_version() -> None:
    source = KubernetesSource(FakeClient({"Pod": [POD], "NetworkPolicy": [POLICY]}))
    for kind in KINDS:
        source.sync_kind(kind)
    docs = source.snapshot().documents
    assert sorted((d.kind, d.obj["apiVersion"]) for d in docs) == [
        ("NetworkPolicy", "networking.k8s.io/v1"),
        ("Pod", "v1"),
    ]


def test_watch_events_update_and_delete_and_change_the_version() -> None:
    source = KubernetesSource(FakeClient({"Pod": [POD]}))
    source.sync_kind("Pod")
    before = source.snapshot().version
    source.apply_event("NetworkPolicy", "ADDED", POLICY)
    assert source.snapshot().version != before
    source.apply_event("Pod", "DELETED", POD)
    assert [d.kind for d in source.snapshot().documents] == ["NetworkPolicy"]


def test_agent_on_the_kubernetes_source() -> None:
    client = FakeClient({"Pod": [POD]}, {"NetworkPolicy": [("ADDED", POLICY)]})
    source = KubernetesSource(client)
    stop = threading.Event()
    threads = source.start(stop)
    source.wait_synced(5)
    for _ in range(100):  # the watch event arrives right after the lists
        if any(d.kind == "NetworkPolicy" for d in source.snapshot().documents):
            break
        threading.Event().wait(0.02)
    stop.set()
    applier = FakeApplier()
    Agent(source, applier, node="n1").sync()
    assert "10.1.0.2 : jump in_set_" in applier.applied[0]
    for thread in threads:
        thread.join(5)


def test_the_daemonset_rbac_grants_list_and_watch_on_every_watched_kind() -> None:
    from pathlib import Path

    import yaml

    manifest = Path(__file__).resolve().parents[2] / "deploy" / "agent.yaml"
    docs = list(yaml.safe_load_all(manifest.read_text()))
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    granted = {
        (group, resource)
        for rule in role["rules"]
        if {"list", "watch"} <= set(rule["verbs"])
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    plural = {
        "Namespace": "namespaces",
        "Node": "nodes",
        "Pod": "pods",
        "Service": "services",
        "NetworkPolicy": "networkpolicies",
        **CUSTOM,
    }
    for kind, api_version in KINDS.items():
        group = api_version.rpartition("/")[0]
        assert (group, plural[kind]) in granted, kind
    daemonset = next(d for d in docs if d["kind"] == "DaemonSet")
    container = daemonset["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:3] == ["netfence", "agent", "--kubernetes"]
    assert "NET_ADMIN" in container["securityContext"]["capabilities"]["add"]


def test_the_daemonset_runs_least_privileged_with_probes_and_a_state_volume() -> None:
    from pathlib import Path

    import yaml

    manifest = Path(__file__).resolve().parents[2] / "deploy" / "agent.yaml"
    docs = list(yaml.safe_load_all(manifest.read_text()))
    pod = next(d for d in docs if d["kind"] == "DaemonSet")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    security = container["securityContext"]
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    resources = container["resources"]
    assert {"cpu", "memory"} <= resources["requests"].keys()
    assert {"cpu", "memory"} <= resources["limits"].keys()
    command = container["command"]
    host, _, port = command[command.index("--health-address") + 1].rpartition(":")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = container[probe]["httpGet"]
        assert (get["host"], get["path"], str(get["port"])) == (host, path, port)
    # the state is written beside the status file: that directory is a writable volume
    state_dir = str(Path(command[command.index("--status-file") + 1]).parent)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounts[state_dir])
    assert volume["hostPath"]["path"] == state_dir  # outlives the pod, not only the container


CNP = {
    "metadata": {"name": "guard"},
    "spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}},
             "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}]},
}  # fmt: skip


@dataclass
class NoCrds(FakeClient):
    """An API server without the cluster-wide policies' CRDs but the upstream
    ClusterNetworkPolicy one."""

    listed: list[str] = field(default_factory=list)

    def list(self, kind: str) -> tuple[list[dict[str, Any]], str]:
        self.listed.append(kind)
        if kind in CUSTOM and kind != "ClusterNetworkPolicy":
            return [], ABSENT
        return super().list(kind)


def test_cluster_wide_policies_are_watched_and_enforced() -> None:
    """The custom resources become documents of their kind and API (the EKS one
    keeps its group), a missing CRD is an empty list that is not watched, and the
    agent enforces what arrives."""
    client = NoCrds({"Pod": [POD], "ClusterNetworkPolicy": [CNP]})
    source = KubernetesSource(client)
    stop = threading.Event()
    threads = source.start(stop)
    source.wait_synced(5)
    stop.set()
    for thread in threads:
        thread.join(5)
    assert set(client.listed) == set(KINDS)
    absent = [k for k in CUSTOM if k != "ClusterNetworkPolicy"]
    assert all(client.listed.count(k) == 1 for k in absent)  # listed again in a minute
    docs = source.snapshot().documents
    assert [(d.kind, d.obj["apiVersion"]) for d in docs if d.kind != "Pod"] == [
        ("ClusterNetworkPolicy", "policy.networking.k8s.io/v1alpha2")
    ]
    applier = FakeApplier()
    Agent(source, applier, node="n1").sync()
    assert "10.1.0.2 : jump adm_in_" in applier.applied[0]
    source.apply_event("ClusterNetworkPolicy.networking.k8s.aws", "ADDED", CNP)
    kinds = {(d.kind, d.obj["apiVersion"]) for d in source.snapshot().documents}
    assert ("ClusterNetworkPolicy", "networking.k8s.aws/v1alpha1") in kinds
