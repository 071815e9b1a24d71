"""The network-policy-api conformance corpus through netfence's engine: every case,
every probe, whole tables, in each spelling of the policies (v0.2.0 ``protocols``,
the pre-v0.2.0 ``ports`` schema, EKS ``networking.k8s.aws``; v0.1.8 cases as they
are). The manifests go through netfence's own parser and validation, as any input."""

from __future__ import annotations

from typing import Any

import pytest
from tests.corpus.npa_conformance.convert import spellings
from tests.corpus.test_npa_conformance_corpus import (
    PODS,
    Probe,
    case_cluster,
    model_documents,
    numbered,
    observe,
    probes_of,
    replay,
    side_by_side,
)

from netfence.compile.compiled import CompiledPolicySet
from netfence.engine.decision import Outcome
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint


class EngineDecide:
    """``decide`` for the replay: the model and the policies built once per list of
    policies (the replay passes the same list on every call)."""

    def __init__(self) -> None:
        self._built: dict[int, tuple[list[dict[str, Any]], Cluster, CompiledPolicySet]] = {}

    def _build(self, policies: list[dict[str, Any]]) -> tuple[Cluster, CompiledPolicySet]:
        found = self._built.get(id(policies))
        if found is None or found[0] is not policies:
            found = self._built[id(policies)] = (policies, *case_cluster(policies))
        return found[1], found[2]

    def __call__(
        self, policies: list[dict[str, Any]], src: dict[str, Any], dst: dict[str, Any], probe: Probe
    ) -> bool:
        cluster, compiled = self._build(policies)
        src_pod = cluster.pod(src["metadata"]["namespace"], src["metadata"]["name"])
        dst_pod = cluster.pod(dst["metadata"]["namespace"], dst["metadata"]["name"])
        assert src_pod is not None and dst_pod is not None
        src_ip, dst_ip = src_pod.ip_of_version(probe.family), dst_pod.ip_of_version(probe.family)
        conn = Connection(
            Endpoint(src_ip, src_pod),
            Endpoint(dst_ip, dst_pod),
            probe.port,
            Protocol(probe.protocol),
        )
        return evaluate(compiled, cluster, conn).allowed


# NetworkPolicySpec.ingress: traffic is allowed "if the traffic source is the pod's
# local node": in these cases a hostNetwork pod (centaur) reaches the
# NetworkPolicy-isolated pod on its node (engine/evaluate.py, Outcome.LOCAL_NODE).
LOCAL_NODE_CELLS = {("centaur-0", "harry-potter-0"), ("centaur-1", "harry-potter-1")}
LOCAL_NODE_CASES = {50, 51, 52, 53, 150, 151, 152, 153}

CASES = numbered()
SPELLED = [
    (number, spelling)
    for number, case in sorted(CASES.items())
    for spelling in (
        ("as-written",) if case["release"] == "v0.1.8" else ("protocols", "ports", "eks")
    )
]


@pytest.mark.parametrize("number", sorted(LOCAL_NODE_CASES))
def test_the_local_node_cells_are_allowed_by_the_pods_own_node(number: int) -> None:
    """The cells the local-node exception decides: expected allowed in the corpus,
    and allowed by the engine as LOCAL_NODE (not by some other rule)."""
    case = CASES[number]
    decide = EngineDecide()
    cluster, compiled = decide._build(case["policies"])
    for src, dst in LOCAL_NODE_CELLS:
        for probe in probes_of(case):
            row = probe.table[src]
            assert row[PODS.index(dst)] == "."
            s = cluster.pod(NAMESPACE_OF[src], src)
            d = cluster.pod(NAMESPACE_OF[dst], dst)
            assert s is not None and d is not None
            conn = Connection(
                Endpoint(s.ip_of_version(probe.family), s),
                Endpoint(d.ip_of_version(probe.family), d),
                probe.port,
                Protocol(probe.protocol),
            )
            assert evaluate(compiled, cluster, conn).ingress.outcome is Outcome.LOCAL_NODE


NAMESPACE_OF = {
    p["metadata"]["name"]: p["metadata"]["namespace"]
    for p in model_documents()
    if p["kind"] == "Pod"
}


@pytest.mark.parametrize(("number", "spelling"), SPELLED, ids=[f"{n:03d}-{s}" for n, s in SPELLED])
def test_the_engine_gives_the_whole_table(number: int, spelling: str) -> None:
    case = CASES[number]
    policies: list[dict[str, Any]] | str | None = None
    if spelling != "as-written":
        policies = spellings(case["policies"])[spelling]
        if isinstance(policies, str):
            pytest.skip(f"not expressible in this spelling: {policies}")
    decide = EngineDecide()
    mismatches = replay(case, decide, policies)
    if mismatches:
        tables = {p.label(): t for p, t in observe(case, decide, policies)}
        shown = "\n".join(
            f"{p.label()}:\n{side_by_side(p.table, tables[p.label()])}"
            for p in {m.probe.label(): m.probe for m in mismatches}.values()
        )
        pytest.fail(f"{len(mismatches)} cell(s) differ:\n{shown}")
