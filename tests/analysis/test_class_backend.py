"""The class backend of the IR (analysis/scale/backend.py) against the IR's
one-pod-at-a-time backend (``selects``, ``port_matches``: what the engine asks),
on generated clusters with NetworkPolicies and cluster-wide tiers (dual-stack,
hostNetwork pods on labelled nodes, networks, nodes, named ports).

Every member pod of a class is asked, so the test also says that classes never
split what a selection tells apart."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from tests.analysis.test_scale_oracle import clusters
from tests.analysis.tier_strategies import replicated_cluster, with_tiers

from netfence.analysis.scale.backend import port_classes
from netfence.analysis.scale.classes import ANALYSIS_IP_VERSION
from netfence.analysis.scale.ports import PortClass
from netfence.analysis.scale.rules import named_port_classes
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.compile import compile_policies
from netfence.compile.compiled import CompiledPolicySet
from netfence.compile.ir import (
    EveryNamespace,
    NamesMatching,
    OwnNamespace,
    PeerEnd,
    PodsSelected,
    PortSelection,
    Selection,
    port_matches,
    selects,
)
from netfence.model.cluster import Cluster, Pod


def _selections(compiled: CompiledPolicySet) -> list[Selection]:
    """Every peer selection of every rule (names included), every tier subject."""
    found: list[Selection] = []
    for policy in compiled.policies:
        for rule in (*policy.ingress, *policy.egress):
            found += [m.selection for m in (*(rule.peers or ()), *rule.names)]
    for tier in (*compiled.tiers.admin, *compiled.tiers.baseline):
        found.append(tier.subject)
        for tier_rule in (*tier.ingress, *tier.egress):
            found += [m.selection for m in tier_rule.peers]
    return found


def _port_lists(compiled: CompiledPolicySet) -> list[list[PortSelection] | None]:
    found: list[list[PortSelection] | None] = []
    for policy in compiled.policies:
        for rule in (*policy.ingress, *policy.egress):
            found.append(None if rule.ports is None else [m.selection for m in rule.ports])
    for tier in (*compiled.tiers.admin, *compiled.tiers.baseline):
        for tier_rule in (*tier.ingress, *tier.egress):
            ports = tier_rule.ports
            found.append(None if ports is None else [m.selection for m in ports])
    return found


def _end(cluster: Cluster, pod: Pod) -> PeerEnd:
    """A pod as the engine sees it at the other end of an IPv4 connection made to
    its address (hostNetwork pods are no pod to selections)."""
    ip = pod.ip_of_version(ANALYSIS_IP_VERSION)
    node = None if ip is None else cluster.node_by_ip(ip)
    if pod.host_network:
        return PeerEnd(ip, None, {}, node)
    return PeerEnd(ip, pod, cluster.namespace_labels(pod.namespace), node)


def _probes(pc: PortClass, pod: Pod) -> set[int]:
    """The ports of a port class worth asking: its edges (numeric ranges never
    straddle them) and the pod's declared ports inside it (named ports)."""
    inside = {
        p.port
        for p in pod.ports
        if p.protocol is pc.protocol and any(lo <= p.port <= hi for lo, hi in pc.ranges)
    }
    return {pc.ranges[0][0], pc.ranges[-1][1], *inside}


def assert_backend_equals_one_pod_at_a_time(cluster: Cluster) -> None:
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    a = ClusterAnalysis(cluster, compiled)
    table = a.table
    ends = [[_end(cluster, pod) for pod in members] for members in table.members]
    every = [
        PodsSelected(EveryNamespace()),
        *(PodsSelected(OwnNamespace(n.name)) for n in cluster.namespaces),
    ]
    for selection in [*_selections(compiled), *every]:
        found = set(a.backend.classes(selection).tolist())
        for c, members in enumerate(ends):
            for end in members:
                assert selects(selection, end) == (c in found), (selection, c, end)
        if isinstance(selection, NamesMatching):
            assert not found
    for selections in _port_lists(compiled):
        numbers, named = port_classes(selections, a.ports)
        resolved = [named_port_classes(spec, table, a.ports) for spec in named]
        for q, pc in enumerate(a.ports.classes):
            for c, members in enumerate(table.members):
                covered = q in numbers or any(int(r[c]) == q for r in resolved)
                for pod in members:
                    for port in _probes(pc, pod):
                        asked = selections is None or any(
                            port_matches(s, port, pc.protocol, pod) for s in selections
                        )
                        assert asked == covered, (selections, pc, port, pod.name)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(clusters().flatmap(with_tiers))
def test_class_backend_equals_the_engine_backend_with_tiers(cluster: Cluster) -> None:
    assert_backend_equals_one_pod_at_a_time(cluster)


@SETTINGS
@given(replicated_cluster())
def test_class_backend_equals_the_engine_backend_on_replicas_and_addresses(
    cluster: Cluster,
) -> None:
    """Replicas that differ only by address (some dual-stack), hostNetwork pods on
    labelled nodes, a policy reading networks or nodes."""
    assert_backend_equals_one_pod_at_a_time(cluster)
