"""What build says was not evaluated: other policy kinds, skipped kinds, fields not applied."""

from __future__ import annotations

from typing import Any

import pytest

from netfence.analysis.lint import lint
from netfence.compile import compile_policies
from netfence.engine.check import check
from netfence.engine.targets import resolve_target
from netfence.model.completeness import Completeness, SkippedKind, merged
from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster
from netfence.parse.build import BuildResult


def _build(*objects: dict[str, Any]) -> BuildResult:
    return build_cluster([RawDocument(Source("t.yaml", i + 1), o) for i, o in enumerate(objects)])


def _obj(api_version: str, kind: str, namespace: str | None = "shop") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x"}
    if namespace:
        meta["namespace"] = namespace
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": meta,
        "spec": {"selector": "all()"},
    }


@pytest.mark.parametrize(
    ("api_version", "kind", "cluster_wide"),
    [
        ("cilium.io/v2", "CiliumNetworkPolicy", False),
        ("cilium.io/v2", "CiliumClusterwideNetworkPolicy", True),
        ("crd.projectcalico.org/v1", "NetworkPolicy", False),
        ("crd.projectcalico.org/v1", "GlobalNetworkPolicy", True),
        ("projectcalico.org/v3", "NetworkPolicy", False),
        ("projectcalico.org/v3", "GlobalNetworkPolicy", True),
    ],
)
def test_other_policy_kinds_are_recognised_not_evaluated(
    api_version: str, kind: str, cluster_wide: bool
) -> None:
    built = _build(_obj(api_version, kind))
    assert not built.errors  # a Calico NetworkPolicy is not read as a Kubernetes one
    assert built.cluster.policies == ()
    (policy,) = built.cluster.other_policies
    assert (policy.kind, policy.api_version) == (kind, api_version)
    assert policy.namespace == (None if cluster_wide else "shop")
    assert policy.source == Source("t.yaml", 1)
    completeness = built.completeness
    assert completeness.partial and completeness.skipped == ()


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy"),
        ("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy"),
        ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy"),
        ("networking.k8s.aws/v1alpha1", "ClusterNetworkPolicy"),
    ],
)
def test_the_cluster_wide_tiers_are_read_for_the_engine(api_version: str, kind: str) -> None:
    """Evaluated by the engine: not "not evaluated" (the answers that do not evaluate
    them add them: model.completeness.tiers_not_evaluated)."""
    obj = _obj(api_version, kind)
    obj["spec"] = _VALID_TIER_SPECS[kind]
    obj["metadata"]["name"] = "default" if kind.startswith("Baseline") else "x"
    built = _build(obj)
    assert not built.errors and built.cluster.other_policies == ()
    (policy,) = built.cluster.cluster_policies
    assert (policy.kind.kind, policy.kind.api_version) == (kind, api_version)
    assert not built.completeness.partial
    from netfence.model.completeness import tiers_not_evaluated

    unevaluated = tiers_not_evaluated(built.completeness, built.cluster.cluster_policies)
    ((listed),) = unevaluated.policies
    assert unevaluated.partial and (listed.kind, listed.name, listed.namespace) == (
        kind,
        policy.name,
        None,
    )


def test_an_application_network_policy_is_read_into_the_network_policy_tier() -> None:
    """EKS ApplicationNetworkPolicy: evaluated beside the NetworkPolicies (its
    controller resolves it as a NetworkPolicy), so the input is complete."""
    obj = _obj("networking.k8s.aws/v1alpha1", "ApplicationNetworkPolicy")
    obj["spec"] = _VALID_TIER_SPECS["ApplicationNetworkPolicy"]
    built = _build(obj)
    assert not built.errors and built.cluster.other_policies == ()
    (policy,) = built.cluster.policies
    assert policy.key == "ApplicationNetworkPolicy:shop/x"
    assert not built.completeness.partial


def test_an_invalid_application_network_policy_stays_not_evaluated() -> None:
    obj = _obj("networking.k8s.aws/v1alpha1", "ApplicationNetworkPolicy")
    obj["spec"] = {"podSelector": {}, "egress": [{"to": [{"domainNames": ["*"]}]}]}
    built = _build(obj)
    assert built.errors and built.cluster.policies == ()
    (other,) = built.cluster.other_policies
    assert other.kind == "ApplicationNetworkPolicy" and built.completeness.partial


_VALID_TIER_SPECS: dict[str, dict[str, Any]] = {
    "AdminNetworkPolicy": {"priority": 1, "subject": {"namespaces": {}}},
    "BaselineAdminNetworkPolicy": {"subject": {"namespaces": {}}},
    "ClusterNetworkPolicy": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}}},
    "ApplicationNetworkPolicy": {"podSelector": {}},
}


