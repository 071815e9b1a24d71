"""Addresses whose owner is in doubt fail closed: claimed by two live pods, or by a pod
the agent could not read (quarantined). Checked on the ruleset and in real nft."""

from __future__ import annotations

import ipaddress
import re
import shutil
import subprocess
import uuid

import pytest

from netfence.compile import compile_policies
from netfence.model.cluster import Cluster
from netfence.nft.compiler import node_ruleset
from netfence.parse import build_cluster, parse_documents

SHARED, OTHER, QUARANTINED = "10.9.0.1", "10.9.0.2", "10.9.0.3"


def pod(namespace: str, name: str, ip: str, app: str) -> str:
    # quoted: kubectl (and netfence) read a plain y as the boolean true
    return f"""---
kind: Pod
apiVersion: v1
metadata: {{name: "{name}", namespace: "{namespace}", labels: {{app: "{app}"}}}}
spec: {{containers: [{{name: c, ports: [{{name: http, containerPort: 8080}}]}}]}}
status: {{podIP: "{ip}"}}
"""


def policy(namespace: str, name: str, spec: str) -> str:
    return f"""---
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {{name: {name}, namespace: {namespace}}}
spec: {spec}
"""


PODS = (
    pod("a", "x", SHARED, "x")
    + pod("b", "y", SHARED, "y")  # a second live pod with x's address
    + pod("a", "z", OTHER, "z")
    + pod("c", "w", QUARANTINED, "w")
)
POLICIES = {
    # z accepts only pods labelled app=x in a: y (b) shares x's address, so not it
    "only x": policy("a", "z-from-x", "{podSelector: {matchLabels: {app: z}}, "
                     "ingress: [{from: [{podSelector: {matchLabels: {app: x}}}]}]}"),
    # z accepts every pod of every namespace: both claimants match
    "everyone": policy("a", "z-from-all", "{podSelector: {matchLabels: {app: z}}, "
                       "ingress: [{from: [{namespaceSelector: {}}]}]}"),
    # x itself allows everything: its address must still only deny
    "x allows all": policy("a", "x-open", "{podSelector: {matchLabels: {app: x}}, "
                           "ingress: [{}], egress: [{}]}"),
    # egress by named port to pods labelled app=x
    "named port": policy("a", "z-to-x", "{podSelector: {matchLabels: {app: z}}, "
                         "policyTypes: [Egress], egress: [{to: [{podSelector: "
                         "{matchLabels: {app: x}}}], ports: [{port: http}]}]}"),
}  # fmt: skip


def cluster_of(*policies: str) -> Cluster:
    built = build_cluster(parse_documents(PODS + "".join(POLICIES[p] for p in policies), "t"))
    assert not built.errors, built.errors
    return built.cluster


def ruleset(cluster: Cluster, quarantined: bool = False) -> str:
    extra = [(ipaddress.ip_address(QUARANTINED), None)] if quarantined else []
    return node_ruleset(compile_policies(cluster.policies), cluster, quarantined=extra).render()


def elements(text: str, map_name: str) -> list[str]:
    body = text.split(f"map {map_name} {{")[1].split("}")[0]
    return re.findall(r"([0-9a-f.:]+) : jump (\S+?),", body)


def chain(text: str, name: str) -> str:
    return text.split(f"chain {name} {{")[1].split("}")[0]


def address_sets(text: str) -> list[list[str]]:
    """The elements of every address set (``a4_``/``a6_``)."""
    return [
        [e.strip() for e in body.split(",") if e.strip()]
        for body in re.findall(r"set a[46]_\w+ \{[^}]*?elements = \{([^}]*)\}", text)
    ]


def in_peer_set(text: str, ip: str) -> list[bool]:
    """For each address set: does it hold ``ip`` (as an address, range or block)?"""
    address = ipaddress.ip_address(ip)

    def covers(element: str) -> bool:
        if "-" in element:
            low, high = element.split("-")
            return ipaddress.ip_address(low) <= address <= ipaddress.ip_address(high)
        return address in ipaddress.ip_network(element, strict=False)

    return [any(covers(e) for e in elements) for elements in address_sets(text)]


@pytest.mark.parametrize(
    ("policies", "shared_in_peer_set"),
    [(("only x",), False), (("everyone",), True), (("only x", "everyone"), True)],
)
def test_a_shared_address_is_a_peer_only_when_every_pod_claiming_it_matches(
    policies: tuple[str, ...], shared_in_peer_set: bool
) -> None:
    text = ruleset(cluster_of(*policies))
    assert any(in_peer_set(text, SHARED)) is shared_in_peer_set, text


def test_a_shared_address_dispatches_once_to_a_chain_that_only_denies() -> None:
    text = ruleset(cluster_of("x allows all", "only x"))
    for map_name in ("eg4", "in4"):
        shared = [(ip, target) for ip, target in elements(text, map_name) if ip == SHARED]
        assert len(shared) == 1, text  # never two elements with one key
        body = chain(text, shared[0][1])
        assert "accept" not in body and "counter drop" in body


def test_a_shared_address_gets_no_named_port_entry_unless_all_its_pods_match() -> None:
    text = ruleset(cluster_of("named port"))
    assert f"{SHARED} . tcp . 8080" not in text


def test_a_quarantined_address_only_denies_and_is_in_no_peer_set() -> None:
    text = ruleset(cluster_of("everyone"), quarantined=True)
    for map_name in ("eg4", "in4"):
        found = [t for ip, t in elements(text, map_name) if ip == QUARANTINED]
        assert len(found) == 1 and "accept" not in chain(text, found[0])
    assert address_sets(text) and not any(in_peer_set(text, QUARANTINED))
    assert all(in_peer_set(text, SHARED))  # the rest of the peers is still there


def _netns_ok() -> bool:
    return (
        shutil.which("nft") is not None
        and shutil.which("ip") is not None
        and (
            subprocess.run(["ip", "netns", "list"], capture_output=True, check=False).returncode
            == 0
        )
    )


@pytest.mark.skipif(not _netns_ok(), reason="needs root, ip netns and nft")
def test_in_real_nft_one_element_per_address_and_the_table_loads() -> None:
    name = f"nfx-shared-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        text = ruleset(cluster_of("x allows all", "only x", "everyone"), quarantined=True)
        subprocess.run(
            ["ip", "netns", "exec", name, "nft", "-f", "-"], input=text, text=True, check=True
        )
        for map_name in ("eg4", "in4"):
            listed = subprocess.run(
                ["ip", "netns", "exec", name, "nft", "list", "map", "inet", "netfence", map_name],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            assert listed.count(f"{SHARED} : jump") == 1
            assert listed.count(f"{QUARANTINED} : jump") == 1
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)
