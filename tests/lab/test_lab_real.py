"""The lab for real: namespaces, veths, nftables DNAT, servers, DNS, curl. Root only.

Skipped (with the reason) without root, ``ip netns`` or the tools; set
NETFENCE_REQUIRE_LAB=1 (CI) to fail instead of skipping. Every lab is torn down by
a finalizer that also checks that nothing is left: no namespace, process, mount
or file, whether the tests passed or not.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from netfence.cli.lab import lab_group
from netfence.io.cluster import load_cluster
from netfence.io.netns import Completed
from netfence.lab import lab
from netfence.lab.plan import LabPlan, lab_prefixes
from netfence.model.cluster import Cluster

SCENARIO = Path(__file__).resolve().parents[2] / "src" / "netfence" / "scenarios" / "eks-retail"
TOOLS = {"ip": "iproute2", "nft": "nftables", "curl": "curl", "unshare": "util-linux"}
TOOLS |= {"getent": "libc-bin", "mount": "mount"}


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root"
    missing = [f"{tool} ({pkg})" for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        return f"missing tools: {', '.join(missing)}"
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return f"ip netns unavailable: {probe.stderr.strip()}"
    return None


REASON = _unavailable()
if REASON and os.environ.get("NETFENCE_REQUIRE_LAB"):
    raise RuntimeError(f"NETFENCE_REQUIRE_LAB is set but {REASON}")
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def processes_naming(*markers: str) -> list[str]:
    """The running processes whose command line holds any of ``markers``."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                line = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if any(marker in line for marker in markers):
                found.append(f"process {proc.name}: {line}")
    return found


def leftovers(lab_dir: Path, lab_id: str) -> list[str]:
    """Anything of the lab still on the machine: its namespaces, processes (they
    name the lab), mounts and files. (Its agents, and their ulogd in audit mode,
    name its directory instead: ``processes_naming(f"{lab_dir}/")``.)"""
    found = []
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    found += [
        f"netns {line}" for line in listing.splitlines() if line.startswith(lab_prefixes(lab_id))
    ]
    found += processes_naming(f"--lab {lab_id} ")
    mounts = Path("/proc/self/mountinfo").read_text()
    found += [f"mount {m}" for m in mounts.split() if str(lab_dir) in m or f"/netns/{lab_id}" in m]
    if lab_dir.exists():
        found.append(f"files {sorted(str(p) for p in lab_dir.rglob('*'))}")
    return found


@pytest.fixture(scope="module")
def eks() -> Cluster:
    return load_cluster([], [str(SCENARIO / "cluster")]).cluster


@pytest.fixture(scope="module")
def eks_lab(
    eks: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, LabPlan]]:
    lab_dir = tmp_path_factory.mktemp("lab") / "eks"
    plan = lab.up(eks, lab_dir)  # on failure, up has taken down what it built
    try:
        yield lab_dir, plan
    finally:
        lab.down(lab_dir)
        assert leftovers(lab_dir, plan.lab_id) == []


def run(lab_dir: Path, target: str, *argv: str, timeout: float = 20) -> Completed:
    return lab.run_in(target, argv, lab_dir, timeout=timeout)


def test_catalog_health_through_dns_and_the_cluster_ip(eks_lab: tuple[Path, LabPlan]) -> None:
    lab_dir, _ = eks_lab
    done = run(
        lab_dir,
        "ui/deployment/ui",
        "curl",
        "-s",
        "http://catalog.catalog/health",
        "--connect-timeout",
        "5",
    )
    assert (done.returncode, done.stdout) == (0, "OK")


def test_mysql_greets_across_nodes(eks_lab: tuple[Path, LabPlan]) -> None:
    lab_dir, plan = eks_lab
    ui, mysql = plan.pod("ui/ui-0"), plan.pod("catalog/catalog-mysql-0")
    assert ui is not None and mysql is not None and ui.node != mysql.node
    done = run(
        lab_dir,
        "ui/ui-0",
        "sh",
        "-c",
        "curl -s telnet://catalog-mysql.catalog:3306 -m 3 </dev/null",
    )
    assert done.stdout.startswith("netfence-lab catalog/catalog-mysql-0 3306/TCP"), done
    direct = run(
        lab_dir, "ui/ui-0", "curl", "-s", f"http://{plan.pod('catalog/catalog-0').ip}:8080/health"
    )  # type: ignore[union-attr]
    assert direct.stdout == "OK"


