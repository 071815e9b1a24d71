"""``netfence lab test`` and ``netfence lab verify`` on the bundled EKS workshop
scenario, with real packets: docs/ci.md's lab commands as written, an expectation
that is false failing and one the lab cannot probe said so, and a policy the lab
enforces but the manifests do not have (``lab apply``) found by ``lab verify``,
exactly where the engine says it changes something. Root only; one lab for the
module, torn down even on failure."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.cli.test_ci_doc import ci_commands, policy_repository, run_line
from tests.lab.test_lab_real import REASON, leftovers

from netfence.cli.lab_verify import external_ports
from netfence.compile import compile_policies
from netfence.io.cluster import load_cluster
from netfence.lab.lab import load_plan
from netfence.probe.plan import Job, address_plan, pair_plan

pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")
MANIFESTS = "-k cluster -f policies -n ui"


def lab_lines(verb: str) -> list[str]:
    return [c for c in ci_commands() if c.startswith(f"netfence lab {verb}")]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """The policy repository of docs/ci.md, its lab up (by the doc's own command)."""
    directory = policy_repository(tmp_path_factory.mktemp("ci-repo"))
    env = {**os.environ, "NETFENCE_LAB_DIR": str(directory / "lab")}
    (up,) = lab_lines("up")
    done = run_line(up, directory, env)
    lab_id = next((w for w in done.stdout.split() if w.startswith("nf")), "")
    try:
        assert done.returncode == 0, done.stderr
        yield directory, env
    finally:
        for line in lab_lines("down"):
            run_line(line, directory, env)
        if lab_id:
            assert not leftovers(directory / "lab", lab_id)


def test_the_ci_doc_lab_commands_pass(repo: tuple[Path, dict[str, str]]) -> None:
    directory, env = repo
    (lab_test,) = lab_lines("test")
    done = run_line(lab_test, directory, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "6 passed, 0 failed, 0 not probed"
    (verify,) = lab_lines("verify")
    done = run_line(verify, directory, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 differ, 0 not probed" in done.stdout
    scope = done.stdout.splitlines()[0]
    assert scope.startswith("probed: each ordered pair of 11 pods on every port")
    assert "and 1024/TCP (no policy names it)" in scope
    assert scope.endswith("every pod to 203.0.113.10:80/TCP")


def test_a_false_expectation_fails_and_an_unprobed_one_never_passes(
    repo: tuple[Path, dict[str, str]],
) -> None:
    """ui reaching catalog through its Service, expected denied: FAIL, with the
    packets and the engine both saying allowed. ui to 198.51.100.7 (a documentation
    address no lab namespace has), expected denied as the engine says: NOT PROBED,
    not passed, and the run fails."""
    directory, env = repo
    items = yaml.safe_load((directory / "expectations.yaml").read_text())
    items += [
        {"name": "false", "from": "ui/deployment/ui", "to": "catalog.catalog", "port": 80,
         "allowed": False},
        {"name": "outside", "from": "ui/deployment/ui", "to": "198.51.100.7", "port": 80,
         "allowed": False},
    ]  # fmt: skip
    (directory / "more.yaml").write_text(yaml.safe_dump(items))
    done = run_line(f"netfence lab test more.yaml {MANIFESTS}", directory, env)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "6 passed, 1 failed, 1 not probed"
    (false,) = [line for line in lines if "(false)" in line]
    assert false.startswith("FAIL [6]")
    assert "expected denied, got allowed on real packets, engine allowed" in false
    (outside,) = [line for line in lines if "(outside)" in line]
    assert outside.startswith("NOT PROBED [7]")
    assert "engine denied" in outside
    assert "no lab namespace has the address 198.51.100.7" in done.stdout
    done = run_line(f"netfence lab test more.yaml {MANIFESTS} -o json", directory, env)
    data = json.loads(done.stdout)
    assert (data["passed"], data["failed"], data["not_probed"]) == (6, 1, 1)
    false_entry, outside_entry = data["results"][6], data["results"][7]
    assert (false_entry["ok"], false_entry["observed"], false_entry["engine_ok"]) == (
        False, "allowed", False,
    )  # fmt: skip
    assert false_entry["jobs"] and all(j["observed"] for j in false_entry["jobs"])
    assert (outside_entry["probed"], outside_entry["ok"], outside_entry["engine_ok"]) == (
        False, False, True,
    )  # fmt: skip


EXTRA = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "catalog-deny-ingress", "namespace": "catalog"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
}


def planned(directory: Path, lab_dir: Path, files: list[str]) -> tuple[Job, ...]:
    built = load_cluster(files, [str(directory / "cluster")], "ui")
    cluster = built.cluster
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    outside = external_ports(load_plan(lab_dir))
    return pair_plan(compiled, cluster) + address_plan(compiled, cluster, outside)


def test_lab_verify_finds_a_policy_the_manifests_do_not_have(
    repo: tuple[Path, dict[str, str]],
) -> None:
    """`lab apply` a default-deny ingress for catalog behind the manifests' back:
    `lab verify` on the manifests reports exactly the probes the engine allows
    without it and denies with it (packets denied), then agrees again once it is
    deleted."""
    directory, env = repo
    extra = directory / "extra.yaml"
    extra.write_text(yaml.safe_dump(EXTRA))
    applied = run_line(f"netfence lab apply -f {extra}", directory, env)
    assert applied.returncode == 0, applied.stderr
    try:
        done = run_line(f"netfence lab verify {MANIFESTS} -o json", directory, env)
        assert done.returncode == 1, done.stdout + done.stderr
        data = json.loads(done.stdout)
        found = {
            (d["from"], d["to"], d["port"], d["protocol"], d["family"]) for d in data["differences"]
        }
        policies = str(directory / "policies")
        before = planned(directory, directory / "lab", [policies])
        after = planned(directory, directory / "lab", [policies, str(extra)])
        wanted = {
            (a.source, a.destination, a.port, a.protocol.value, a.family)
            for a, b in zip(before, after, strict=True)
            if a.expected != b.expected
        }
        assert wanted and all(d["to"].startswith("catalog/") for d in data["differences"])
        assert found == wanted
        assert all(d["engine"] and not d["observed"] for d in data["differences"])
        text = run_line(f"netfence lab verify {MANIFESTS}", directory, env).stdout
        assert f"{len(wanted)} differ" in text and "DIFFERS " in text
    finally:
        deleted = run_line(f"netfence lab delete -f {extra}", directory, env)
        assert deleted.returncode == 0, deleted.stderr
    done = run_line(f"netfence lab verify {MANIFESTS}", directory, env)
    assert done.returncode == 0, done.stdout
