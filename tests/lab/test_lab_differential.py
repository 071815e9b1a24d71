"""Differential test: the nftables dataplane in the lab against the engine.

One dual-stack lab (two nodes, six pods, so traffic crosses nodes); for each of a
few dozen generated policy sets, the real node agents enforce them, every pod
probes every other pod on real sockets (TCP 80, TCP 81, UDP 82, SCTP 83), over
IPv4 and over IPv6, and each result must equal the engine's verdict. The
kernel has no SCTP sockets, so SCTP is an INIT answered by INIT ACK on raw
sockets (netfence.lab.sctp): real SCTP packets through the nodes' conntrack and
rules all the same.
"""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.lab.test_lab_real import REASON, leftovers

from netfence.compile import compile_policies
from netfence.lab import enforce, lab
from netfence.lab.plan import LabPlan
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.model.ports import Protocol
from netfence.parse import RawDocument, build_cluster
from netfence.probe.compare import compare
from netfence.probe.plan import Job, pair_plan
from netfence.probe.runners import LabRunner

pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
SCENARIOS = 36
PODS = {
    "x/a": ("10.244.0.11", "fd00:10:244::11"),
    "x/b": ("10.244.0.12", "fd00:10:244::12"),
    "x/c": ("10.244.0.13", "fd00:10:244::13"),
    "y/a": ("10.244.0.21", "fd00:10:244::21"),
    "y/b": ("10.244.0.22", "fd00:10:244::22"),
    "y/c": ("10.244.0.23", "fd00:10:244::23"),
}
FAMILIES = (4, 6)
APPS = {"a": "front", "b": "back", "c": "back"}
PROBES = [
    ("tcp", 80, Protocol.TCP),
    ("tcp", 81, Protocol.TCP),
    ("udp", 82, Protocol.UDP),
    ("sctp", 83, Protocol.SCTP),
]


def cluster_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "x", "labels": {"team": "red"}},
        },
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "y", "labels": {"team": "blue"}},
        },
    ]
    for key, (ip, ip6) in PODS.items():
        ns, name = key.split("/")
        ports = [
            {"name": "web", "containerPort": 80},
            {"name": "alt", "containerPort": 81},
            {"name": "dgram", "containerPort": 82, "protocol": "UDP"},
            {"name": "assoc", "containerPort": 83, "protocol": "SCTP"},
        ]
        objects.append({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": {"pod": name, "app": APPS[name]}},
            "spec": {"containers": [{"name": "c", "ports": ports}]},
            "status": {"podIP": ip, "podIPs": [{"ip": ip}, {"ip": ip6}]},
        })  # fmt: skip
    return objects


def service_objects() -> list[dict[str, Any]]:
    """The lab's DNS (a kube-dns Service and its CoreDNS pod) and a dual-stack Service
    x/web over the app=back pods: the lab is built with them, the probes leave them be."""
    dns_ports = [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                 {"name": "dns-tcp", "containerPort": 53}]  # fmt: skip
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
         "spec": {"containers": [{"name": "coredns", "ports": dns_ports}]},
         "status": {"podIP": "10.244.0.53", "podIPs": [{"ip": "10.244.0.53"}, {"ip": "fd00:10:244::53"}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
         "spec": {"selector": {"k8s-app": "kube-dns"}, "clusterIP": "172.20.0.10",
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "targetPort": 53}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "x"},
         "spec": {"selector": {"app": "back"}, "clusterIPs": ["172.20.0.50", "fd00:20::50"],
                  "ports": [{"port": 80, "targetPort": "web"}]}},
    ]  # fmt: skip


def random_policies(rng: random.Random) -> list[dict[str, Any]]:
    def selector() -> dict[str, Any]:
        return rng.choice(
            [
                {},
                {"matchLabels": {"pod": rng.choice("abc")}},
                {"matchLabels": {"app": rng.choice(["front", "back"])}},
                {
                    "matchExpressions": [
                        {"key": "app", "operator": rng.choice(["In", "NotIn"]), "values": ["back"]}
                    ]
                },
            ]
        )

    def peer() -> dict[str, Any]:
        return rng.choice([
            {"podSelector": selector()},
            {"namespaceSelector": rng.choice([{}, {"matchLabels": {"team": rng.choice(["red", "blue"])}}, {"matchLabels": {"kubernetes.io/metadata.name": rng.choice("xy")}}])},
            {"namespaceSelector": {"matchLabels": {"team": rng.choice(["red", "blue"])}}, "podSelector": selector()},
            {"ipBlock": rng.choice([{"cidr": "10.244.0.0/24", "except": ["10.244.0.12/32", "10.244.0.20/30"]}, {"cidr": "10.244.0.21/32"}, {"cidr": "10.244.0.0/16"},
                                    {"cidr": "fd00:10:244::/64", "except": ["fd00:10:244::12/128", "fd00:10:244::20/126"]}, {"cidr": "fd00:10:244::21/128"}, {"cidr": "::/0"}])},
        ])  # fmt: skip

    def ports() -> list[dict[str, Any]] | None:
        return rng.choice([None, [{"port": 80}], [{"port": "alt"}], [{"port": 82, "protocol": "UDP"}], [{"port": 80, "endPort": 81}],
                           [{"port": "dgram", "protocol": "UDP"}, {"port": "web"}], [{"protocol": "UDP"}],
                           [{"port": 83, "protocol": "SCTP"}], [{"port": "assoc", "protocol": "SCTP"}, {"port": 81}], [{"protocol": "SCTP"}]])  # fmt: skip

    def rules(field: str) -> list[dict[str, Any]]:
        out = []
        for _ in range(rng.randint(0, 2)):
            rule: dict[str, Any] = {}
            if rng.random() < 0.8:
                rule[field] = [peer() for _ in range(rng.randint(1, 2))]
            chosen = ports()
            if chosen is not None:
                rule["ports"] = chosen
            out.append(rule)
        return out

    policies = []
    for i in range(rng.randint(1, 4)):
        spec: dict[str, Any] = {"podSelector": selector()}
        types = rng.choice([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]])
        if types:
            spec["policyTypes"] = types
        if rng.random() < 0.7:
            spec["ingress"] = rules("from")
        if rng.random() < 0.6 and types != ["Ingress"]:
            spec["egress"] = rules("to")
        policies.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": f"p{i}", "namespace": rng.choice("xy")},
                "spec": spec,
            }
        )
    return policies