def test_external_host_by_name_from_both_nodes(eks_lab: tuple[Path, LabPlan]) -> None:
    lab_dir, _ = eks_lab
    for target in ("ui/deployment/ui", "catalog/statefulset/catalog-mysql"):  # node-a, node-b
        done = run(
            lab_dir, target, "curl", "-s", "http://www.example.com", "--connect-timeout", "5"
        )
        assert (done.returncode, done.stdout) == (0, "netfence-lab www.example.com 80/TCP /\n")


def test_names_resolve_through_the_lab_dns(eks_lab: tuple[Path, LabPlan]) -> None:
    lab_dir, _ = eks_lab
    full = run(lab_dir, "ui/ui-0", "getent", "hosts", "catalog.catalog.svc.cluster.local")
    assert full.stdout.split() == ["172.20.0.3", "catalog.catalog.svc.cluster.local"]
    short = run(lab_dir, "ui/ui-0", "getent", "hosts", "catalog-mysql.catalog")  # search path
    assert short.stdout.split()[0] == "172.20.0.4"
    started = time.monotonic()
    missing = run(lab_dir, "ui/ui-0", "getent", "hosts", "nothing.example.org")
    assert missing.returncode == 2 and time.monotonic() - started < 2  # NXDOMAIN, promptly


def test_a_pod_reaches_itself_through_its_service(eks_lab: tuple[Path, LabPlan]) -> None:
    lab_dir, _ = eks_lab
    done = run(lab_dir, "ui/ui-0", "curl", "-s", "http://ui.ui/health", "--connect-timeout", "5")
    assert done.stdout == "OK"  # hairpin masquerade


def test_no_route_leaves_the_lab(eks_lab: tuple[Path, LabPlan]) -> None:
    _, plan = eks_lab
    for netns in (
        plan.nodes[0].netns,
        plan.nodes[1].netns,
        plan.pods[0].netns,
        plan.external.netns,
    ):
        done = subprocess.run(
            ["ip", "-n", netns, "route", "get", "192.0.2.1"], capture_output=True, text=True
        )
        assert done.returncode != 0 and "unreachable" in done.stderr, (netns, done)
        routes = subprocess.run(["ip", "-n", netns, "route"], capture_output=True, text=True).stdout
        assert "default" not in routes


def test_cli_status_and_exec_exit_code(eks_lab: tuple[Path, LabPlan]) -> None:
    lab_dir, plan = eks_lab
    cli = CliRunner()
    status = cli.invoke(lab_group, ["status", "--lab-dir", str(lab_dir), "-o", "json"])
    data = json.loads(status.output)
    assert status.exit_code == 0 and data["up"] and data["lab_id"] == plan.lab_id
    assert len(data["processes"]) == 12 and all(p["alive"] for p in data["processes"])
    done = cli.invoke(
        lab_group, ["exec", "--lab-dir", str(lab_dir), "ui/ui-0", "--", "sh", "-c", "exit 7"]
    )
    assert done.exit_code == 7


def test_a_second_lab_coexists_and_up_over_a_stale_one_cleans_it(
    eks: Cluster, eks_lab: tuple[Path, LabPlan], tmp_path: Path
) -> None:
    lab_dir = tmp_path / "second"
    try:
        first = lab.up(eks, lab_dir)
        assert first.lab_id != eks_lab[1].lab_id
        (lab_dir / "plan.json").unlink()  # lose the plan: the record still knows the lab
        second = lab.up(eks, lab_dir)
        assert second.lab_id != first.lab_id  # a new lab, a new id
        gone = [x for x in leftovers(lab_dir, first.lab_id) if not x.startswith("files")]
        assert gone == []  # its namespaces and processes; the directory is the new lab's
        done = run(lab_dir, "ui/ui-0", "curl", "-s", "http://catalog.catalog/health")
        assert done.stdout == "OK"
        assert (
            run(eks_lab[0], "ui/ui-0", "curl", "-s", "http://catalog.catalog/health").stdout == "OK"
        )
    finally:
        lab.down(lab_dir)
    assert leftovers(lab_dir, second.lab_id) == []


def test_apply_ruleset_loads_into_a_node(eks_lab: tuple[Path, LabPlan]) -> None:
    lab_dir, plan = eks_lab
    ruleset = (
        "table inet nf-test\ndelete table inet nf-test\ntable inet nf-test {\n  chain c { }\n}\n"
    )
    lab.apply_ruleset("node-b", ruleset, lab_dir)
    listed = subprocess.run(
        ["ip", "netns", "exec", plan.nodes[1].netns, "nft", "list", "tables"],
        capture_output=True,
        text=True,
    )
    assert "table inet nf-test" in listed.stdout
    lab.apply_ruleset("node-b", "delete table inet nf-test\n", lab_dir)
