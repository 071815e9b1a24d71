"""The agent does not program the cluster-wide tiers yet: it says so, once per
change, and counts them for /metrics; it never drops what it enforces because of them."""

from __future__ import annotations

from pathlib import Path

import yaml
from tests.agent.test_agent import FakeApplier
from tests.agent.test_fail_closed import CLUSTER, DB, DENY, make

from netfence.agent.agent import Agent
from netfence.agent.sources import DirectorySource
from netfence.cli.agent import _health_handlers

CNP = yaml.safe_dump({
    "apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
    "metadata": {"name": "no-egress"},
    "spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}},
             "egress": [{"action": "Deny", "to": [{"networks": ["0.0.0.0/0"]}]}]},
})  # fmt: skip


def test_cluster_wide_policies_are_said_not_enforced(tmp_path: Path) -> None:
    root = make(tmp_path, cluster_yaml=CLUSTER, db_yaml=DB, deny_yaml=DENY, cnp_yaml=CNP)
    lines: list[str] = []
    agent = Agent(DirectorySource(root), FakeApplier(), log=lines.append)
    assert agent.sync().applied
    said = [line for line in lines if "NOT enforced" in line]
    assert said == [
        "warning: 1 cluster-wide policies are NOT enforced by this agent (AdminNetworkPolicy, "
        "BaselineAdminNetworkPolicy and ClusterNetworkPolicy are not programmed into nftables "
        "yet): ClusterNetworkPolicy/no-egress"
    ]
    assert agent.metrics.tiers_not_enforced == 1
    metrics = _health_handlers(agent, stall_seconds=60)["/metrics"]()[2]
    assert "netfence_agent_cluster_policies_not_enforced 1" in metrics
    agent.sync()
    assert len([line for line in lines if "NOT enforced" in line]) == 1  # said once
    (root / "cnp.yaml").unlink()
    agent.sync()
    assert agent.metrics.tiers_not_enforced == 0