TIERED_SCENARIOS = 14


def random_tier_policies(rng: random.Random) -> list[dict[str, Any]]:
    """1-3 ClusterNetworkPolicies (v1alpha2) in tiers Admin and Baseline: Accept,
    Deny and Pass; namespaces and pods peers both ways, networks egress; numbers,
    ranges and named ports on TCP, UDP and SCTP."""

    def namespaces() -> dict[str, Any]:
        return rng.choice([{}, {"matchLabels": {"team": rng.choice(["red", "blue"])}},
                           {"matchLabels": {"kubernetes.io/metadata.name": rng.choice("xy")}}])  # fmt: skip

    def pods() -> dict[str, Any]:
        chosen = rng.choice([{"matchLabels": {"pod": rng.choice("abc")}},
                             {"matchLabels": {"app": rng.choice(["front", "back"])}}, {}])  # fmt: skip
        return {"namespaceSelector": namespaces(), "podSelector": chosen}

    def peer(egress: bool) -> dict[str, Any]:
        choices: list[dict[str, Any]] = [{"namespaces": namespaces()}, {"pods": pods()}]
        if egress:
            choices.append({"networks": rng.choice([
                ["10.244.0.0/24"], ["10.244.0.21/32", "fd00:10:244::21/128"],
                ["fd00:10:244::/64"], ["10.244.0.8/29", "fd00:10:244::10/124"], ["0.0.0.0/0", "::/0"]])})  # fmt: skip
        return rng.choice(choices)

    def protocols(named: bool) -> list[dict[str, Any]] | None:
        choices: list[list[dict[str, Any]] | None] = [
            None, [{"tcp": {"destinationPort": {"number": 80}}}],
            [{"tcp": {"destinationPort": {"range": {"start": 80, "end": 81}}}}],
            [{"udp": {"destinationPort": {"number": 82}}}, {"sctp": {"destinationPort": {"number": 83}}}],
        ]  # fmt: skip
        if named:
            choices += [[{"destinationNamedPort": "web"}],
                        [{"destinationNamedPort": rng.choice(["dgram", "assoc"])}]]  # fmt: skip
        return rng.choice(choices)

    policies = []
    for i in range(rng.randint(1, 3)):
        tier = rng.choice(["Admin", "Admin", "Baseline"])
        spec: dict[str, Any] = {
            "tier": tier, "priority": rng.randint(0, 3) * 10 + i,
            "subject": rng.choice([{"namespaces": namespaces()}, {"pods": pods()}]),
        }  # fmt: skip
        for direction, field in (("ingress", "from"), ("egress", "to")):
            rules = []
            for r in range(rng.randint(0, 3)):
                peers = [peer(direction == "egress") for _ in range(rng.randint(1, 2))]
                actions = ["Accept", "Deny", "Pass"] if tier == "Admin" else ["Accept", "Deny"]
                rule: dict[str, Any] = {
                    "name": f"r{r}",
                    "action": rng.choice(actions),
                    field: peers,
                }
                chosen = protocols(named=not any("networks" in p for p in peers))
                if chosen is not None:
                    rule["protocols"] = chosen
                rules.append(rule)
            if rules:
                spec[direction] = rules
        policies.append({
            "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
            "metadata": {"name": f"t{i}"}, "spec": spec,
        })  # fmt: skip
    return policies


def tiered_scenario(seed: int) -> list[dict[str, Any]]:
    """Cluster-wide policies, and NetworkPolicies in half of the scenarios (the tier
    between Admin and Baseline)."""
    rng = random.Random(1000 + seed)
    tiers = random_tier_policies(rng)
    return tiers + (random_policies(rng) if seed % 2 else [])


