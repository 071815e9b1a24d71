"""The cluster-wide tiers through the commands: evaluated by the engine (check, test,
matrix, diff, lint) and by the whole-cluster analysis (matrix --summary, diff
--at-scale: tests/cli/test_scale_tiers_cli.py), and said NOT enforced by the agent."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from tests.conftest import run_cli

CLUSTER = [
    *({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {"team": n}}}
      for n in ("red", "blue")),
    *({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
       "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080, "name": "http"}]}]},
       "status": {"podIP": ip}}
      for name, ns, ip in (("web", "red", "10.0.1.1"), ("client", "blue", "10.0.2.1"))),
]  # fmt: skip
DENY_BLUE = {
    "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
    "metadata": {"name": "no-blue"},
    "spec": {"tier": "Admin", "priority": 10,
             "subject": {"namespaces": {"matchLabels": {"team": "red"}}},
             "ingress": [{"name": "deny-blue", "action": "Deny",
                          "from": [{"namespaces": {"matchLabels": {"team": "blue"}}}]}]},
}  # fmt: skip


def _write(tmp_path: Path, *objects: dict[str, object]) -> str:
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all([*CLUSTER, *objects]))
    return str(path)


def test_check_evaluates_the_admin_tier_and_explains_it(tmp_path: Path) -> None:
    done = run_cli(
        "check", "blue/client", "red/web", "--port", "8080", "-f", _write(tmp_path, DENY_BLUE)
    )
    assert done.code == 1, done.err
    assert "blue/client -> red/web port 8080/TCP: DENIED\n" in done.out
    assert (
        'tiers: [Admin ClusterNetworkPolicy/no-blue priority 10 ingress[0] "deny-blue"] Deny'
        in done.out
    )
    assert "uncertain" not in done.out and "PARTIAL INPUT" not in done.out
    data = json.loads(run_cli("check", "blue/client", "red/web", "--port", "8080", "-o", "json",
                              "-f", _write(tmp_path, DENY_BLUE)).out)  # fmt: skip
    (decision,) = data["steps"][0]["decisions"]
    assert decision["ingress"]["outcome"] == "admin-deny"
    assert decision["ingress"]["tiers"][0]["rule"]["name"] == "deny-blue"


def test_matrix_table_evaluates_it(tmp_path: Path) -> None:
    done = run_cli("matrix", "-f", _write(tmp_path, DENY_BLUE), "-o", "json")
    cells = {
        (c["from"], c["to"]): (c["allowed"], c["total"]) for c in json.loads(done.out)["cells"]
    }
    assert cells[("blue/client", "red/web")] == (0, 1)
    assert cells[("red/web", "blue/client")] == (1, 1)


def test_diff_compares_pod_pairs_when_tiers_change(tmp_path: Path) -> None:
    before = tmp_path / "before"
    before.mkdir()
    base = _write(before)
    change = tmp_path / "cnp.yaml"
    change.write_text(yaml.safe_dump(DENY_BLUE))
    done = run_cli("diff", "-f", base, "--apply", str(change), "-o", "json")
    assert done.code == 0, done.err
    lost = [c for c in json.loads(done.out)["changes"] if c["kind"] == "lost"]
    assert [(c["from"], c["to"]) for c in lost] == [("blue/client", "red/web")]


def test_lint_reads_the_tiers(tmp_path: Path) -> None:
    shadowed = {**DENY_BLUE, "spec": {**DENY_BLUE["spec"], "ingress": [  # type: ignore[dict-item]
        {"name": "deny-all", "action": "Deny", "from": [{"namespaces": {}}]},
        {"name": "never", "action": "Accept", "from": [{"namespaces": {"matchLabels": {"team": "blue"}}}]},
    ]}}  # fmt: skip
    done = run_cli("lint", "-f", _write(tmp_path, shadowed), "-o", "json", "--fail-on", "never")
    ids = [(f["id"], f["field"]) for f in json.loads(done.out)["findings"]]
    assert ("NF201", "spec.ingress[1]") in ids
    assert not any(i == "NF114" for i, _ in ids)
