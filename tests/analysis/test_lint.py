"""Each lint check fires where it should, and stays quiet where a user would not agree."""

from __future__ import annotations

from typing import Any

import pytest

from netfence.analysis.lint import lint
from netfence.compile import compile_policies
from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster

BASE: list[dict[str, Any]] = [
    {"kind": "Namespace", "metadata": {"name": "shop", "labels": {"team": "red"}}},
    {"kind": "Namespace", "metadata": {"name": "kube-system"}},
    {"kind": "Pod", "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
     "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]}, "status": {"podIP": "10.1.0.1"}},
    {"kind": "Pod", "metadata": {"name": "db", "namespace": "shop", "labels": {"app": "db"}}, "status": {"podIP": "10.1.0.2"}},
    {"kind": "Pod", "metadata": {"name": "dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
     "spec": {"containers": [{"name": "c", "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]}]}, "status": {"podIP": "10.9.0.10"}},
    {"kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
     "spec": {"selector": {"k8s-app": "kube-dns"}, "ports": [{"port": 53, "protocol": "UDP"}], "clusterIP": "172.20.0.10"}},
    {"kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}], "clusterIP": "172.20.0.20"}},
]  # fmt: skip


def findings(
    *specs: dict[str, Any], base: list[dict[str, Any]] = BASE
) -> list[tuple[str, str | None]]:
    policies = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"p{i}", "namespace": "shop"},
            "spec": spec,
        }
        for i, spec in enumerate(specs)
    ]
    built = build_cluster(
        [RawDocument(Source("t", i), o) for i, o in enumerate([*base, *policies])]
    )
    assert not built.errors
    return [
        (f.check.id, f.field)
        for f in lint(built.cluster, compile_policies(built.cluster.policies))
        if f.check.id != "NF109"
    ]


DNS_ALLOWED = {
    "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
    "ports": [{"port": 53, "protocol": "UDP"}],
}


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ([{"podSelector": {}, "policyTypes": ["Egress"]}], [("NF101", "spec.policyTypes")]),
        # p1 isolates every pod for egress too: the deny-all p0 adds nothing (true, and said)
        ([{"podSelector": {}, "policyTypes": ["Egress"]}, {"podSelector": {}, "egress": [DNS_ALLOWED]}], [("NF110", None)]),
        ([{"podSelector": {"matchLabels": {"app": "wbe"}}}], [("NF102", "spec.podSelector")]),
        ([{"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "nope"}}}]}]}], [("NF102", "spec.ingress[0].from[0]")]),
        ([{"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"name": "kube-system"}}}]}]}],
         [("NF102", "spec.ingress[0].from[0].namespaceSelector"), ("NF103", "spec.ingress[0].from[0].namespaceSelector")]),
        ([{"podSelector": {}, "policyTypes": ["Egress"], "egress": [DNS_ALLOWED, {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}], [("NF104", "spec.egress[1].to[0].ipBlock.cidr")]),
        ([{"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": 80}]}]}], [("NF105", "spec.ingress[0].ports[0]")]),
        ([{"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": 8080}]}]}], []),
        ([{"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": "htpp"}]}]}], [("NF106", "spec.ingress[0].ports[0]")]),
        ([{"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"ports": [{"port": "http", "protocol": "UDP"}]}]}], [("NF106", "spec.ingress[0].ports[0]")]),
        ([{"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.1.0.0/16"}}]}]}], [("NF107", "spec.ingress[0].from[0].ipBlock.cidr")]),
        ([{"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "red"}}}, {"podSelector": {"matchLabels": {"app": "web"}}}]}]}],
         [("NF108", "spec.ingress[0]")]),
        ([{"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "red"}}, "podSelector": {"matchLabels": {"app": "web"}}}]}]}], []),
        ([{"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ports": [{"port": 8080}]}]},
          {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}], [("NF110", None)]),
        ([{"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]},
          {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}], [("NF107", "spec.ingress[0].from[0].ipBlock.cidr")]),
        ([{"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": {"matchLabels": {"app": "web"}}}]}]}],
         [("NF102", "spec.ingress[0].from[0]"), ("NF111", "spec.ingress[0].from[0]")]),
    ],
    ids=["dns-blocked", "dns-allowed-elsewhere", "target-typo", "peer-typo", "ns-label-missing", "world", "service-port", "target-port-ok",
         "named-typo", "named-wrong-protocol", "ipblock-pods", "split-peer", "one-peer-and", "shadowed", "not-shadowed-ipblock", "and-matches-nothing"],
)  # fmt: skip
def test_check_table(specs: list[dict[str, Any]], expected: list[tuple[str, str | None]]) -> None:
    assert findings(*specs) == expected


