"""Lint on a policy repository: no pods, no kube-dns; checks that need them are
skipped (and said so), NF101/NF113 are decided on described pods and the assumed
conventional kube-dns."""

from __future__ import annotations

from typing import Any

import pytest

from netfence.analysis.lint import lint_report
from netfence.compile import compile_policies
from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster


def report(*objects: dict[str, Any]) -> Any:
    built = build_cluster([RawDocument(Source("t", i), o) for i, o in enumerate(objects)])
    assert not built.errors
    return lint_report(built.cluster, compile_policies(built.cluster.policies))


def policy(name: str, spec: dict[str, Any], namespace: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def ids(*objects: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f.check.id, f.obj.name if f.obj else "") for f in report(*objects).findings]


KUBE_SYSTEM = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}
KUBE_DNS = {**KUBE_SYSTEM, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
UDP, TCP = {"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}
DENY_EGRESS = {"podSelector": {}, "policyTypes": ["Egress"]}
WEB = {"matchLabels": {"app": "web"}}


def dns_rule(*ports: dict[str, Any], peer: dict[str, Any] = KUBE_DNS) -> dict[str, Any]:
    return {"to": [peer], "ports": list(ports)}


@pytest.mark.parametrize(
    ("policies", "expected"),
    [
        ([policy("deny", DENY_EGRESS)], [("NF101", "deny")]),
        ([policy("deny", DENY_EGRESS), policy("dns", {"podSelector": {}, "egress": [dns_rule(UDP, TCP)]})], [("NF110", "deny")]),
        # the workshop's shape: the namespace's pods are the ones its policies name
        ([policy("deny", DENY_EGRESS), policy("web", {"podSelector": WEB, "policyTypes": ["Egress"], "egress": [{"to": [KUBE_SYSTEM]}]})], []),
        ([policy("web", {"podSelector": WEB, "policyTypes": ["Egress"], "egress": [{"to": [{"podSelector": {}}]}]})], [("NF101", "web")]),
        ([policy("deny", DENY_EGRESS), policy("web", {"podSelector": WEB, "egress": [dns_rule(UDP)]})], [("NF113", "deny")]),
        ([policy("deny", DENY_EGRESS), policy("web", {"podSelector": WEB, "egress": [dns_rule(TCP)]})], [("NF101", "deny")]),
        # a pod only the ingress policy names is still isolated by the default-deny
        ([policy("deny", DENY_EGRESS), policy("web", {"podSelector": WEB, "egress": [dns_rule(UDP, TCP)]}),
          policy("db", {"podSelector": {"matchLabels": {"app": "db"}}, "ingress": [{}]})], [("NF101", "deny")]),
        # matchExpressions: the described pod satisfies them (tier=web, track=any)
        ([policy("deny", {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]},
                                                               {"key": "track", "operator": "Exists"}]}, "policyTypes": ["Egress"]}),
          policy("dns", {"podSelector": {"matchLabels": {"tier": "web"}}, "egress": [dns_rule(UDP, TCP)]})], [("NF110", "deny")]),
        ([policy("deny", {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]},
                                                               {"key": "track", "operator": "DoesNotExist"}]}, "policyTypes": ["Egress"]}),
          policy("dns", {"podSelector": {"matchExpressions": [{"key": "track", "operator": "Exists"}]}, "egress": [dns_rule(UDP, TCP)]})],
         [("NF101", "deny")]),
        # a selector no pod can satisfy describes no pod
        ([policy("never", {"podSelector": {"matchLabels": {"a": "x"}, "matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["x"]}]},
                           "policyTypes": ["Egress"]})], []),
        # kube-dns addresses are unknown: an ipBlock that may hold them leaves it undecided
        ([policy("world", {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [UDP]}]})], []),
        ([policy("ipb", {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 5978}]}]})],
         [("NF101", "ipb")]),
    ],
    ids=["deny-alone", "deny-and-dns-for-all", "workshop-shape", "egress-without-dns", "udp-only", "tcp-only",
         "ingress-named-pod", "match-expressions-allowed", "match-expressions-denied", "unsatisfiable",
         "ipblock-may-cover-dns", "ipblock-other-port"],
)  # fmt: skip
def test_dns_without_cluster_state(
    policies: list[dict[str, Any]], expected: list[tuple[str, str]]
) -> None:
    assert ids(*policies) == expected


def test_dns_finding_says_what_it_assumed() -> None:
    (finding,) = report(policy("deny", DENY_EGRESS)).findings
    assert finding.field == "spec.policyTypes"
    assert finding.message == (
        "isolates a pod of shop without labels for egress and nothing allows DNS to kube-dns "
        "(no pods of shop in the input: judged for such a pod; kube-dns assumed, as none is in "
        "the input: the conventional pods k8s-app=kube-dns of kube-system serving 53/UDP and "
        "53/TCP)"
    )


