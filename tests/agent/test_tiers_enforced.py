"""The agent enforces the cluster-wide tiers; the ``domainNames`` peers it cannot
enforce (the dataplane sees addresses, not names) it says, once per change, and
counts for /metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from tests.agent.test_agent import FakeApplier
from tests.agent.test_fail_closed import CLUSTER, DB, DENY, make

from netfence.agent.agent import Agent
from netfence.agent.sources import DirectorySource
from netfence.cli.agent import _health_handlers


def cnp(egress: list[dict[str, Any]]) -> str:
    return yaml.safe_dump({
        "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
        "metadata": {"name": "no-egress"},
        "spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}}, "egress": egress},
    })  # fmt: skip


DENY_OUT = {"name": "out", "action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}
TO_NAMES = {"name": "names", "action": "Accept", "to": [{"domainNames": ["*.example.com"]}]}


def said(lines: list[str]) -> list[str]:
    return [line for line in lines if "NOT enforced" in line]


def test_cluster_wide_policies_are_programmed(tmp_path: Path) -> None:
    root = make(
        tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY, cnp_yaml=cnp([DENY_OUT])
    )
    lines: list[str] = []
    applier = FakeApplier()
    agent = Agent(DirectorySource(root), applier, log=lines.append)
    assert agent.sync().applied
    assert not said(lines)
    assert agent.metrics.rules_not_enforced == 0
    ruleset = applier.applied[-1]
    assert "ip saddr vmap @adm_eg4" in ruleset
    assert (
        "ip daddr @a4_" in ruleset
        and 'comment "Admin Egress: ClusterNetworkPolicy/no-egress"' in ruleset
    )


def test_domain_names_peers_are_said_not_enforced(tmp_path: Path) -> None:
    root = make(
        tmp_path,
        cluster_yaml=CLUSTER,
        db_yaml=DB,
        deny_yaml=DENY,
        cnp_yaml=cnp([TO_NAMES, DENY_OUT]),
    )
    lines: list[str] = []
    agent = Agent(DirectorySource(root), FakeApplier(), log=lines.append)
    assert agent.sync().applied
    assert said(lines) == [
        "warning: 1 rule(s) are NOT enforced in part: their "
        "domainNames peers are left out (nftables sees addresses, not the names connections "
        "were made to; the rest of each policy is enforced): "
        "ClusterNetworkPolicy/no-egress spec.egress[0]"
    ]
    assert agent.metrics.rules_not_enforced == 1
    metrics = _health_handlers(agent, stall_seconds=60)["/metrics"]()[2]
    assert "netfence_agent_rules_not_enforced 1" in metrics
    agent.sync()
    assert len(said(lines)) == 1  # said once
    (root / "cnp.yaml").unlink()
    agent.sync()
    assert agent.metrics.rules_not_enforced == 0


def test_an_invalid_cluster_wide_policy_keeps_its_last_good_version(tmp_path: Path) -> None:
    """An edit the API server would refuse (priority 5000) never drops what the
    policy enforced: its last good version stands in for it; a policy never valid
    is said NOT enforced."""
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, cnp_yaml=cnp([DENY_OUT]))
    lines: list[str] = []
    applier = FakeApplier()
    agent = Agent(DirectorySource(root), applier, log=lines.append)
    agent.sync()
    enforced = applier.applied[-1]
    assert "Admin Egress: ClusterNetworkPolicy/no-egress" in enforced
    broken = yaml.safe_load((root / "cnp.yaml").read_text())
    broken["spec"]["priority"] = 5000
    (root / "cnp.yaml").write_text(yaml.safe_dump(broken))
    report = agent.sync()
    assert not report.applied  # the same ruleset: the last good version stands in
    assert agent.state is not None and agent.state.model.render() == enforced
    assert any("kept its last good version" in line for line in lines)
    fresh_lines: list[str] = []
    fresh = Agent(DirectorySource(root), FakeApplier(), log=fresh_lines.append)
    fresh.sync()  # no last good version: said, and the rest enforced
    assert any("never valid: NOT enforced" in line for line in fresh_lines)
    assert fresh.state is not None and "adm_eg_" not in fresh.state.model.render()


def application_policy(names: list[str]) -> str:
    return yaml.safe_dump({
        "apiVersion": "networking.k8s.aws/v1alpha1", "kind": "ApplicationNetworkPolicy",
        "metadata": {"name": "to-names", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                 "egress": [{"to": [{"domainNames": names}]}, {"ports": [{"port": 53, "protocol": "UDP"}]}]},
    })  # fmt: skip


def test_an_application_network_policy_is_enforced_but_its_names(tmp_path: Path) -> None:
    """EKS ApplicationNetworkPolicy: a NetworkPolicy of the same tier (its pods are
    isolated, its address rules programmed); its domainNames rules are said, on a
    full sync and on the fast syncs that add, change or remove it."""
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY)
    lines: list[str] = []
    applier = FakeApplier()
    agent = Agent(DirectorySource(root), applier, log=lines.append)
    assert agent.sync().applied and agent.metrics.rules_not_enforced == 0
    (root / "anp.yaml").write_text(application_policy(["*.example.com"]))
    agent.sync()
    assert agent.metrics.rules_not_enforced == 1
    assert said(lines)[-1].endswith("ApplicationNetworkPolicy:shop/to-names spec.egress[0]")
    assert "meta l4proto udp th dport 53 accept" in applier.applied[-1]  # its address rule
    (root / "anp.yaml").write_text(
        application_policy(["*.example.com"]).replace("to-names", "other")
    )
    agent.sync()
    assert said(lines)[-1].endswith("ApplicationNetworkPolicy:shop/other spec.egress[0]")
    assert agent.metrics.rules_not_enforced == 1
    (root / "anp.yaml").unlink()
    agent.sync()
    assert agent.metrics.rules_not_enforced == 0
