"""lint/dns: the DNS verdict remembered per kind of source pod equals the engine
asked for every pod (the oracle), on synthetic clusters with and without ingress
ipBlock peers (where the source address itself matters)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from bench.synth import generate

from netfence.analysis.lint import dns
from netfence.compile import compile_policies
from netfence.model.diagnostics import Source
from netfence.parse.build import build_cluster
from netfence.parse.documents import RawDocument


def _documents(objects: list[dict[str, Any]]) -> list[RawDocument]:
    return [RawDocument(Source("synth.json", i), o) for i, o in enumerate(objects)]


def _with_ingress_blocks(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """kube-dns admits only part of the pod network by ipBlock."""
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "dns-from-some", "namespace": "kube-system"},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.244.0.0/23"}}]}],
        },
    }
    return [*json.loads(json.dumps(objects)), policy]


@pytest.mark.parametrize("seed", [1, 2, 5])
@pytest.mark.parametrize("ingress_blocks", [False, True])
def test_remembered_verdicts_equal_the_engine_per_pod(
    monkeypatch: pytest.MonkeyPatch, seed: int, ingress_blocks: bool
) -> None:
    objects = generate(600, 80, seed)
    if ingress_blocks:
        objects = _with_ingress_blocks(objects)
    cluster = build_cluster(_documents(objects)).cluster
    compiled = compile_policies(cluster.policies)
    remembered = list(dns.dns_findings(cluster, compiled))
    monkeypatch.setattr(
        dns._SourceVerdicts,
        "allowed",
        lambda self, pod, backends: dns._allowed(compiled, cluster, pod, backends),
    )
    assert remembered == list(dns.dns_findings(cluster, compiled))
