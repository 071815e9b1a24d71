"""One rule for "does the name resolve" (engine.check.dns_verdict): a resolver asks
kube-dns over 53/UDP; 53/TCP only serves truncated answers. check and lint say the
same about a policy that allows DNS over UDP only."""

from __future__ import annotations

from pathlib import Path

import yaml

import netfence
from netfence.engine.check import Verdict
from netfence.io.scenarios import scenario_dir

SCENARIO = scenario_dir("eks-retail")
UDP_ONLY = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "dns-udp-and-catalog", "namespace": "ui"},
    "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
         "ports": [{"protocol": "UDP", "port": 53}]},
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "catalog"}}}]},
    ]},
}  # fmt: skip


def test_udp_only_dns_resolves_with_a_warning_in_check_and_lint(tmp_path: Path) -> None:
    policy = tmp_path / "udp-only.yaml"
    policy.write_text(yaml.safe_dump(UDP_ONLY))
    loaded = netfence.load([str(policy)], [str(SCENARIO / "cluster")])
    report = netfence.check(loaded, "ui/deployment/ui", "catalog.catalog", 80)
    dns = report.dns_step
    assert dns is not None and dns.verdict is Verdict.ALLOWED
    assert report.verdict is Verdict.ALLOWED
    assert any("53/TCP to kube-dns is denied" in n for n in dns.notes)
    text = netfence.explain(report)
    assert "does not resolve" not in text and "lint NF113" in text
    ids = {f.check.id for f in netfence.lint(loaded).findings if f.obj and f.obj.namespace == "ui"}
    assert "NF101" not in ids and "NF113" in ids


def test_no_dns_at_all_is_denied_in_both(tmp_path: Path) -> None:
    deny = str(SCENARIO / "policies" / "default-deny.yaml")
    loaded = netfence.load([deny], [str(SCENARIO / "cluster")], "ui")
    report = netfence.check(loaded, "ui/deployment/ui", "catalog.catalog", 80)
    assert report.dns_step is not None and report.dns_step.verdict is Verdict.DENIED
    assert not report.dns_step.notes
    assert "NF101" in {f.check.id for f in netfence.lint(loaded).findings}
