"""Issue 13's round trip, on real packets: the bundled retail app in the lab, its
real traffic recorded by the agents' audit mode, ``netfence generate`` from the
records, the result applied; then every observed flow still works and every
unobserved pod pair and port the lab serves is denied (e.g. ui → catalog-mysql).

Recording: a deny-all candidate per namespace is staged (``--candidates``), so
every new connection is a would-be deny, recorded with its pods; nothing is
enforced meanwhile (audit never drops)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.lab.test_lab_real import REASON, leftovers, processes_naming

from netfence.io.manifests import load_manifests
from netfence.io.scenarios import scenario_dir
from netfence.lab import enforce, lab
from netfence.lab.lab import LabPaths
from netfence.lab.plan import LabPlan
from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster
from netfence.parse.documents import parse_documents

pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
TIMEOUT = "3"
# (client workload, URL): the retail app's traffic (the list)
REQUESTS = [
    ("ui/deployment/ui", "http://catalog.catalog/health"),
    ("ui/deployment/ui", "http://carts.carts/health"),
    ("ui/deployment/ui", "http://checkout.checkout/health"),
    ("ui/deployment/ui", "http://orders.orders/health"),
    ("checkout/deployment/checkout", "http://orders.orders/health"),
    ("catalog/deployment/catalog", "telnet://catalog-mysql.catalog:3306"),
    ("carts/deployment/carts", "telnet://carts-dynamodb.carts:8000"),
    ("checkout/deployment/checkout", "telnet://checkout-redis.checkout:6379"),
    ("orders/deployment/orders", "telnet://orders-postgresql.orders:5432"),
]
TCP_KINDS = frozenset({"http", "tcp", "dns"})
APP_NAMESPACES = ("ui", "catalog", "carts", "checkout", "orders")

Running = tuple[Path, LabPlan]


def deny_all(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "record-everything", "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}  # fmt: skip


def documents(objects: list[dict[str, Any]]) -> list[RawDocument]:
    return [RawDocument(Source("roundtrip", i + 1), o) for i, o in enumerate(objects)]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    lab_dir = tmp_path_factory.mktemp("roundtrip") / "lab"
    app = load_manifests((), (str(scenario_dir("eks-retail") / "cluster"),)).documents
    cluster = build_cluster(app).cluster
    plan = lab.up(cluster, lab_dir)
    try:
        enforce.start(cluster, plan, (), lab_dir, audit=enforce.LabAudit())
        yield lab_dir, plan
    finally:
        lab.down(lab_dir)
        assert not leftovers(lab_dir, plan.lab_id)
        assert not processes_naming(f"{lab_dir}/"), "an agent (or its ulogd) outlived the lab"


def run_in(lab_dir: Path, plan: LabPlan, target: str, argv: list[str]) -> int:
    done = subprocess.run(
        lab.exec_argv(lab_dir, plan, target, argv), capture_output=True, timeout=60, check=False
    )
    return done.returncode


def netfence(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netfence", *args],
        capture_output=True, text=True, timeout=300, check=False, env=dict(os.environ),
    )  # fmt: skip


def probe(lab_dir: Path, plan: LabPlan, src: str, targets: list[str]) -> dict[str, bool]:
    argv = lab.python_argv("netfence.lab.probe", "--timeout", "1", *targets, lab_dir=lab_dir)
    done = subprocess.run(
        lab.exec_argv(lab_dir, plan, src, argv), capture_output=True, text=True, timeout=120
    )
    result: dict[str, bool] = json.loads(done.stdout)
    return result


def test_record_generate_apply_then_observed_flows_work_and_the_rest_is_denied(
    running: Running, tmp_path: Path
) -> None:
    lab_dir, plan = running
    paths = LabPaths(lab_dir)
    enforce.stage(documents([deny_all(ns) for ns in APP_NAMESPACES]), plan, lab_dir)
    for client, url in REQUESTS:  # telnet: connected, then idle until the time limit
        code = run_in(lab_dir, plan, client, ["sh", "-c", f"curl -sS --max-time {TIMEOUT} "
                                              f"{url} </dev/null >/dev/null"])  # fmt: skip
        assert code in (0, 28), (client, url, code)
    for pod in plan.pods:  # everyone to DNS
        if pod.namespace in APP_NAMESPACES:
            assert run_in(lab_dir, plan, pod.key, ["getent", "hosts", "ui.ui"]) == 0, pod.key
    records = tmp_path / "records.jsonl"
    lines = []
    for node in plan.nodes:
        lines += enforce.audit_log(paths, node.name).read_text().splitlines()
    records.write_text("\n".join(lines) + "\n")
    flows = [json.loads(line) for line in lines if '"netfence.flow"' in line]
    observed = {
        (f["src"]["pod"], f["dst"]["pod"], f["protocol"], f["dst"]["port"])
        for f in flows
        if f["src"]["pod"] and f["dst"]["pod"]
    }
    assert ("ui/ui-0", "catalog/catalog-0", "TCP", 8080) in observed, sorted(observed)
    dns = {o for o in observed if o[1].startswith("kube-system/")}
    assert len(observed - dns) == len(REQUESTS)  # one pod pair and port a request

    out = tmp_path / "generated.yaml"
    snapshot = str(paths.desired_dir / "cluster.json")
    made = netfence("generate", str(records), "-f", snapshot, "--out", str(out))
    assert made.returncode == 0, made.stderr + made.stdout
    generated = parse_documents(out.read_text(), str(out))
    enforce.stage((), plan, lab_dir)
    enforce.replace_all(generated, plan, lab_dir)
    for node in plan.nodes:
        argv = ["conntrack", "-F"]
        subprocess.run(lab.exec_argv(lab_dir, plan, f"node:{node.name}", argv), check=False,
                       capture_output=True)  # fmt: skip

    pods = {p.key: p for p in plan.pods}
    served = {
        (p.key, int(s.port)) for p in plan.pods for s in p.servers if s.kind.value in TCP_KINDS
    }
    wrong, probed = [], 0
    for src in (p for p in plan.pods if p.namespace in APP_NAMESPACES):
        targets = {
            f"tcp:{pods[dst].ip}:{port}": (dst, port) for dst, port in served if dst != src.key
        }
        result = probe(lab_dir, plan, src.key, sorted(targets))
        probed += len(result)
        for spec, ok in result.items():
            dst, port = targets[spec]
            expected = (src.key, dst, "TCP", port) in observed
            if dst.startswith("kube-system/") and port == 53:
                expected = True  # DNS egress is always kept, and kube-dns admits it
            if ok != expected:
                wrong.append(f"{src.key} -> {dst}:{port}: {'open' if ok else 'denied'}")
    assert not wrong, "\n".join(wrong) + "\n" + yaml.safe_dump([d.obj for d in generated])[:3000]
    assert probed > 100
    mysql = f"tcp:{pods['catalog/catalog-mysql-0'].ip}:3306"
    assert probe(lab_dir, plan, "ui/ui-0", [mysql]) == {mysql: False}
