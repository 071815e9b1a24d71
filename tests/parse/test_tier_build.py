"""The cluster-wide kinds and EKS ApplicationNetworkPolicy through build_cluster and
``netfence validate``: read into Cluster.cluster_policies (the tiers) and
Cluster.policies (an ApplicationNetworkPolicy), invalid ones reported, left out and
named as not evaluated."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import run_cli

from netfence.model.diagnostics import Severity, Source
from netfence.model.policy import PolicyOrigin
from netfence.model.tiers import TierKind
from netfence.parse import RawDocument, build_cluster
from netfence.parse.build import BuildResult, ConversionCache
from netfence.parse.tier_read import read_tier_object

CNP = {
    "apiVersion": "policy.networking.k8s.io/v1alpha2",
    "kind": "ClusterNetworkPolicy",
    "metadata": {"name": "guard"},
    "spec": {"tier": "Admin", "priority": 1, "subject": {"namespaces": {}}},
}
EKS_CNP = {**CNP, "apiVersion": "networking.k8s.aws/v1alpha1"}
ANP = {
    "apiVersion": "policy.networking.k8s.io/v1alpha1",
    "kind": "AdminNetworkPolicy",
    "metadata": {"name": "allow"},
    "spec": {"priority": 1001, "subject": {"namespaces": {}}},
}
APPLICATION = {
    "apiVersion": "networking.k8s.aws/v1alpha1",
    "kind": "ApplicationNetworkPolicy",
    "metadata": {"name": "allow", "namespace": "ui"},
    "spec": {"podSelector": {}, "egress": [{"to": [{"domainNames": ["example.com"]}]}]},
}
NETWORK_POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "allow", "namespace": "ui"},
    "spec": {"podSelector": {}},
}


def _build(*objects: dict[str, Any], cache: ConversionCache | None = None) -> BuildResult:
    docs = [RawDocument(Source("t.yaml", i + 1), o) for i, o in enumerate(objects)]
    return build_cluster(docs, cache=cache)


def test_valid_ones_are_read_invalid_ones_reported() -> None:
    for cache in (None, ConversionCache()):
        built = _build(CNP, EKS_CNP, ANP, APPLICATION, NETWORK_POLICY, cache=cache)
        cluster = built.cluster
        assert [(p.kind, p.name) for p in cluster.cluster_policies] == [
            (TierKind.CLUSTER_NETWORK_POLICY, "guard"),
            (TierKind.EKS_CLUSTER_NETWORK_POLICY, "guard"),
        ]
        # the ApplicationNetworkPolicy is in the NetworkPolicy tier, under its own key
        application, network_policy = sorted(cluster.policies, key=lambda p: p.origin.value)
        assert application.origin is PolicyOrigin.APPLICATION_NETWORK_POLICY
        assert network_policy.origin is PolicyOrigin.NETWORK_POLICY
        assert application.key != network_policy.key
        # "not evaluated": only the invalid (left out) one
        assert [p.kind for p in cluster.other_policies] == ["AdminNetworkPolicy"]
        assert built.completeness.partial
        (error,) = built.errors
        assert error.format() == (
            "t.yaml: doc 3: AdminNetworkPolicy allow: spec.priority: Invalid value: 1001: "
            "spec.priority in body should be less than or equal to 1000"
        )


def test_a_later_object_replaces_an_earlier_one_with_one_notice() -> None:
    later = copy.deepcopy(CNP)
    later["spec"]["priority"] = 9
    built = _build(CNP, later)
    (policy,) = built.cluster.cluster_policies
    assert policy.priority == 9 and policy.source == Source("t.yaml", 2)
    notices = [d for d in built.diagnostics if "replaces an earlier object" in d.message]
    assert [n.format() for n in notices] == [
        "t.yaml: doc 2: ClusterNetworkPolicy guard: "
        "replaces an earlier object with the same name, as kubectl apply would"
    ]
    eks = {**EKS_CNP, "spec": later["spec"]}
    (notice,) = [d for d in _build(EKS_CNP, eks).diagnostics if "replaces" in d.message]
    assert notice.obj is not None and notice.obj.kind == "ClusterNetworkPolicy.networking.k8s.aws"


def test_admin_and_application_network_policy_are_never_confused() -> None:
    """Both have the short name ``anp``: every message names the kind in full."""
    bad_admin = {**ANP, "metadata": {"name": "x"}}
    bad_application = copy.deepcopy(APPLICATION)
    bad_application["metadata"]["name"] = "x"
    bad_application["spec"]["egress"][0]["to"][0]["podSelector"] = {}
    built = _build(bad_admin, bad_application)
    located = sorted(d.format() for d in built.errors)
    assert located[0].startswith("t.yaml: doc 1: AdminNetworkPolicy x: ")
    assert located[1].startswith(
        "t.yaml: doc 2: ApplicationNetworkPolicy ui/x: spec.egress[0].to[0]"
    )
    eks = _build({**EKS_CNP, "spec": {}}).errors
    assert all(" ClusterNetworkPolicy.networking.k8s.aws guard: " in d.format() for d in eks)


def test_validate_reports_the_errors_of_these_kinds(tmp_path: Path) -> None:
    path = tmp_path / "tiers.yaml"
    path.write_text(yaml.safe_dump_all([CNP, ANP, APPLICATION]))
    run = run_cli("validate", "-f", str(path))
    assert run.code == 1
    assert (
        "AdminNetworkPolicy allow: spec.priority: Invalid value: 1001: spec.priority in body "
        "should be less than or equal to 1000"
    ) in run.err
    valid = tmp_path / "valid.yaml"
    valid.write_text(yaml.safe_dump_all([CNP, APPLICATION]))
    assert run_cli("validate", "-f", str(valid)).code == 0
    as_json = json.loads(run_cli("validate", "-o", "json", "-f", str(path)).out)
    assert not as_json["valid"]


# --- never a crash: any mutation of a valid object is either read or reported --------------

_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 70000) | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from(
    ["tier", "priority", "subject", "ingress", "egress", "namespaces", "pods", "podSelector",
     "namespaceSelector", "action", "from", "to", "ports", "protocols", "networks", "nodes",
     "domainNames", "tcp", "destinationPort", "number", "range", "start", "end", "portNumber",
     "portRange", "namedPort", "port", "protocol", "ipBlock", "cidr", "matchLabels"]
)  # fmt: skip
_BASES = [
    CNP,
    EKS_CNP,
    {**ANP, "spec": {"priority": 1, "subject": {"namespaces": {}}}},
    {**ANP, "kind": "BaselineAdminNetworkPolicy", "metadata": {"name": "default"}},
    APPLICATION,
]


def _mutate(obj: Any, path: list[int], key: str, value: Any) -> Any:
    """Set ``key`` to ``value`` in the dict reached by following ``path`` (indexes
    into the sorted keys/items of each level)."""
    node = obj
    for step in path:
        children = [
            v
            for v in (node.values() if isinstance(node, dict) else node)
            if isinstance(v, dict | list)
        ]
        if not children:
            break
        node = children[step % len(children)]
    if isinstance(node, dict):
        node[key] = value
    elif isinstance(node, list):
        node.append({key: value})
    return obj


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_BASES),
    st.lists(st.integers(0, 5), max_size=6),
    _KEYS,
    _VALUES,
)
def test_any_mutation_is_read_or_reported(
    base: dict[str, Any], path: list[int], key: str, value: Any
) -> None:
    obj = _mutate(copy.deepcopy(base), path, key, value)
    result = read_tier_object(obj, Source("f.yaml", 1), "default")
    assert result is not None
    errors = [d for d in result.diagnostics if d.severity is Severity.ERROR]
    assert (result.policy is None) == bool(errors)
    assert all(d.obj is not None and d.source is not None for d in result.diagnostics)
