"""The whole-cluster analysis evaluates the cluster-wide tiers through the commands:
``matrix --summary`` (text and JSON) counts with them and lists no cluster-wide
kind as not evaluated (an ApplicationNetworkPolicy still is); ``diff --at-scale``
shows a change of a cluster-wide policy and of a NetworkPolicy under tiers."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from tests.cli.test_tiers_cli import CLUSTER, DENY_BLUE
from tests.conftest import run_cli

PASS_BLUE = {**DENY_BLUE, "spec": {**DENY_BLUE["spec"], "ingress": [  # type: ignore[dict-item]
    {"name": "pass-blue", "action": "Pass",
     "from": [{"namespaces": {"matchLabels": {"team": "blue"}}}]}]}}  # fmt: skip
WEB_FROM_RED_ONLY = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "web", "namespace": "red"},
    "spec": {"podSelector": {"matchLabels": {"app": "web"}},
             "ingress": [{"from": [{"podSelector": {}}]}]},
}  # fmt: skip
APPLICATION_POLICY = {
    "apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ApplicationNetworkPolicy",
    "metadata": {"name": "dns-out", "namespace": "blue"},
    "spec": {"podSelector": {}, "policyTypes": ["Egress"],
             "egress": [{"to": [{"domainNames": ["example.com"]}]}]},
}  # fmt: skip


def _write(path: Path, *objects: dict[str, object]) -> str:
    path.write_text(yaml.safe_dump_all([*CLUSTER, *objects]))
    return str(path)


def _allowed(out: str) -> dict[str, int]:
    data = json.loads(out)
    return {pc["protocol"]: pc["allowed_pairs"] for pc in data["port_classes"]}


def test_summary_counts_with_the_admin_tier(tmp_path: Path) -> None:
    path = _write(tmp_path / "all.yaml", DENY_BLUE)
    done = run_cli("matrix", "--summary", "-f", path, "-o", "json")
    assert done.code == 0, done.err
    data = json.loads(done.out)
    assert _allowed(done.out) == {"TCP": 1, "UDP": 1, "SCTP": 1}  # blue -> red denied
    assert "no-blue" not in json.dumps(data.get("input", {}))
    text = run_cli("matrix", "--summary", "-f", path, "--strict-input")
    assert text.code == 0, text.err
    assert "PARTIAL INPUT" not in text.out and "NOT evaluated" not in text.out
    assert "TCP 1-65535" in text.out and "50.0%" in text.out


def test_summary_with_pass_and_a_network_policy_below_it(tmp_path: Path) -> None:
    """Pass hands blue -> red to the NetworkPolicy, which allows red only."""
    path = _write(tmp_path / "all.yaml", PASS_BLUE, WEB_FROM_RED_ONLY)
    done = run_cli("matrix", "--summary", "-f", path, "-o", "json")
    assert done.code == 0, done.err
    assert _allowed(done.out) == {"TCP": 1, "UDP": 1, "SCTP": 1}
    assert json.loads(done.out)["ingress_isolated"] == 1


def test_summary_evaluates_an_application_network_policy_beside_the_tiers(tmp_path: Path) -> None:
    """Its names-only egress rule isolates blue's pods and allows no address: every
    egress pair from blue is denied, and the input is complete."""
    path = _write(tmp_path / "all.yaml", DENY_BLUE, APPLICATION_POLICY)
    done = run_cli("matrix", "--summary", "-o", "json", "-f", path, "--strict-input")
    assert done.code == 0, done.err
    assert "input" not in json.loads(done.out)
    engine = run_cli("check", "blue/client", "red/web", "--port", "80", "-f", path)
    assert engine.code == 1 and "ApplicationNetworkPolicy:blue/dns-out" in engine.out


def test_diff_at_scale_shows_a_cluster_wide_change(tmp_path: Path) -> None:
    base = _write(tmp_path / "base.yaml")
    change = tmp_path / "cnp.yaml"
    change.write_text(yaml.safe_dump(DENY_BLUE))
    done = run_cli("diff", "-f", base, "--apply", str(change), "--at-scale", "-o", "json")
    assert done.code == 0, done.err
    changes = json.loads(done.out)["changes"]
    assert [(c["kind"], c["from"], c["to"]) for c in changes] == [
        ("lost", "blue/client", "red/web")
    ]
    text = run_cli("diff", "-f", base, "--apply", str(change), "--at-scale")
    assert "ingress of red/web: [Admin ClusterNetworkPolicy/no-blue" in text.out


def test_diff_at_scale_shows_a_network_policy_change_under_a_pass(tmp_path: Path) -> None:
    base = _write(tmp_path / "base.yaml", PASS_BLUE)
    change = tmp_path / "np.yaml"
    change.write_text(yaml.safe_dump(WEB_FROM_RED_ONLY))
    done = run_cli("diff", "-f", base, "--apply", str(change), "--at-scale", "-o", "json")
    assert done.code == 0, done.err
    changes = json.loads(done.out)["changes"]
    assert [(c["kind"], c["from"], c["to"]) for c in changes] == [
        ("lost", "blue/client", "red/web")
    ]
