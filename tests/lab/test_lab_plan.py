"""The lab plan, kube-proxy table and build commands: pure, no root needed."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from tests.conftest import assert_golden as shared_assert_golden

from netfence.io.cluster import load_cluster
from netfence.lab.kubeproxy import ServiceEntry, kube_proxy_ruleset
from netfence.lab.plan import (
    LabPlan,
    ServerKind,
    ServerSpec,
    check_lab_id,
    file_name,
    interface_name,
    make_plan,
    node_netns,
    pod_netns,
    pod_servers,
    safe_name,
    server_kind,
    with_lab_nodes,
)
from netfence.lab.state import plan_from_json, plan_to_json
from netfence.lab.steps import build_commands, in_netns, netns_add
from netfence.model.cluster import Cluster, Namespace, Node, Pod, Service, ServicePort
from netfence.model.labels import Labels
from netfence.model.ports import ContainerPort, Protocol

SCENARIO = Path(__file__).resolve().parents[2] / "src" / "netfence" / "scenarios" / "eks-retail"
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(scope="module")
def eks() -> Cluster:
    return load_cluster([], [str(SCENARIO / "cluster")]).cluster


@pytest.fixture(scope="module")
def plan(eks: Cluster) -> LabPlan:
    return make_plan(eks, "nf1")


def assert_golden(name: str, text: str) -> None:
    shared_assert_golden(name, text, GOLDEN)


# --- topology ------------------------------------------------------------------------------


def test_eks_pods_spread_round_robin_over_two_nodes(plan: LabPlan) -> None:
    assert [(n.name, n.netns, n.address) for n in plan.nodes] == [
        ("node-a", "nf1_node-a", "198.51.100.1"),
        ("node-b", "nf1_node-b", "198.51.100.2"),
    ]
    assert {p.key: p.node for p in plan.pods} == {
        "carts/carts-0": "node-a",
        "carts/carts-dynamodb-0": "node-b",
        "catalog/catalog-0": "node-a",
        "catalog/catalog-mysql-0": "node-b",
        "checkout/checkout-0": "node-a",
        "checkout/checkout-redis-0": "node-b",
        "kube-system/coredns-0": "node-a",
        "kube-system/coredns-1": "node-b",
        "orders/orders-0": "node-a",
        "orders/orders-postgresql-0": "node-b",
        "ui/ui-0": "node-a",
    }


def test_pods_keep_their_model_addresses(eks: Cluster, plan: LabPlan) -> None:
    assert {p.key: p.ip for p in plan.pods} == {p.key: str(p.ips[0]) for p in eks.pods}


def test_names_are_prefixed_unique_and_short(plan: LabPlan) -> None:
    names = plan.netns_names()
    assert len(set(names)) == len(names) == 14
    assert all(n.startswith(("nf1-", "nf1_")) for n in names)
    assert plan.pod("ui/ui-0") is not None
    assert plan.pod("ui/ui-0").netns == "nf1-ui.ui-0"  # type: ignore[union-attr]
    assert plan.external.netns == "nf1-ext"
    for node in plan.nodes:
        interfaces = [p.host_if for p in plan.pods_on(node.name)] + [x.ifname for x in node.links]
        assert len(set(interfaces)) == len(interfaces)
        assert all(len(i) <= 15 for i in interfaces), interfaces
    mysql = plan.pod("catalog/catalog-mysql-0")
    assert mysql is not None and mysql.host_if == "v1-catalog-mysq"


def test_name_helpers_cannot_collide() -> None:
    # "_" is in no Kubernetes name, "." in no namespace name: kinds never meet.
    assert node_netns("nf1", "a.b") != pod_netns("nf1", "a", "b")
    long = pod_netns("nf1", "n" * 63, "p" * 200)
    assert len(long) <= 64 and long != pod_netns("nf1", "n" * 63, "p" * 199 + "q")
    assert interface_name("v12-", "a-very-long-pod-name") == "v12-a-very-long"
    with pytest.raises(ValueError):
        check_lab_id("NF-1")


def test_no_default_route_and_nothing_in_the_root_namespace(plan: LabPlan) -> None:
    assert [netns_add(n).argv for n in plan.netns_names()] == [
        ("ip", "netns", "add", n) for n in plan.netns_names()
    ]
    for command in build_commands(plan):
        assert command.argv[:2] == ("ip", "-n") or command.argv[:3] == ("ip", "netns", "exec")
        lines = (command.stdin or "").splitlines()
        assert not [line for line in lines if line.startswith("route add default")]
    routed = [ipaddress.ip_network(p) for p in plan.routed]
    assert not any(ipaddress.ip_address("192.0.2.1") in net for net in routed)
    assert plan.routed == ("10.244.0.0/24", "172.20.0.0/24", "198.51.100.0/24", "203.0.113.0/24")


def test_build_commands_golden(plan: LabPlan) -> None:
    commands = [*(netns_add(n) for n in plan.netns_names()), *build_commands(plan)]
    assert_golden("eks-lab-commands.txt", "\n".join(c.format() for c in commands) + "\n")


def test_pod_veths_carry_the_node_address_and_scope_link_routes(plan: LabPlan) -> None:
    node_a, node_a_addr = [
        c for c in build_commands(plan) if c.argv[:3] == ("ip", "-n", "nf1_node-a")
    ]
    assert "link add v5-ui-0 type veth peer name eth0 netns nf1-ui.ui-0" in (node_a.stdin or "")
    text = node_a_addr.stdin or ""
    assert "addr add 198.51.100.1/32 dev v5-ui-0" in text
    assert "route add 10.244.0.11/32 dev v5-ui-0 scope link" in text
    assert "route add 10.244.0.4/32 via 198.51.100.2 dev n1-node-b" in text  # mysql, node-b
    assert "addr add 203.0.113.1/24 dev ext0" in text


# --- what runs where -----------------------------------------------------------------------


def test_servers_per_pod(plan: LabPlan) -> None:
    servers = {p.key: [s.format() for s in p.servers] for p in plan.pods}
    assert servers["catalog/catalog-0"] == ["http:8080"]
    assert servers["catalog/catalog-mysql-0"] == ["tcp:3306"]
    assert servers["kube-system/coredns-0"] == ["dns:53", "tcp:9153"]
    assert servers["kube-system/coredns-1"] == ["dns:53", "tcp:9153"]
    assert [s.format() for s in plan.external.servers] == ["http:80"]


@pytest.mark.parametrize(
    ("port", "kind"),
    [
        (ContainerPort(8080, Protocol.TCP, "http"), ServerKind.HTTP),
        (ContainerPort(9000, Protocol.TCP, "web"), ServerKind.HTTP),
        (ContainerPort(9000, Protocol.TCP, "http-metrics"), ServerKind.HTTP),
        (ContainerPort(80, Protocol.TCP, None), ServerKind.HTTP),
        (ContainerPort(8080, Protocol.TCP, "anything"), ServerKind.HTTP),
        (ContainerPort(3306, Protocol.TCP, "mysql"), ServerKind.TCP),
        (ContainerPort(9153, Protocol.TCP, "metrics"), ServerKind.TCP),
        (ContainerPort(8080, Protocol.UDP, "http"), ServerKind.UDP),
        (ContainerPort(7777, Protocol.SCTP, None), ServerKind.SCTP),
    ],
)
def test_server_kind_rule(port: ContainerPort, kind: ServerKind) -> None:
    assert server_kind(port) is kind


def test_dns_replaces_its_port_and_duplicates_collapse() -> None:
    ports = [
        ContainerPort(53, Protocol.UDP, "dns"),
        ContainerPort(53, Protocol.TCP, "dns-tcp"),
        ContainerPort(9153, Protocol.TCP),
        ContainerPort(9153, Protocol.TCP, "again"),
        ContainerPort(53, Protocol.SCTP),
    ]
    assert [s.format() for s in pod_servers(ports, 53)] == ["dns:53", "tcp:9153", "sctp:53"]
    assert ServerSpec.parse("udp:5353") == ServerSpec(ServerKind.UDP, 5353)


def test_resolv_conf_is_kubelets(plan: LabPlan) -> None:
    ui = plan.pod("ui/ui-0")
    assert ui is not None
    assert ui.resolv_conf == (
        "search ui.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 172.20.0.10\n"
        "options ndots:5\n"
    )


def test_dns_records(plan: LabPlan) -> None:
    records = dict(plan.dns_records)
    assert records["catalog.catalog.svc.cluster.local"] == ("172.20.0.3",)
    assert records["kube-dns.kube-system.svc.cluster.local"] == ("172.20.0.10",)
    assert records["www.example.com"] == ("203.0.113.10",)
    assert plan.nameserver == "172.20.0.10"


def test_kube_proxy_golden(plan: LabPlan) -> None:
    assert_golden("eks-kube-proxy.nft", plan.kube_proxy)
    assert "172.20.0.3 . 80 : 10.244.0.3 . 8080" in plan.kube_proxy  # named targetPort http
    assert "numgen random mod 2 map { 0 : 10.244.0.7 . 53, 1 : 10.244.0.8 . 53 }" in (
        plan.kube_proxy
    )


def test_kube_proxy_without_services_is_still_valid_shape() -> None:
    text = kube_proxy_ruleset([], [])
    assert text.startswith("table ip nf-kube-proxy\ndelete table ip nf-kube-proxy\n")
    assert "elements" not in text
    entry = ServiceEntry(Protocol.TCP, "172.20.0.5", 80, ())
    assert "172.20.0.5 . 80" not in kube_proxy_ruleset([entry], [])  # no backends: no DNAT


# --- clusters that name nodes --------------------------------------------------------------


def _pod(ns: str, name: str, ip: str, node: str | None = None, host: bool = False) -> Pod:
    address = (ipaddress.ip_address(ip),)
    return Pod(ns, name, Labels.of({"app": name}), address, node=node, host_network=host)


def test_named_nodes_are_kept_and_padded_to_two() -> None:
    cluster = Cluster(
        (Namespace("default", Labels.of()),),
        (
            _pod("default", "a", "10.1.0.1", "worker-1"),
            _pod("default", "b", "10.1.0.2"),
            _pod("default", "c", "10.1.0.3"),
            _pod("default", "h", "10.0.0.9", "worker-1", host=True),
        ),
        nodes=(Node("worker-1", Labels.of(), (ipaddress.ip_address("10.0.0.9"),)),),
    )
    plan = make_plan(cluster, "t1")
    assert [(n.name, n.address) for n in plan.nodes] == [  # declared first, then padding
        ("worker-1", "10.0.0.9"),
        ("node-a", "198.51.100.1"),
    ]
    assert plan.external.node == "worker-1"
    assert {p.key: p.node for p in plan.pods} == {
        "default/a": "worker-1",
        "default/b": "worker-1",
        "default/c": "node-a",
    }
    assert any("default/h: hostNetwork" in note for note in plan.notes)
    assert any("kube-dns" in note for note in plan.notes)
    assert plan.nameserver is None
    assert "nameserver" not in plan.pods[0].resolv_conf


def test_with_lab_nodes_places_pods_without_touching_the_original(
    eks: Cluster, plan: LabPlan
) -> None:
    placed = with_lab_nodes(eks, plan)
    assert {p.key: p.node for p in placed.pods} == {p.key: p.node for p in plan.pods}
    assert [n.name for n in placed.nodes] == ["node-a", "node-b"]
    assert all(p.node is None for p in eks.pods)
    assert eks.pod("ui", "ui-0").node is None  # type: ignore[union-attr]
    assert placed.pod("ui", "ui-0").node == "node-a"  # type: ignore[union-attr]


def test_service_with_several_backends_and_named_target() -> None:
    pods = tuple(
        Pod("web", f"w-{i}", Labels.of({"app": "w"}), (ipaddress.ip_address(f"10.9.0.{i}"),),
            (ContainerPort(8000 + i, Protocol.TCP, "http"),))
        for i in (1, 2, 3)
    )  # fmt: skip
    svc = Service("web", "w", Labels.of({"app": "w"}), (ServicePort(80, "http"),),
                  (ipaddress.ip_address("172.30.0.7"),))  # fmt: skip
    plan = make_plan(Cluster((Namespace("web", Labels.of()),), pods, (svc,)), "t2")
    assert (
        "ip daddr 172.30.0.7 tcp dport 80 dnat to numgen random mod 3 map "
        "{ 0 : 10.9.0.1 . 8001, 1 : 10.9.0.2 . 8002, 2 : 10.9.0.3 . 8003 }" in plan.kube_proxy
    )


# --- state ---------------------------------------------------------------------------------


def test_plan_survives_json(plan: LabPlan) -> None:
    assert plan_from_json(plan_to_json(plan)) == plan


def test_plan_json_of_another_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        plan_from_json('{"format": 99, "plan": {}}')


def test_exec_wraps_with_private_resolv_conf() -> None:
    assert in_netns("nf1-ui.ui-0", ["curl", "x"], "/lab/resolv/nf1-ui.ui-0.conf") == (
        "ip", "netns", "exec", "nf1-ui.ui-0", "unshare", "-m", "sh", "-c",
        'mount --bind "$0" /etc/resolv.conf && exec "$@"',
        "/lab/resolv/nf1-ui.ui-0.conf", "curl", "x",
    )  # fmt: skip


# --- dual stack ----------------------------------------------------------------------------


def _dual(ns: str, name: str, ip: str, ip6: str, node: str | None = None) -> Pod:
    addresses = (ipaddress.ip_address(ip), ipaddress.ip_address(ip6))
    return Pod(ns, name, Labels.of({"app": name}), addresses, node=node)


def dual_stack_cluster() -> Cluster:
    web = Service(
        "default",
        "web",
        Labels.of({"app": "b"}),
        (ServicePort(80, 8080, Protocol.TCP, "http"),),
        (ipaddress.ip_address("172.20.0.5"), ipaddress.ip_address("fd00:20::5")),
    )
    return Cluster(
        (Namespace("default", Labels.of()),),
        (
            _dual("default", "a", "10.1.0.1", "fd00:10:1::1"),
            _dual("default", "b", "10.1.0.2", "fd00:10:1::2"),
            _pod("default", "v4", "10.1.0.3"),
        ),
        services=(web,),
    )


def test_an_ipv4_lab_keeps_ipv6_off(plan: LabPlan) -> None:
    assert not plan.dual_stack and plan.routed6 == ()
    assert all(n.address6 is None for n in plan.nodes) and plan.external.address6 is None
    text = "\n".join(c.format() for c in build_commands(plan))
    assert "disable_ipv6=1" in text and "disable_ipv6=0" not in text and "nodad" not in text


def test_a_pod_with_an_ipv6_address_makes_the_lab_dual_stack() -> None:
    plan = make_plan(dual_stack_cluster(), "t6")
    assert plan.dual_stack
    assert [(p.name, p.ip, p.ip6) for p in plan.pods] == [
        ("a", "10.1.0.1", "fd00:10:1::1"),
        ("b", "10.1.0.2", "fd00:10:1::2"),
        ("v4", "10.1.0.3", None),
    ]
    assert [n.address6 for n in plan.nodes] == ["2001:db8:0:1::1", "2001:db8:0:1::2"]
    assert plan.routed6 == (
        "2001:db8:0:1::/64",
        "2001:db8:0:2::/64",
        "fd00:10:1::/64",
        "fd00:20::/64",  # the IPv6 ClusterIP's
    )
    assert plan.external.address6 == "2001:db8:0:2::10"
    for prefix in plan.routed6:  # lab addresses only: documentation or unique-local ranges
        network = ipaddress.ip_network(prefix)
        assert network.subnet_of(ipaddress.ip_network("2001:db8::/32")) or network.is_private
    assert "table ip6 nf-antispoof" in plan.kube_proxy
    assert "table ip6 nf-kube-proxy6 {" in plan.kube_proxy
    assert "fd00:20::5 . 80 : fd00:10:1::2 . 8080" in plan.kube_proxy  # b, its IPv6
    assert "172.20.0.5 . 80 : 10.1.0.2 . 8080" in plan.kube_proxy
    records = dict(plan.dns_records)
    assert records["web.default.svc.cluster.local"] == ("172.20.0.5", "fd00:20::5")
    assert records["www.example.com"] == ("203.0.113.10", "2001:db8:0:2::10")
    assert plan_from_json(plan_to_json(plan)) == plan


def test_an_ipv4_lab_has_no_ipv6_services_or_records() -> None:
    cluster = dual_stack_cluster()
    v4 = Cluster(
        cluster.namespaces,
        tuple(_pod(p.namespace, p.name, str(p.ips[0])) for p in cluster.pods),
        services=cluster.services,
    )
    plan = make_plan(v4, "t4")
    assert "ip6" not in plan.kube_proxy and "fd00:20::5" not in plan.kube_proxy
    assert dict(plan.dns_records)["web.default.svc.cluster.local"] == ("172.20.0.5",)


def test_dual_stack_commands_mirror_the_ipv4_ones() -> None:
    plan = make_plan(dual_stack_cluster(), "t6")
    by_netns = {c.argv[2]: c.stdin or "" for c in build_commands(plan) if c.argv[1] == "-n"}
    a, b = plan.pod("default/a"), plan.pod("default/b")
    assert a is not None and b is not None
    node_a = plan.node(a.node)
    assert node_a is not None
    pod_lines = by_netns[a.netns].splitlines()
    assert "addr add fd00:10:1::1/128 dev eth0 nodad" in pod_lines
    assert f"route add {node_a.address6} dev eth0" in pod_lines
    assert f"route add fd00:10:1::/64 via {node_a.address6} dev eth0" in pod_lines
    assert not any(line.startswith("route add default") for line in pod_lines)
    node_lines = by_netns[node_a.netns].splitlines()
    assert f"addr add {node_a.address6}/128 dev {a.host_if} nodad" in node_lines
    assert f"route add fd00:10:1::1/128 dev {a.host_if}" in node_lines
    if b.node != a.node:
        link = next(link for link in node_a.links if link.peer == b.node)
        assert (
            f"route add fd00:10:1::2/128 via {link.peer_address6} dev {link.ifname}" in node_lines
        )
    sysctls = " ".join(" ".join(c.argv) for c in build_commands(plan) if "sysctl" in c.argv)
    assert "net.ipv6.conf.all.forwarding=1" in sysctls and "accept_dad=0" in sysctls


def test_a_declared_node_address_is_never_given_to_another_node() -> None:
    """worker-1 declares the first TEST-NET-2 address; worker-2, without one, gets the next."""
    cluster = Cluster(
        (Namespace("default", Labels.of()),),
        (_pod("default", "a", "10.1.0.1", "worker-2"),),
        nodes=(
            Node("worker-1", Labels.of(), (ipaddress.ip_address("198.51.100.1"),)),
            Node("worker-2", Labels.of(), ()),
        ),
    )
    plan = make_plan(cluster, "t1")
    assert [(n.name, n.address) for n in plan.nodes] == [
        ("worker-1", "198.51.100.1"),
        ("worker-2", "198.51.100.2"),
    ]


# --- names from user input (issue 9, L1) ----------------------------------------------------

HOSTILE = [
    "../../../../x/daemon",
    "/etc/passwd",
    "..",
    ".",
    ".hidden",
    "",
    "a/b",
    "a\x00b",
    "NODE-A",
    "nöde-ü",
    "\u2028line",
    "\ud800lone",
    "n" * 300,
    "a_b",
    "a b",
    "~x",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_safe_names_are_never_paths(name: str) -> None:
    for dots in (True, False):
        safe = safe_name(name, dots=dots)
        assert re.fullmatch(r"[a-z0-9][a-z0-9.-]*~[0-9a-f]{8}", safe), safe
        assert not safe.startswith(".") and "/" not in safe and len(safe) <= 64
        assert safe != name  # none of these is a valid Kubernetes name: all are mapped
        assert file_name(safe) == safe  # a safe name is a file name as it is
    for netns in (node_netns("nf1", name), pod_netns("nf1", name, name)):
        assert netns.startswith(("nf1_", "nf1-")) and "/" not in netns and len(netns) <= 64
    assert "/" not in file_name(name) and file_name(name) not in ("", ".", "..")


def test_safe_names_keep_valid_names_and_never_collide() -> None:
    valid = ["node-a", "ip-10-0-1-2.ec2.internal", "catalog-mysql-0", "a" * 64]
    assert [safe_name(v) for v in valid] == valid
    assert safe_name("ip-10-0-1-2.ec2.internal", dots=False) != "ip-10-0-1-2.ec2.internal"
    names = {*HOSTILE, *valid, "a-b", "a.b", "A-B", "a\\b", "a--b", "a~b"}
    assert len({safe_name(n) for n in names}) == len(names)
    nets = {pod_netns("nf1", ns, pod) for ns in ("a", "a.b", "A") for pod in ("b", "b.c", "B")}
    assert len(nets) == 9  # a namespace's dot no longer splits in two places


def test_a_plan_with_hostile_names_has_only_safe_namespace_names() -> None:
    pods = tuple(
        Pod(
            "ns" if i % 2 else "../ns",
            name,
            Labels.of({}),
            (ipaddress.ip_address(f"10.244.0.{i + 1}"),),
            node=name,
        )
        for i, name in enumerate(["../../../../x/daemon", "/abs", "..", "n" * 300])
    )
    plan = make_plan(Cluster((Namespace("ns", Labels.of({})),), pods), "nf1")
    names = plan.netns_names()
    assert len(set(names)) == len(names) == 2 * 4 + 1
    assert all(re.fullmatch(r"nf1[-_][a-z0-9.~-]+", n) and len(n) <= 64 for n in names)
