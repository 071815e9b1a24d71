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


def test_diff_in_one_family(tmp_path: Path) -> None:
    """Adding an IPv6 ipBlock to db's policy gains web → db over IPv6 only."""
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump_all([*PODS, POLICY]))
    both = json.loads(json.dumps(POLICY))
    both["spec"]["ingress"][0]["from"].append({"ipBlock": {"cidr": "fd00:1::/64"}})
    change = tmp_path / "change.yaml"
    change.write_text(yaml.safe_dump(both))
    gained = {}
    for family in ("4", "6"):
        done = run_cli("diff", "-f", str(base), "--apply", str(change), "--ip-family", family,
                       "-o", "json")  # fmt: skip
        assert done.code == 0, done.err
        changes = json.loads(done.out)["changes"]
        gained[family] = [(c["kind"], c["from"], c["to"]) for c in changes]
    assert gained == {"4": [], "6": [("gained", "shop/web", "shop/db")]}


def test_report_in_one_family() -> None:
    from netfence.analysis.report import report_data
    from netfence.compile import compile_policies
    from netfence.model.diagnostics import Source
    from netfence.parse import RawDocument, build_cluster

    docs = [RawDocument(Source("t", i + 1), o) for i, o in enumerate([*PODS, POLICY])]
    cluster = build_cluster(docs).cluster
    compiled = compile_policies(cluster.policies)
    names = [p.key for p in cluster.pods]  # shop/db, shop/web: one pod per group
    web, db = names.index("shop/web"), names.index("shop/db")
    for family, allowed in ((4, 1), (6, 0)):
        (cell,) = report_data(compiled, cluster, family).cells[(web, db)]
        assert (cell.allowed, cell.total) == (allowed, 1), family
