"""What-if at scale equals the engine: every pod pair whose verdict changes on a
port class is found, and nothing else."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from tests.analysis.test_incremental import to_policy
from tests.analysis.test_scale_oracle import clusters, policy, scalar_allowed

from netfence.analysis.scale.incremental import IncrementalAnalysis
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.analysis.scale.whatif import whatif
from netfence.compile import compile_policies
from netfence.model.cluster import Cluster


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), st.lists(policy(200), min_size=1, max_size=2), st.booleans())
def test_whatif_equals_the_engine(
    cluster: Cluster, new: list[dict[str, Any]], delete_first: bool
) -> None:
    analysis = ClusterAnalysis(cluster, compile_policies(cluster.policies))
    changes = list({p.key: p for p in (to_policy(o) for o in new)}.values())
    deletions = [cluster.policies[0].key] if delete_first and cluster.policies else []
    found = whatif(IncrementalAnalysis(analysis), changes, deletions)
    event("incremental" if found is not None else "full rebuild")
    if found is None:
        return
    final = {p.key: p for p in cluster.policies if p.key not in deletions}
    final.update((p.key, p) for p in changes)
    after = dataclasses.replace(cluster, policies=tuple(final.values()))
    before_c, after_c = compile_policies(cluster.policies), compile_policies(after.policies)
    class_of = {pod.key: c for c, members in enumerate(analysis.table.members) for pod in members}
    changed = {(c.source, c.destination, c.port_class): c.allowed_after for c in found}
    for q, pc in enumerate(analysis.ports.classes):
        for src in cluster.pods:
            for dst in cluster.pods:
                if src is dst:
                    continue
                old = scalar_allowed(cluster, before_c, src, dst, pc.representative, pc.protocol)
                now = scalar_allowed(after, after_c, src, dst, pc.representative, pc.protocol)
                key = (class_of[src.key], class_of[dst.key], q)
                if old != now:
                    assert changed.get(key) is now, (src.key, dst.key, pc.format(), old, now)
                else:
                    assert key not in changed, (
                        src.key,
                        dst.key,
                        pc.format(),
                        "reported but unchanged",
                    )
