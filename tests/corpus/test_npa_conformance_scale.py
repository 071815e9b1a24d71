"""The network-policy-api conformance corpus through the whole-cluster class analysis
(analysis/scale): every case, in each spelling, the IPv4 probes' whole tables (the
class analysis judges IPv4 connections, docs/scale.md; the engine replay covers
IPv6 too). A cell is the class matrix's verdict between the two pods' classes on
the probe's port class, never the engine's."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from tests.corpus.npa_conformance.convert import spellings
from tests.corpus.test_npa_conformance_corpus import Probe, case_cluster, replay
from tests.corpus.test_npa_conformance_engine import CASES, SPELLED

from netfence.analysis.scale.classes import ANALYSIS_IP_VERSION
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.model.ports import Protocol


class ScaleDecide:
    """``decide`` for the replay: one class analysis per list of policies, one class
    matrix per port class."""

    def __init__(self) -> None:
        self._policies: list[dict[str, Any]] | None = None
        self._analysis: ClusterAnalysis | None = None
        self._class_of: dict[str, int] = {}
        self._matrices: dict[int, npt.NDArray[np.bool_]] = {}

    def _analysed(self, policies: list[dict[str, Any]]) -> ClusterAnalysis:
        if self._analysis is None or self._policies is not policies:
            self._policies, self._analysis = policies, ClusterAnalysis(*case_cluster(policies))
            self._class_of = {
                pod.name: c for c, pods in enumerate(self._analysis.table.members) for pod in pods
            }
            self._matrices = {}
        return self._analysis

    def __call__(
        self, policies: list[dict[str, Any]], src: dict[str, Any], dst: dict[str, Any], probe: Probe
    ) -> bool:
        assert probe.family == ANALYSIS_IP_VERSION
        analysis = self._analysed(policies)
        q = analysis.ports.class_of(Protocol(probe.protocol), probe.port)
        matrix = self._matrices.get(q)
        if matrix is None:
            matrix = self._matrices[q] = analysis.class_matrix(q)
        s, d = self._class_of[src["metadata"]["name"]], self._class_of[dst["metadata"]["name"]]
        return bool(matrix[s, d])


def ipv4_only(case: dict[str, Any]) -> dict[str, Any]:
    return {**case, "probes": [p for p in case["probes"] if p["family"] == ANALYSIS_IP_VERSION]}


@pytest.mark.parametrize(("number", "spelling"), SPELLED, ids=[f"{n:03d}-{s}" for n, s in SPELLED])
def test_the_class_analysis_gives_the_whole_ipv4_table(number: int, spelling: str) -> None:
    case = ipv4_only(CASES[number])
    assert case["probes"], "every case probes IPv4"
    policies: list[dict[str, Any]] | str | None = None
    if spelling != "as-written":
        policies = spellings(case["policies"])[spelling]
        if isinstance(policies, str):
            pytest.skip(f"not expressible in this spelling: {policies}")
    mismatches = replay(case, ScaleDecide(), policies)
    assert not mismatches, "\n".join(str(m) for m in mismatches[:20])
