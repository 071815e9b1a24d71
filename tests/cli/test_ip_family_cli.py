"""`matrix --ip-family`: in a dual-stack cluster the families differ through ipBlocks."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from tests.conftest import run_cli

PODS = [
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
     "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
     "status": {"podIP": v4, "podIPs": [{"ip": v4}, {"ip": v6}]}}
    for name, v4, v6 in (("web", "10.1.0.1", "fd00:1::1"), ("db", "10.1.0.2", "fd00:1::2"))
]  # fmt: skip
# db accepts from the IPv4 pod network only: web reaches it over IPv4, not IPv6
POLICY = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "db-from-v4", "namespace": "shop"},
    "spec": {"podSelector": {"matchLabels": {"app": "db"}},
             "ingress": [{"from": [{"ipBlock": {"cidr": "10.1.0.0/16"}}]}]},
}  # fmt: skip


def cells(tmp_path: Path, *flags: str) -> dict[tuple[str, str], str]:
    manifests = tmp_path / "all.yaml"
    manifests.write_text(yaml.safe_dump_all([*PODS, POLICY]))
    done = run_cli("matrix", "-f", str(manifests), "-o", "json", *flags)
    assert done.code == 0, done.err
    data = json.loads(done.out)
    assert data["ip_family"] == (int(flags[-1]) if flags else None)
    return {(c["from"], c["to"]): c["state"] for c in data["cells"]}


def test_the_families_differ_through_an_ipblock(tmp_path: Path) -> None:
    default, v4, v6 = (
        cells(tmp_path),
        cells(tmp_path, "--ip-family", "4"),
        cells(tmp_path, "--ip-family", "6"),
    )
    assert default[("shop/web", "shop/db")] == v4[("shop/web", "shop/db")] == "all"
    assert v6[("shop/web", "shop/db")] == "no"
    assert (
        v6[("shop/db", "shop/web")] == v4[("shop/db", "shop/web")] == "all"
    )  # web is not isolated


def test_summary_refuses_ipv6(tmp_path: Path) -> None:
    manifests = tmp_path / "all.yaml"
    manifests.write_text(yaml.safe_dump_all([*PODS, POLICY]))
    done = run_cli("matrix", "-f", str(manifests), "--summary", "--ip-family", "6")
    assert done.code == 2 and "judges IPv4 connections only" in done.err
