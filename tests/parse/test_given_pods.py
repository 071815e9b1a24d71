"""Given pods stand for a workload (build.GivenPods) exactly as the obvious scan
over every pod says (the definition it indexes)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.model.cluster import Pod, WorkloadRef
from netfence.model.diagnostics import Source
from netfence.model.labels import Labels
from netfence.parse.build import GivenPods
from netfence.parse.documents import RawDocument
from netfence.parse.objects import PodTemplate, Workload

_REFS = st.sampled_from(
    [
        WorkloadRef("Deployment", "a"),
        WorkloadRef("StatefulSet", "a"),
        WorkloadRef("Deployment", "b"),
    ]
)
_LABELS = st.dictionaries(
    st.sampled_from(["app", "tier", "x"]), st.sampled_from(["", "web", "db"]), max_size=3
).map(Labels.of)
_PODS = st.builds(
    lambda ns, name, labels, ref: Pod(ns, name, labels, (), workload=ref),
    st.sampled_from(["a", "b"]),
    st.sampled_from(["p", "q"]),
    _LABELS,
    st.none() | _REFS,
)
_WORKLOADS = st.builds(
    lambda ns, ref, selector: Workload(
        ref,
        ns,
        1,
        selector,
        PodTemplate(Labels.of({}), (), False, None),
        RawDocument(Source("x", 1), {}),
    ),
    st.sampled_from(["a", "b"]),
    _REFS,
    st.none() | _LABELS,
)


def _scan(workload: Workload, pods: list[Pod]) -> bool:
    for pod in pods:
        if pod.namespace != workload.namespace:
            continue
        if pod.workload == workload.ref:
            return True
        selector = workload.selector
        if selector and all(pod.labels.get(k) == v for k, v in selector.items_):
            return True
    return False


@settings(max_examples=400, deadline=None)
@given(st.lists(_PODS, max_size=8), st.lists(_WORKLOADS, min_size=1, max_size=4))
def test_given_pods_stand_for_a_workload_as_the_scan_says(
    pods: list[Pod], workloads: list[Workload]
) -> None:
    index = GivenPods(pods)
    for workload in workloads:
        assert index.stand_for(workload) is _scan(workload, pods)