# shop/web with an IPv6 address as well; shop/db stays IPv4 only
DUAL_STACK = [
    {**o, "status": {"podIP": "10.1.0.1", "podIPs": [{"ip": "10.1.0.1"}, {"ip": "fd00:1::1"}]}}
    if o["metadata"]["name"] == "web" and o["kind"] == "Pod" else o
    for o in BASE
]  # fmt: skip
WEB = {"matchLabels": {"app": "web"}}
WORLD4, WORLD6 = {"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        ([{"podSelector": WEB, "policyTypes": ["Egress"], "egress": [DNS_ALLOWED, {"to": [WORLD4]}]}],
         [("NF104", "spec.egress[1].to[0].ipBlock.cidr"), ("NF112", "spec.egress[1].to[0].ipBlock.cidr")]),
        ([{"podSelector": WEB, "policyTypes": ["Egress"], "egress": [DNS_ALLOWED, {"to": [WORLD4, WORLD6]}]}],
         [("NF104", "spec.egress[1].to[0].ipBlock.cidr"), ("NF104", "spec.egress[1].to[1].ipBlock.cidr")]),
        ([{"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Egress"], "egress": [DNS_ALLOWED, {"to": [WORLD4]}]}],
         [("NF104", "spec.egress[1].to[0].ipBlock.cidr")]),
        ([{"podSelector": WEB, "ingress": [{"from": [{"ipBlock": {"cidr": "fd00:9::/64"}}]}]}],
         [("NF112", "spec.ingress[0].from[0].ipBlock.cidr")]),
        ([{"podSelector": WEB, "ingress": [{"from": [{"podSelector": {}}]}]}], []),
    ],
    ids=["world-v4-only", "world-both", "v4-only-pods", "v6-only-ingress", "no-ipblock"],
)  # fmt: skip
def test_ipblocks_of_one_family_in_a_dual_stack_cluster(
    specs: list[dict[str, Any]], expected: list[tuple[str, str | None]]
) -> None:
    assert findings(*specs, base=DUAL_STACK) == expected


def test_suggests_the_nearest_label() -> None:
    spec = {"podSelector": {"matchLabels": {"app": "wbe"}}}
    built = build_cluster(
        [
            RawDocument(Source("t", i), o)
            for i, o in enumerate(
                [
                    *BASE,
                    {
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "NetworkPolicy",
                        "metadata": {"name": "p", "namespace": "shop"},
                        "spec": spec,
                    },
                ]
            )
        ]
    )
    messages = [
        f.message
        for f in lint(built.cluster, compile_policies(built.cluster.policies))
        if f.check.id == "NF102"
    ]
    assert messages == ["spec.podSelector matches no pod (did you mean app=web?)"]


def test_no_default_deny_notices_namespaces_with_pods() -> None:
    built = build_cluster([RawDocument(Source("t", i), o) for i, o in enumerate(BASE)])
    found = [
        (f.check.id, f.obj.name if f.obj else None)
        for f in lint(built.cluster, compile_policies(()))
    ]
    assert found == [("NF109", "kube-system"), ("NF109", "shop")]
