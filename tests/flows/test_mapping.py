"""Addresses to pods: every way an address can fail to name one pod is reported as
ambiguous, never attributed; and replies are told apart from new connections."""

from __future__ import annotations

import ipaddress

import pytest

import netfence
from netfence.analysis.flows import (
    AddressBook,
    Ambiguity,
    EndKind,
    Status,
    explain_flows,
    is_reply,
)
from netfence.model.flows import Flow, FlowEnd, FlowOrigin, NamedPod
from netfence.model.ports import Protocol

CLUSTER = """
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.0.2.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080, name: http}]}]}
status: {podIPs: [{ip: 10.1.0.1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: job-old, namespace: shop, labels: {app: job}}
spec: {containers: [{name: c, image: x}]}
status: {podIPs: [{ip: 10.1.0.2}]}  # a stale pod of an older read: two owners
---
apiVersion: v1
kind: Pod
metadata: {name: db-1, namespace: shop, labels: {app: db}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 5432}]}]}
status: {podIPs: [{ip: 10.1.0.2}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system, labels: {app: agent}}
spec: {hostNetwork: true, containers: [{name: c, image: x}]}
status: {podIPs: [{ip: 192.0.2.1}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {clusterIP: 10.96.0.5, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
"""


@pytest.fixture(scope="module")
def loaded() -> netfence.api.Loaded:
    return netfence.loads(CLUSTER, "cluster.yaml")


def _end(ip: str, port: int = 1234, pod: str | None = None) -> FlowEnd:
    named = NamedPod(*pod.split("/")) if pod else None
    return FlowEnd(ipaddress.ip_address(ip), port, named)


CASES = [
    # (end, kind, ambiguity, candidates)
    (_end("10.1.0.1"), EndKind.POD, None, ()),
    (_end("10.1.0.1", pod="shop/web-1"), EndKind.POD, None, ()),
    (_end("10.1.0.2"), EndKind.AMBIGUOUS, Ambiguity.TWO_PODS, ("shop/db-1", "shop/job-old")),
    (_end("10.1.0.2", pod="shop/db-1"), EndKind.AMBIGUOUS, Ambiguity.TWO_PODS, ("shop/db-1", "shop/job-old")),
    (_end("10.1.0.1", pod="shop/web-0"), EndKind.AMBIGUOUS, Ambiguity.REUSED, ("shop/web-1",)),
    (_end("10.1.0.9", pod="shop/web-0"), EndKind.AMBIGUOUS, Ambiguity.POD_GONE, ()),
    (_end("10.1.0.9", pod="shop/web-1"), EndKind.AMBIGUOUS, Ambiguity.MOVED, ("shop/web-1",)),
    (_end("10.1.0.9"), EndKind.AMBIGUOUS, Ambiguity.POD_RANGE, ()),
    (_end("10.96.0.5"), EndKind.AMBIGUOUS, Ambiguity.SERVICE_ADDRESS, ("shop/web",)),
    (_end("192.0.2.1"), EndKind.NODE, None, ()),
    (_end("192.0.2.1", pod="kube-system/agent"), EndKind.NODE, None, ()),
    (_end("203.0.113.7"), EndKind.EXTERNAL, None, ()),
]  # fmt: skip


@pytest.mark.parametrize(("end", "kind", "ambiguity", "candidates"), CASES)
def test_address_mapping(
    loaded: netfence.api.Loaded,
    end: FlowEnd,
    kind: EndKind,
    ambiguity: Ambiguity | None,
    candidates: tuple[str, ...],
) -> None:
    book = AddressBook(loaded.cluster, [ipaddress.ip_network("10.1.0.0/16")])
    mapped = book.map(end)
    assert (mapped.kind, mapped.ambiguity, mapped.candidates) == (kind, ambiguity, candidates)
    assert (mapped.pod is not None) == (kind is EndKind.POD)


def test_without_pod_ranges_an_unowned_address_is_outside(loaded: netfence.api.Loaded) -> None:
    assert AddressBook(loaded.cluster).map(_end("10.1.0.9")).kind is EndKind.EXTERNAL


def _flow(src: FlowEnd, dst: FlowEnd, reply: bool | None = None) -> Flow:
    return Flow(src, dst, Protocol.TCP, FlowOrigin("f", 1), reply=reply)


REPLIES = [
    # (src, dst, record's word, is reply, guessed)
    (_end("10.1.0.1", 40000), _end("10.1.0.2", 5432), True, True, False),
    (_end("203.0.113.7", 40000), _end("10.1.0.1", 8080), None, False, True),  # declared port
    (_end("10.1.0.1", 8080), _end("203.0.113.7", 40000), None, True, True),  # from a declared port
    (_end("203.0.113.7", 443), _end("10.1.0.1", 50000), None, True, True),  # ephemeral rule
    (_end("10.1.0.1", 50000), _end("203.0.113.7", 443), None, False, True),
]  # fmt: skip


@pytest.mark.parametrize(("src", "dst", "word", "reply", "guessed"), REPLIES)
def test_replies(
    loaded: netfence.api.Loaded,
    src: FlowEnd,
    dst: FlowEnd,
    word: bool | None,
    reply: bool,
    guessed: bool,
) -> None:
    book = AddressBook(loaded.cluster)
    assert is_reply(_flow(src, dst, word), book.map(src), book.map(dst)) == (reply, guessed)


def test_ambiguous_flows_are_not_explained(loaded: netfence.api.Loaded) -> None:
    flows = [
        _flow(_end("10.1.0.1", 40000), _end("10.1.0.2", 5432)),  # two pods own the destination
        _flow(_end("203.0.113.7", 40000), _end("10.1.0.1", 8080)),
    ]
    result = explain_flows(loaded.compiled, loaded.cluster, flows, AddressBook(loaded.cluster))
    assert [f.status for f in result.flows] == [Status.NOT_LOGGED, Status.AMBIGUOUS]
    assert result.flows[1].decision is None


def test_memo_fast_path_equals_the_engine_on_every_flow() -> None:
    """explain_flows' fast path (one decision per repeated connection) against the
    oracle (the engine asked for every flow), on the retail traffic in every
    format, with the workshop's final policies and the catalog/orders ones."""
    import os

    from tests.conftest import SCENARIO
    from tests.flows.retail_traffic import FIXTURES

    from netfence.parse.flows import read_flows

    here = os.getcwd()
    os.chdir(SCENARIO)
    try:
        states = [
            netfence.load(
                ["policies/default-deny.yaml", "policies/allow-ui-egress.yaml"], ["cluster"], "ui"
            ),
            netfence.load(
                [
                    "policies/allow-catalog-ingress-db.yaml",
                    "policies/allow-catalog-ingress-webservice.yaml",
                ],
                ["cluster"],
            ),
        ]
    finally:
        os.chdir(here)
    for state in states:
        book = AddressBook(state.cluster)
        for name, lines in FIXTURES.items():
            flows = read_flows("\n".join(lines() * 3), name).flows  # repeated: the memo is used
            fast = explain_flows(state.compiled, state.cluster, flows, book)
            slow = explain_flows(state.compiled, state.cluster, flows, book, memo=False)
            assert fast == slow