@pytest.mark.parametrize(
    ("api_version", "kind", "partial"),
    [
        ("v1", "ConfigMap", False),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", False),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", False),
        ("monitoring.coreos.com/v1", "ServiceMonitor", False),
        ("monitoring.coreos.com/v1", "Prometheus", True),  # an operator makes pods of it
        ("v1", "Endpoints", True),  # backends of a Service without a selector
        ("example.com/v1", "ConfigMap", True),  # inert only in its own group
        ("", "", True),  # no kind at all
    ],
)
def test_skipped_kinds_make_an_input_partial_unless_inert(
    api_version: str, kind: str, partial: bool
) -> None:
    built = _build(_obj(api_version, kind), _obj(api_version, kind))
    (skipped,) = built.completeness.skipped
    assert skipped == SkippedKind(
        api_version, kind, (Source("t.yaml", 1), Source("t.yaml", 2)), not partial
    )
    assert skipped.count == 2
    assert built.completeness.partial is partial


def test_a_complete_input_is_complete() -> None:
    built = _build(_obj("v1", "Namespace", None))
    assert built.completeness == Completeness()
    assert not built.completeness.partial


def test_merged_lists_a_kind_once_with_the_sources_of_both() -> None:
    a = _build(_obj("example.com/v1", "Widget")).completeness
    b = _build(_obj("v1", "Pod"), _obj("example.com/v1", "Widget")).completeness
    (widget,) = merged(a, b).skipped
    assert widget.sources == (Source("t.yaml", 1), Source("t.yaml", 2))


POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "spec": {"containers": [{"name": "c", "image": "i"}]},
}


def _pod(namespace: str) -> dict[str, Any]:
    return {**POD, "metadata": {"name": "p", "namespace": namespace}}


def _deny_egress(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "deny", "namespace": namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"]},
    }


KUBE_DNS: list[dict[str, Any]] = [
    {**POD, "metadata": {"name": "dns", "namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
     "spec": {"selector": {"k8s-app": "kube-dns"}, "ports": [{"port": 53, "protocol": "UDP"}]}},
]  # fmt: skip


@pytest.mark.parametrize(
    ("other", "src", "dst", "named"),
    [
        (("cilium.io/v2", "CiliumNetworkPolicy", "a"), "a/p", "b/p", True),
        (("cilium.io/v2", "CiliumNetworkPolicy", "a"), "b/p", "a/p", True),
        (("cilium.io/v2", "CiliumNetworkPolicy", "c"), "a/p", "b/p", False),
        (("cilium.io/v2", "CiliumNetworkPolicy", "a"), "b/p", "203.0.113.1", False),
        (("projectcalico.org/v3", "GlobalNetworkPolicy", None), "b/p", "203.0.113.1", True),
        (("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy", None), "a/p", "b/p", True),
    ],
)
def test_check_names_other_policies_that_may_decide_it(
    other: tuple[str, str, str | None], src: str, dst: str, named: bool
) -> None:
    built = _build(_pod("a"), _pod("b"), _pod("c"), _obj(*other))
    cluster = built.cluster
    compiled = compile_policies(cluster.policies)
    report = check(
        compiled, cluster, resolve_target(src, cluster), resolve_target(dst, cluster), 80, None
    )
    assert report.unevaluated == (cluster.other_policies if named else ())


@pytest.mark.parametrize(
    ("other", "quiet_in"),
    [
        (None, set()),
        (("cilium.io/v2", "CiliumNetworkPolicy", "a"), {"a"}),
        (("crd.projectcalico.org/v1", "NetworkPolicy", "b"), {"b"}),
        (("projectcalico.org/v3", "GlobalNetworkPolicy", None), {"a", "b", "kube-system"}),
    ],
)
def test_lint_does_not_recommend_what_another_kind_may_already_do(
    other: tuple[str, str, str | None] | None, quiet_in: set[str]
) -> None:
    objects = [_pod("a"), _pod("b"), _deny_egress("a"), _deny_egress("b"), *KUBE_DNS]
    if other:
        objects.append(_obj(*other))
    built = _build(*objects)
    findings = lint(built.cluster, compile_policies(built.cluster.policies))
    recommending = {
        (f.check.id, f.obj.namespace or f.obj.name)
        for f in findings
        if f.obj and f.check.id in ("NF101", "NF109")
    }
    expected = {
        ("NF101", "a"), ("NF101", "b"),
        ("NF109", "a"), ("NF109", "b"), ("NF109", "kube-system"),
    }  # fmt: skip
    assert recommending == {(check, ns) for check, ns in expected if ns not in quiet_in}
    why = [f for f in findings if f.check.id == "NF114"]
    assert len(why) == (1 if other else 0)
    if other:
        assert "NF101 and NF109 are not reported for" in why[0].message
