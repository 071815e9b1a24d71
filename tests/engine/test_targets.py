"""FROM/TO arguments: every form, and clear errors for what does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from netfence.compile import compile_policies
from netfence.engine.check import Verdict, check
from netfence.engine.targets import TargetKind, resolve_target, service_name_candidates
from netfence.errors import TargetError
from netfence.io.cluster import load_cluster
from netfence.model.cluster import Cluster
from netfence.model.ports import Protocol


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    scenario = Path(__file__).resolve().parents[2] / "src/netfence/scenarios/eks-retail"
    return load_cluster([], [str(scenario / "cluster")]).cluster


@pytest.mark.parametrize(
    ("text", "kind", "pods"),
    [
        ("ui/ui-0", TargetKind.PODS, ["ui/ui-0"]),
        ("ui/pod/ui-0", TargetKind.PODS, ["ui/ui-0"]),
        ("ui/deployment/ui", TargetKind.PODS, ["ui/ui-0"]),
        ("ui/deploy/ui", TargetKind.PODS, ["ui/ui-0"]),
        ("catalog/sts/catalog-mysql", TargetKind.PODS, ["catalog/catalog-mysql-0"]),
        (
            "kube-system/deployment/coredns",
            TargetKind.PODS,
            ["kube-system/coredns-0", "kube-system/coredns-1"],
        ),
        ("catalog/svc/catalog", TargetKind.SERVICE, ["catalog/catalog-0"]),
        ("catalog.catalog", TargetKind.SERVICE, ["catalog/catalog-0"]),
        ("catalog.catalog.svc", TargetKind.SERVICE, ["catalog/catalog-0"]),
        ("catalog.catalog.svc.cluster.local", TargetKind.SERVICE, ["catalog/catalog-0"]),
        ("catalog.catalog.svc.cluster.local.", TargetKind.SERVICE, ["catalog/catalog-0"]),
        ("172.20.0.10", TargetKind.SERVICE, ["kube-system/coredns-0", "kube-system/coredns-1"]),
        ("203.0.113.10", TargetKind.EXTERNAL, []),
        ("2001:db8::1", TargetKind.EXTERNAL, []),
    ],
)
def test_target_forms(cluster: Cluster, text: str, kind: TargetKind, pods: list[str]) -> None:
    target = resolve_target(text, cluster, client_namespace="ui")
    assert target.kind is kind
    assert [p.key for p in target.pods] == pods


def test_pod_ip_is_that_pod(cluster: Cluster) -> None:
    pod = cluster.pods[0]
    target = resolve_target(str(pod.ips[0]), cluster)
    assert target.pods == (pod,)


def test_short_name_uses_the_search_path_of_the_client_namespace(cluster: Cluster) -> None:
    assert resolve_target("catalog", cluster, client_namespace="catalog").service is not None
    with pytest.raises(TargetError):
        resolve_target("catalog", cluster, client_namespace="ui")


def test_search_path_order_matches_kubelet_resolv_conf() -> None:
    assert service_name_candidates("catalog.catalog", "ui", "cluster.local") == [
        "catalog.catalog.ui.svc.cluster.local",
        "catalog.catalog.svc.cluster.local",
        "catalog.catalog.cluster.local",
        "catalog.catalog",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ui/nope", "pod 'nope' not found in namespace 'ui' (pods there: ui-0)"),
        ("nowhere/x", "namespace 'nowhere' not found"),
        ("ui/gizmo/ui", "unknown kind 'gizmo'"),
        ("ui/deployment/nope", "no pods of Deployment 'nope' in namespace 'ui'"),
        ("ui/svc/nope", "service 'nope' not found in namespace 'ui'"),
        ("www.example.com", "no Service has this name in the cluster"),
        ("a/b/c/d", "expected NAMESPACE/POD, NAMESPACE/KIND/NAME, an IP address, a DNS name"),
    ],
)
def test_unknown_targets_are_clear_errors(cluster: Cluster, text: str, message: str) -> None:
    with pytest.raises(TargetError) as info:
        resolve_target(text, cluster)
    assert message in str(info.value)


def test_resolve_gives_an_outside_name_its_address(cluster: Cluster) -> None:
    import ipaddress

    ip = ipaddress.ip_address("203.0.113.10")
    target = resolve_target("www.example.com", cluster, "ui", {"www.example.com": ip})
    assert (
        target.kind is TargetKind.EXTERNAL
        and target.ip == ip
        and target.dns_name == "www.example.com"
    )


@pytest.mark.parametrize(
    ("to", "port", "protocol", "message"),
    [
        (
            "catalog/svc/catalog",
            8080,
            None,
            "service catalog/catalog has no port 8080 (its ports: 80/TCP)",
        ),
        ("catalog/svc/catalog", 80, Protocol.UDP, "has no port 80/UDP"),
        ("catalog/catalog-0", "grpc", None, "no pod declares a port named 'grpc'"),
        ("203.0.113.10", None, None, "is outside the cluster: give a numeric --port"),
    ],
)
def test_unknown_ports_are_clear_errors(
    cluster: Cluster, to: str, port: int | str | None, protocol: Protocol | None, message: str
) -> None:
    compiled = compile_policies(cluster.policies)
    src = resolve_target("ui/ui-0", cluster)
    dst = resolve_target(to, cluster, "ui")
    with pytest.raises(TargetError) as info:
        check(compiled, cluster, src, dst, port, protocol)
    assert message in str(info.value)


def test_without_port_a_service_is_checked_on_every_port(cluster: Cluster) -> None:
    compiled = compile_policies(cluster.policies)
    src = resolve_target("ui/ui-0", cluster)
    dst = resolve_target("kube-system/svc/kube-dns", cluster)
    report = check(compiled, cluster, src, dst, None, None)
    ports = sorted(
        {(d.connection.port, d.connection.protocol.value) for d in report.steps[0].decisions}
    )
    assert ports == [(53, "TCP"), (53, "UDP"), (9153, "TCP")]
    assert report.verdict is Verdict.ALLOWED


def test_named_service_port_maps_to_target_port(cluster: Cluster) -> None:
    compiled = compile_policies(cluster.policies)
    src = resolve_target("ui/ui-0", cluster)
    dst = resolve_target("catalog/svc/catalog", cluster)
    report = check(compiled, cluster, src, dst, "http", None)
    assert [d.connection.port for d in report.steps[0].decisions] == [8080]


def test_a_replaced_cluster_has_its_own_indexes(cluster: Cluster) -> None:
    """dataclasses.replace builds new lookups: no pod listed twice, none stale."""
    import dataclasses

    ui = [p for p in cluster.pods if p.namespace == "ui"]
    fewer = dataclasses.replace(cluster, pods=tuple(p for p in cluster.pods if p not in ui))
    same = dataclasses.replace(cluster, policies=())
    assert list(same.pods_in("ui")) == ui == list(cluster.pods_in("ui"))
    assert list(fewer.pods_in("ui")) == [] and fewer.pod("ui", ui[0].name) is None
    assert cluster.pod("ui", ui[0].name) == ui[0]
    for c in (cluster, same, fewer):
        for ns in {p.namespace for p in c.pods}:
            assert list(c.pods_in(ns)) == [p for p in c.pods if p.namespace == ns]
