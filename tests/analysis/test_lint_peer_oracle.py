"""peer_matches_a_pod (namespaces first) equals the obvious scan of every selectable
pod, for every selector peer of generated clusters (namespace labels, hostNetwork
pods, peers with and without a namespaceSelector)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from tests.analysis.test_scale_oracle import clusters

from netfence.analysis.lint.checks import Context, peer_matches_a_pod
from netfence.compile import compile_policies
from netfence.compile.ir import PeerEnd
from netfence.model.cluster import Cluster


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_peer_matches_a_pod_equals_the_scan_of_every_pod(cluster: Cluster) -> None:
    compiled = compile_policies(cluster.policies)
    ctx = Context(cluster, compiled)
    for policy in compiled.policies:
        for rule in (*policy.ingress, *policy.egress):
            for m in rule.peers or ():
                if m.peer.ip_block is not None:
                    continue
                expected = any(
                    m.matches(PeerEnd(None, p, cluster.namespace_labels(p.namespace)))
                    for p in cluster.pods
                    if not p.host_network
                )
                assert peer_matches_a_pod(ctx, m) == expected, m.path
