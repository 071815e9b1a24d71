"""The audit table (nft/audit.py) against the engine: for generated clusters (with
and without the cluster-wide tiers), every connection's first packet, read by the
ruleset interpreter, is logged by a direction's base chain exactly when the engine
denies that direction, under an id whose entry equals the engine's explanation
(analysis.flows_record.direction_record); and no path through the table drops."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis.test_scale_oracle import clusters
from tests.analysis.tier_strategies import replicated_cluster, with_tiers
from tests.lab.test_lab_differential import (
    cluster_objects,
    documents,
    random_policies,
    tiered_scenario,
)
from tests.nft.ruleset_interpreter import Interpreter, Packet
from tests.nft.test_nft_tiers import conformance_cluster, conformance_numbers, ends, from_local_node
from tests.nft.test_ruleset import _nft_check, needs_nft

from netfence.agent.audit import direction_json
from netfence.analysis.flows_record import direction_record
from netfence.compile import compile_policies
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint
from netfence.nft.audit import PREFIX, AuditOptions, AuditTable, audit_table, entry_of_prefix
from netfence.parse import build_cluster

PORTS = (80, 81, 5432, 6000)


class AuditInterpreter(Interpreter):
    """The interpreter, knowing the audit table's one new form: ``<match> goto
    nfa_<id>`` (logged as ``<id>``, then accepted)."""

    def rule(self, rule: str, packet: Packet) -> str | None:
        words = rule.split()
        if len(words) >= 2 and words[-2] == "goto" and words[-1].startswith("nfa_"):
            matched = super().rule(" ".join([*words[:-2], "accept"]), packet)
            return None if matched is None else f"log {words[-1][len('nfa_') :]}"
        return super().rule(rule, packet)

    def logged(self, base: str, packet: Packet) -> str | None:
        """The id the base chain logs the packet under (None: accepted unlogged)."""
        for rule in self.chains[base].rules:
            if rule == "ct state established,related accept":
                continue
            words = rule.split()
            if {4: "ip", 6: "ip6"}[packet.family] != words[0]:
                continue
            address = packet.src if words[1] == "saddr" else packet.dst
            target = self.maps[words[3][1:]].get(address)
            if target is None:
                continue
            verdict = self.run(target.split()[1], packet)
            if verdict == "accept":
                return None
            if verdict is not None:
                assert verdict.startswith("log "), verdict
                return verdict.split()[1]
        return None


def never_drops(table: AuditTable) -> list[str]:
    """Rules that could end a packet: none may."""
    return [
        rule
        for chain in table.ruleset.chains
        for rule in chain.rules
        if "drop" in rule or "reject" in rule
    ]


def log_chains_say_their_id(table: AuditTable) -> list[str]:
    wrong = []
    for key in table.entries:
        chain = next(c for c in table.ruleset.chains if c.name == f"nfa_{key}")
        first, second = chain.rules
        prefix = first.split('log prefix "')[1].split('"')[0]
        if entry_of_prefix(prefix) != key or not prefix.startswith(PREFIX):
            wrong.append(first)
        if len(prefix.encode()) > 127 or not first.endswith("accept"):
            wrong.append(first)
        if second != 'counter name "audit_over_limit" accept':
            wrong.append(second)
    return wrong


def differences(cluster: Cluster) -> list[str]:
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    table = audit_table(compiled, cluster, None, AuditOptions())
    assert not never_drops(table) and not log_chains_say_their_id(table)
    interpreter = AuditInterpreter(table.ruleset)
    wrong = []
    for family in (4, 6):
        for (src_ip, src), (dst_ip, dst) in itertools.permutations(ends(cluster, family), 2):
            if (src is None and dst is None) or from_local_node(cluster, src_ip, dst):
                continue
            for protocol, port in itertools.product(Protocol, PORTS):
                conn = Connection(Endpoint(src_ip, src), Endpoint(dst_ip, dst), port, protocol)
                decision = evaluate(compiled, cluster, conn)
                packet = Packet(src_ip, dst_ip, protocol.value.lower(), port)
                for base, verdict in (
                    ("forward_egress", decision.egress),
                    ("forward_ingress", decision.ingress),
                ):
                    key = interpreter.logged(base, packet)
                    if verdict.allowed:
                        if key is not None:
                            wrong.append(f"{conn.format()} {base}: logged, engine allows")
                        continue
                    expected = direction_record(verdict)
                    if key is None:
                        wrong.append(f"{conn.format()} {base}: not logged, engine denies")
                    elif direction_json(table.entries[key]) != expected:
                        seen = direction_json(table.entries[key])
                        wrong.append(f"{conn.format()} {base}: {seen} != engine {expected}")
    return wrong


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_audit_table_logs_what_the_engine_denies_with_tiers(data: st.DataObject) -> None:
    cluster = data.draw(with_tiers(data.draw(clusters())))
    assert not differences(cluster)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_audit_table_logs_what_the_engine_denies(cluster: Cluster) -> None:
    assert not differences(cluster)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replicated_cluster())
def test_audit_table_dual_stack_nodes_and_networks(cluster: Cluster) -> None:
    assert not differences(cluster)


@pytest.mark.parametrize("seed", range(24))
def test_audit_table_on_the_lab_scenarios(seed: int) -> None:
    """The lab's differential generators (tests/lab/test_lab_differential.py)."""
    policies = random_policies(random.Random(seed)) if seed % 2 else tiered_scenario(seed)
    cluster = build_cluster(documents([*cluster_objects(), *policies])).cluster
    assert not differences(cluster)


def test_ids_are_stable_and_tables_deterministic() -> None:
    """An id names a deny by content: the same policies give the same ids and
    text; another cluster keeps the ids of the denies it shares."""
    cluster = build_cluster(documents([*cluster_objects(), *tiered_scenario(3)])).cluster
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    one = audit_table(compiled, cluster, None, AuditOptions())
    two = audit_table(compiled, cluster, None, AuditOptions())
    assert one.render() == two.render() and one.entries == two.entries and one.entries
    text = one.render()
    assert "limit audit_rate { rate 200/second burst 400 packets }" in text
    assert "priority filter - 20" in text and "priority filter - 15" in text


@needs_nft
@pytest.mark.parametrize("number", sorted(conformance_numbers())[::7], ids=str)
def test_nft_accepts_the_audit_table(number: int, tmp_path: Path) -> None:
    cluster = conformance_cluster(number)
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    text = "".join(
        audit_table(compiled, cluster, node, AuditOptions()).render() for node in (None, "node-1")
    )
    result = _nft_check(text, tmp_path)
    assert result.returncode == 0, result.stderr