def documents(objects: list[dict[str, Any]]) -> list[RawDocument]:
    return [RawDocument(Source("differential", i + 1), o) for i, o in enumerate(objects)]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, LabPlan, Cluster]]:
    lab_dir = tmp_path_factory.mktemp("differential") / "lab"
    cluster = build_cluster(documents([*cluster_objects(), *service_objects()])).cluster
    plan = lab.up(cluster, lab_dir)
    try:
        enforce.start(cluster, plan, (), lab_dir)
        yield lab_dir, plan, cluster
    finally:
        lab.down(lab_dir)
        assert not leftovers(lab_dir, plan.lab_id)


Probe = tuple[str, str, str, int, int]  # source, destination, protocol, port, family
PORTS = [(port, protocol) for _, port, protocol in PROBES]


def planned(cluster: Cluster) -> tuple[Job, ...]:
    """Every pod to every other pod, on every probed port, over both families."""
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    return pair_plan(compiled, cluster, pods=PODS, ports=PORTS, families=FAMILIES)


def engine_verdicts(cluster: Cluster) -> dict[Probe, bool]:
    return {
        (j.source, j.destination, j.protocol.value.lower(), j.port, j.family): j.expected
        for j in planned(cluster)
    }


def test_a_dual_stack_service_answers_by_name_over_both_families(
    running: tuple[Path, LabPlan, Cluster],
) -> None:
    """Real curl in x/a: web.x resolves (A and AAAA, the lab DNS) and its ClusterIP
    of each family is translated to a backend of that family."""
    lab_dir, plan, _ = running
    enforce.replace_all((), plan, lab_dir)
    for flag in ("-4", "-6"):
        curl = ["curl", "-s", flag, "--connect-timeout", "5", "http://web.x/health"]
        done = subprocess.run(
            lab.exec_argv(lab_dir, plan, "x/a", curl), capture_output=True, text=True
        )
        assert (done.returncode, done.stdout) == (0, "OK"), (flag, done)


def test_status_shows_both_families(running: tuple[Path, LabPlan, Cluster]) -> None:
    from click.testing import CliRunner

    from netfence.cli.lab import lab_group

    lab_dir, plan, _ = running
    cli = CliRunner()
    done = cli.invoke(lab_group, ["status", "--lab-dir", str(lab_dir), "-o", "json"])
    data = json.loads(done.output)
    assert done.exit_code == 0 and data["up"]
    pods = {p["pod"]: (p["ip"], p["ip6"]) for p in data["pods"]}
    assert pods["x/a"] == PODS["x/a"]
    assert all(n["address6"] for n in data["nodes"])
    text = cli.invoke(lab_group, ["status", "--lab-dir", str(lab_dir)]).output
    assert "fd00:10:244::11" in text and plan.external.address6 in text


def test_no_ipv6_route_leaves_the_lab(running: tuple[Path, LabPlan, Cluster]) -> None:
    """Dual stack adds no way out: no IPv6 default route, outside addresses unreachable."""
    _, plan, _ = running
    for netns in plan.netns_names():
        done = subprocess.run(
            ["ip", "-n", netns, "-6", "route", "get", "2001:4860::1"],
            capture_output=True,
            text=True,
        )
        assert done.returncode != 0 and "unreachable" in done.stderr, (netns, done)
        routes = subprocess.run(["ip", "-n", netns, "-6", "route"], capture_output=True, text=True)
        assert "default" not in routes.stdout


@pytest.mark.parametrize("seed", range(SCENARIOS))
def test_dataplane_equals_engine(running: tuple[Path, LabPlan, Cluster], seed: int) -> None:
    check_scenario(running, random_policies(random.Random(seed)))


@pytest.mark.parametrize("seed", range(TIERED_SCENARIOS))
def test_dataplane_equals_engine_with_tiers(
    running: tuple[Path, LabPlan, Cluster], seed: int
) -> None:
    """Generated Admin and Baseline ClusterNetworkPolicies (with NetworkPolicies in
    half of them): real packets, both families, TCP/UDP/SCTP, equal the engine."""
    check_scenario(running, tiered_scenario(seed))


def check_scenario(running: tuple[Path, LabPlan, Cluster], policies: list[dict[str, Any]]) -> None:
    """The agents enforce ``policies``; every planned job, on real packets, equals
    the engine (probe/: plan, the lab runner, compare)."""
    lab_dir, plan, _ = running
    cluster = build_cluster(documents([*cluster_objects(), *policies])).cluster
    enforce.replace_all(documents(policies), plan, lab_dir)
    jobs = planned(cluster)
    report = compare(jobs, LabRunner(lab_dir, plan).run(jobs))
    assert len(jobs) == len(PODS) * (len(PODS) - 1) * len(FAMILIES) * len(PROBES)
    assert not report.not_probed, report.why_not_probed()
    wrong = sorted(f"{c.job.format()}: engine {c.job.expected}" for c in report.differences)
    assert not wrong, (
        f"{len(wrong)} of {len(jobs)} probes differ for policies {json.dumps(policies)}:\n"
        + "\n".join(wrong)
    )