KUBE_DNS_POD = {
    "kind": "Pod",
    "metadata": {"name": "coredns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
    "status": {"podIP": "10.9.0.10"},
}


def test_kube_dns_pods_of_the_input_are_used_when_there_is_no_service() -> None:
    """With the kube-dns pods in the input, an ipBlock holding their address decides."""
    spec = {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.9.0.0/16"}}]}]}
    assert [i for i in ids(policy("ipb", spec), KUBE_DNS_POD) if i[0] == "NF101"] == []
    spec = {"podSelector": {}, "egress": [{"to": [{"ipBlock": {"cidr": "10.8.0.0/16"}}]}]}
    found = [f for f in report(policy("ipb", spec), KUBE_DNS_POD).findings if f.check.id == "NF101"]
    assert len(found) == 1
    assert "assumed" not in found[0].message


NEEDS_PODS = ["NF102", "NF105", "NF106", "NF107", "NF109", "NF111", "NF112"]


def test_checks_that_need_pods_are_skipped_without_them() -> None:
    result = report(policy("deny", DENY_EGRESS))
    assert [(s.check.id, s.reason) for s in result.skipped] == [
        ("NF102", "no pods in the input"),
        ("NF103", "no pods or Namespace objects in the input"),
        *[(i, "no pods in the input") for i in NEEDS_PODS[1:]],
    ]
    assert result.skipped_line() == (
        "skipped, for lack of cluster state: NF102 selects-nothing, NF105 "
        "service-port-not-target-port, NF106 named-port-unknown, NF107 ipblock-covers-cluster, "
        "NF109 no-default-deny, NF111 peer-and-empty, NF112 ipblock-one-family (no pods in the "
        "input); NF103 namespace-label-missing (no pods or Namespace objects in the input)"
    )


def test_namespace_objects_are_enough_for_nf103() -> None:
    ns = {"kind": "Namespace", "metadata": {"name": "shop"}}
    spec = {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"name": "x"}}}]}]}  # fmt: skip
    result = report(ns, policy("p", spec))
    assert [s.check.id for s in result.skipped] == NEEDS_PODS
    assert [f.check.id for f in result.findings] == ["NF103"]


def test_nothing_is_skipped_with_pods() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "web", "namespace": "shop"}}
    assert report(pod, policy("deny", DENY_EGRESS)).skipped == ()


WEB_POD = {
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "status": {"podIP": "10.1.0.1"},
}


@pytest.mark.parametrize(
    ("spec", "namespace", "expected"),
    [
        # no pods of "other" in the input: its podSelector says nothing
        ({"podSelector": {"matchLabels": {"app": "api"}}}, "other", []),
        ({"podSelector": {"matchLabels": {"app": "wbe"}}}, "shop", ["spec.podSelector matches no pod (did you mean app=web?)"]),
        # peers in namespaces without pods in the input: nothing to say
        ({"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "api"}}}]}]}, "other", []),
        ({"podSelector": WEB, "ingress": [{"from": [{**KUBE_SYSTEM, "podSelector": {"matchLabels": {"app": "x"}}}]}]}, "shop", []),
        # kube-system exists in every cluster, with or without a manifest; no harmful "did you mean"
        ({"podSelector": WEB, "egress": [{"to": [KUBE_SYSTEM]}]}, "shop", []),
        ({"podSelector": WEB, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shpo"}}}]}]},
         "shop", ["namespaceSelector matches no namespace (did you mean kubernetes.io/metadata.name=shop?)"]),
        ({"podSelector": WEB, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]},
         "shop", ["namespaceSelector matches no namespace"]),
        ({"podSelector": WEB, "ingress": [{"from": [{"podSelector": {"matchLabels": {"ap": "web"}}}]}]},
         "shop", ["peer matches no pod (did you mean app=web?)"]),
    ],
    ids=["target-ns-without-pods", "target-typo", "peer-ns-without-pods", "peer-in-kube-system-without-pods",
         "kube-system-always-exists", "namespace-name-typo", "other-name-no-suggestion", "key-typo"],
)  # fmt: skip
def test_selects_nothing_only_where_the_input_has_pods(
    spec: dict[str, Any], namespace: str, expected: list[str]
) -> None:
    found = report(WEB_POD, policy("p", spec, namespace)).findings
    assert [f.message for f in found if f.check.id == "NF102"] == expected


def kube_dns_service(target_port: int, *protocols: str) -> dict[str, Any]:
    return {
        "kind": "Service",
        "metadata": {"name": "kube-dns", "namespace": "kube-system"},
        "spec": {
            "selector": {"k8s-app": "kube-dns"},
            "ports": [
                {"name": p.lower(), "port": 53, "targetPort": target_port, "protocol": p}
                for p in protocols
            ],
        },
    }


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        (kube_dns_service(53, "UDP", "TCP"), []),
        # policies see the pod's port after the Service: 53 does not match targetPort 5353
        (kube_dns_service(5353, "UDP", "TCP"), ["NF101"]),
        # no 53/TCP on the Service: no TCP fallback to block
        (kube_dns_service(53, "UDP"), []),
        (kube_dns_service(53, "TCP"), []),
    ],
    ids=["same-port", "target-port-differs", "udp-only-service", "tcp-only-service"],
)
def test_kube_dns_service_of_the_input(service: dict[str, Any], expected: list[str]) -> None:
    spec = {"podSelector": {}, "egress": [dns_rule(UDP, TCP, peer=KUBE_SYSTEM)]}
    found = report(policy("dns", spec), KUBE_DNS_POD, service).findings
    assert [f.check.id for f in found if f.check.id in ("NF101", "NF113")] == expected
