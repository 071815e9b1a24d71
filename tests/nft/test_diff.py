"""Incremental updates: old ruleset + update script == new ruleset, in a real nft."""

from __future__ import annotations

import random
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.lab.test_lab_differential import cluster_objects, documents, random_policies
from tests.nft.test_ruleset import needs_nft

from netfence.compile import compile_policies
from netfence.nft.compiler import node_ruleset
from netfence.nft.diff import update_script
from netfence.nft.model import Ruleset
from netfence.parse import build_cluster


def ruleset(seed: int) -> Ruleset:
    policies = random_policies(random.Random(seed))
    cluster = build_cluster(documents([*cluster_objects(), *policies])).cluster
    return node_ruleset(compile_policies(cluster.policies), cluster)


def test_identical_rulesets_need_no_update() -> None:
    assert update_script(ruleset(3), ruleset(3)) == ""


def test_another_table_needs_a_full_replace() -> None:
    import dataclasses

    assert update_script(ruleset(3), dataclasses.replace(ruleset(3), table="other")) is None


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"nf-diff-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def nft(netns: str, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        ["ip", "netns", "exec", netns, "nft", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def blocks(listing: str) -> dict[str, str]:
    """`nft list table` by object: creation order differs, content must not."""
    found = re.findall(r"^\t(set|map|chain) (\S+) \{\n(.*?)^\t\}", listing, re.S | re.M)
    return {f"{kind} {name}": body for kind, name, body in found}


@needs_nft
@pytest.mark.parametrize("pair", [(i, i + 1) for i in range(0, 24, 2)], ids=str)
def test_update_equals_full_load(netns: str, pair: tuple[int, int], tmp_path: Path) -> None:
    old, new = ruleset(pair[0]), ruleset(pair[1])
    nft(netns, "-f", "-", stdin=old.render())
    script = update_script(old, new)
    assert script is not None
    if script:
        nft(netns, "-f", "-", stdin=script)
    updated = blocks(nft(netns, "list", "table", "inet", "netfence"))
    nft(netns, "-f", "-", stdin=new.render())
    assert updated == blocks(nft(netns, "list", "table", "inet", "netfence"))


def web_policy(ports: list[dict[str, object]]) -> dict[str, object]:
    """Namespace y's pods isolated for ingress by one policy allowing ``ports``."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "y"},
        "spec": {"podSelector": {}, "ingress": [{"ports": ports}]},
    }


def ruleset_of(*policies: dict[str, object]) -> Ruleset:
    cluster = build_cluster(documents([*cluster_objects(), *policies])).cluster
    return node_ruleset(compile_policies(cluster.policies), cluster)


@needs_nft
def test_a_changed_policy_renames_its_chain_and_rewrites_no_map_element(netns: str) -> None:
    """The pods keep jumping to the same chain object: refilled, then renamed."""
    old, new = ruleset_of(web_policy([{"port": 80}])), ruleset_of(web_policy([{"port": 81}]))
    script = update_script(old, new)
    assert script is not None and "rename chain inet netfence in_set_" in script
    assert "element" not in script and "add chain" not in script
    nft(netns, "-f", "-", stdin=old.render())
    nft(netns, "-f", "-", stdin=script)
    updated = blocks(nft(netns, "list", "table", "inet", "netfence"))
    nft(netns, "-f", "-", stdin=new.render())
    assert updated == blocks(nft(netns, "list", "table", "inet", "netfence"))


def test_no_rename_when_the_pods_of_a_chain_split() -> None:
    """y/a gets a second policy while y/b and y/c keep one: y/a's element changes,
    the old chain stays for the others, nothing is renamed."""
    more = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "more", "namespace": "y"},
        "spec": {"podSelector": {"matchLabels": {"pod": "a"}}, "ingress": [{"ports": [{"port": 82, "protocol": "UDP"}]}]},
    }  # fmt: skip
    old = ruleset_of(web_policy([{"port": 80}]))
    script = update_script(old, ruleset_of(web_policy([{"port": 80}]), more))
    assert script is not None and "rename chain" not in script
    assert "10.244.0.21 : jump in_set_" in script


def tiered_ruleset(seed: int | None) -> Ruleset:
    """The differential test's tiered scenario ``seed`` (None: no policy at all)."""
    from tests.lab.test_lab_differential import tiered_scenario

    policies = [] if seed is None else tiered_scenario(seed)
    cluster = build_cluster(documents([*cluster_objects(), *policies])).cluster
    return node_ruleset(compile_policies(cluster.policies, cluster.cluster_policies), cluster)


def test_tiers_coming_or_going_replace_the_table() -> None:
    """The base chains gain (or lose) the Admin and Baseline lookups: a full replace
    (one transaction as well), never an update."""
    assert update_script(tiered_ruleset(None), tiered_ruleset(0)) is None
    assert update_script(tiered_ruleset(0), tiered_ruleset(None)) is None


@needs_nft
@pytest.mark.parametrize("pair", [*((i, i + 1) for i in range(0, 12, 2)), (3, 3)], ids=str)
def test_tiered_update_equals_full_load(netns: str, pair: tuple[int, int]) -> None:
    """Between tiered policy sets (tier chains and maps changed, NetworkPolicies
    too): old + update == new, in a real nft."""
    old, new = tiered_ruleset(pair[0]), tiered_ruleset(pair[1])
    nft(netns, "-f", "-", stdin=old.render())
    script = update_script(old, new)
    assert script is not None
    if script:
        nft(netns, "-f", "-", stdin=script)
    updated = blocks(nft(netns, "list", "table", "inet", "netfence"))
    nft(netns, "-f", "-", stdin=new.render())
    assert updated == blocks(nft(netns, "list", "table", "inet", "netfence"))
