"""Validation of Pods, workloads, Services, Namespaces and Nodes, through the build:
the YAML case corpus, the reproducers of issue 9, and fuzzing."""

from __future__ import annotations

import copy
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.model.diagnostics import Diagnostic, Severity, Source
from netfence.parse import addresses
from netfence.parse.build import BuildResult, build_cluster
from netfence.parse.documents import RawDocument
from netfence.parse.validation_objects import MAX_EXPANDED_PODS, object_errors
from netfence.parse.validation_shapes import show

CASES = yaml.safe_load((Path(__file__).parent / "object_validation_cases.yaml").read_text())

_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "ports": [{"containerPort": 8080, "name": "http"}]}]},
}
_WORKLOAD_SPEC: dict[str, Any] = {
    "replicas": 2,
    "selector": {"matchLabels": {"app": "web"}},
    "template": _TEMPLATE,
}
BASES: dict[str, dict[str, Any]] = {
    "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
    "Node": {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-a", "labels": {"kubernetes.io/hostname": "node-a"}},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]},
    },
    "Pod": {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "shop", "labels": {"app": "web"}},
        **copy.deepcopy({"spec": _TEMPLATE["spec"]}),
        "status": {"phase": "Running", "podIP": "10.244.0.7"},
    },
    "Service": {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
        },
    },
    **{
        kind: {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": copy.deepcopy(_WORKLOAD_SPEC),
        }
        for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
    },
    "Job": {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {"parallelism": 1, "template": copy.deepcopy(_TEMPLATE)},
    },
    "CronJob": {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "report", "namespace": "shop"},
        "spec": {
            "schedule": "0 * * * *",
            "jobTemplate": {"spec": {"parallelism": 1, "template": copy.deepcopy(_TEMPLATE)}},
        },
    },
}


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def manifest(case: dict[str, Any]) -> dict[str, Any]:
    doc = _merge(copy.deepcopy(BASES[case["kind"]]), case.get("manifest") or {})
    for dotted in case.get("delete") or []:
        *parents, last = dotted.split(".")
        target = doc
        for name in parents:
            target = target[name]
        del target[last]
    return doc


def build(*objects: dict[str, Any]) -> BuildResult:
    docs = [RawDocument(Source("case.yaml", i + 1), obj) for i, obj in enumerate(objects)]
    return build_cluster(docs)


def check(found: list[Diagnostic], expected: list[list[str]], severity: Severity) -> None:
    found = [d for d in found if d.severity is severity]
    fields = Counter(d.field or "" for d in found)
    assert fields == Counter(field for field, _ in expected), [d.format() for d in found]
    for field, words in expected:
        messages = [d.message for d in found if (d.field or "") == field]
        assert any(words in m for m in messages), (words, messages)


def _kept(result: BuildResult, kind: str) -> int:
    cluster = result.cluster
    if kind == "Namespace":
        return sum(ns.declared for ns in cluster.namespaces)
    if kind == "Node":
        return len(cluster.nodes)
    if kind == "Service":
        return len(cluster.services)
    return len(cluster.pods)  # Pods, and the pods of workloads


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    result = build(manifest(case))
    check(list(result.diagnostics), case.get("errors") or [], Severity.ERROR)
    check(list(result.diagnostics), case.get("warnings") or [], Severity.WARNING)
    kept = _kept(result, case["kind"])
    if case.get("errors"):
        assert kept == 0
    else:
        assert kept == case.get("pods", kept or 1), f"kept {kept}"
    for d in result.errors:  # located: file, document, object of the case's kind
        assert d.source == Source("case.yaml", 1)
        assert d.obj is not None and d.obj.kind == case["kind"]


def test_corpus_covers_every_kind_valid_and_invalid() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    for kind in BASES:
        outcomes = {bool(c.get("errors")) for c in CASES if c["kind"] == kind}
        assert outcomes == {True, False}, kind


def test_other_kinds_are_not_checked() -> None:
    assert object_errors({"kind": "ConfigMap", "metadata": {"name": "Not_Checked"}}) == []
    assert object_errors({"kind": "NetworkPolicy", "metadata": {"name": "Not_Here"}}) == []
    assert object_errors({"kind": {"a": None}, "metadata": {"name": "Not_Here"}}) == []


# --- reproducers of issue 9 -----------------------------------------------------------------


def test_invalid_pod_is_an_error_of_that_pod_and_left_out() -> None:
    """The agent keeps a pod with an error fail-closed by its ObjectRef (kind Pod)."""
    bad = manifest(
        {
            "kind": "Pod",
            "manifest": {
                "spec": {"containers": [{"ports": [{"containerPort": 80, "protocol": "tcp"}]}]}
            },
        }
    )
    good = manifest(
        {
            "kind": "Pod",
            "manifest": {"metadata": {"name": "web-1"}, "status": {"podIP": "10.244.0.8"}},
        }
    )
    result = build(bad, good)
    [problem] = result.errors
    assert (problem.obj.kind, problem.obj.namespace, problem.obj.name) == ("Pod", "shop", "web-0")
    assert [p.name for p in result.cluster.pods] == ["web-1"]


def test_lone_surrogate_in_a_name_is_a_located_error() -> None:
    pod = manifest({"kind": "Pod", "manifest": {"metadata": {"name": "web\udc80"}}})
    [problem] = build(pod).errors
    assert problem.field == "metadata.name"
    assert 'Invalid value: "web\\udc80"' in problem.message
    problem.message.encode("utf-8")  # the message quotes it escaped


def test_nul_in_an_ip_is_a_located_error_everywhere() -> None:
    pod = manifest({"kind": "Pod", "manifest": {"status": {"podIP": "10.0.0.1\x00"}}})
    node = manifest(
        {
            "kind": "Node",
            "manifest": {"status": {"addresses": [{"type": "InternalIP", "address": "\x00"}]}},
        }
    )
    service = manifest({"kind": "Service", "manifest": {"spec": {"clusterIP": "172.20.0.1\x00"}}})
    fields = sorted((d.obj.kind, d.field) for d in build(pod, node, service).errors if d.obj)
    assert fields == [
        ("Node", "status.addresses[0].address"),
        ("Pod", "status.podIP"),
        ("Service", "spec.clusterIP"),
    ]


def test_null_in_match_expression_values_is_the_empty_string() -> None:
    """Go decodes ``null`` into a string as "": ``In [null, x]`` selects app="";
    it used to be None, which matched nothing and broke formatting."""
    from netfence.compile import compile_policies
    from netfence.engine import evaluate
    from netfence.model.traffic import Connection, Endpoint

    policy = yaml.safe_load(
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: p, namespace: shop}
        spec:
          podSelector: {}
          ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: In, values: [null, x]}]}}]}]
        """
    )
    a = manifest(
        {
            "kind": "Pod",
            "manifest": {
                "metadata": {"name": "a", "labels": {"app": "a"}},
                "status": {"podIP": "10.244.0.1"},
            },
        }
    )
    b = manifest(
        {
            "kind": "Pod",
            "manifest": {
                "metadata": {"name": "b", "labels": {"app": ""}},
                "status": {"podIP": "10.244.0.2"},
            },
        }
    )
    result = build(policy, a, b)
    assert not result.errors
    compiled = compile_policies(result.cluster.policies)
    requirement = result.cluster.policies[0].ingress[0].peers[0].pod_selector.match_expressions[0]
    assert requirement.values == ("", "x")
    assert "app in (,x)" in requirement.format()
    cluster = result.cluster
    pod_a, pod_b = cluster.pod("shop", "a"), cluster.pod("shop", "b")
    assert pod_a is not None and pod_b is not None
    to_a = Connection(Endpoint(pod_b.ips[0], pod_b), Endpoint(pod_a.ips[0], pod_a), 80)
    assert evaluate(compiled, cluster, to_a).allowed


@pytest.mark.parametrize("replicas", [1_000_000, 2_147_483_647, 2_147_483_648, 10**30])
def test_huge_replicas_end_in_a_located_error_at_once(replicas: int) -> None:
    """replicas: 1000000 took 9 s and ended in "address range exhausted";
    2147483648 was a MemoryError at 3 GB."""
    deployment = manifest({"kind": "Deployment", "manifest": {"spec": {"replicas": replicas}}})
    started = time.monotonic()
    result = build(deployment)
    assert time.monotonic() - started < 1.0
    [problem] = result.errors
    assert problem.field == "spec.replicas"
    assert problem.message.startswith(f"Invalid value: {replicas}:")
    assert result.cluster.pods == ()


def test_expansion_bound_counts_every_workload() -> None:
    half = MAX_EXPANDED_PODS // 2 + 1
    first = manifest({"kind": "Deployment", "manifest": {"spec": {"replicas": half}}})
    second = manifest(
        {
            "kind": "StatefulSet",
            "manifest": {
                "metadata": {"name": "db"},
                "spec": {
                    "replicas": half,
                    "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}}},
                },
            },
        }
    )
    result = build(first, second)
    [problem] = result.errors
    assert problem.obj is not None and (problem.obj.kind, problem.obj.name) == ("StatefulSet", "db")
    assert f"({half} from other workloads)" in problem.message
    assert len(result.cluster.pods) == half


def test_daemonset_expansion_is_bounded_by_nodes_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from netfence.parse import build as build_module

    monkeypatch.setattr(build_module, "MAX_EXPANDED_PODS", 2)
    nodes = [
        manifest({"kind": "Node", "manifest": {"metadata": {"name": f"n{i}"}, "status": None}})
        for i in range(3)
    ]
    daemonset = manifest({"kind": "DaemonSet"})
    [problem] = build(daemonset, *nodes).errors
    assert problem.message.startswith("one pod on each of 3 nodes: would expand more than 2 pods")
    assert problem.field is None


def test_used_up_address_range_is_a_located_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addresses, "POD_CIDR", addresses.ipaddress.ip_network("10.9.0.0/30"))
    deployment = manifest({"kind": "Deployment", "manifest": {"spec": {"replicas": 3}}})
    result = build(deployment)
    [problem] = result.errors
    assert problem.obj is not None and (problem.obj.kind, problem.obj.name) == ("Pod", "web-2")
    assert "no address left in 10.9.0.0/30" in problem.message
    assert [p.name for p in result.cluster.pods] == ["web-0", "web-1"]


def test_two_live_pods_with_one_address_are_reported() -> None:
    first = manifest({"kind": "Pod"})
    second = manifest({"kind": "Pod", "manifest": {"metadata": {"name": "web-1"}}})
    host = manifest(
        {
            "kind": "Pod",
            "manifest": {
                "metadata": {"name": "agent"},
                "spec": {"hostNetwork": True},
                "status": {"podIP": "10.244.0.7"},
            },
        }
    )
    result = build(first, second, host)
    [warning] = [d for d in result.diagnostics if d.severity is Severity.WARNING]
    assert warning.obj is not None and warning.obj.name == "web-1"
    assert warning.field == "status.podIP"
    assert 'Duplicate value: "10.244.0.7": also the address of pod shop/web-0' in warning.message
    assert not result.errors


@pytest.mark.parametrize(("namespace", "valid"), [("shop", True), ("../x", False), ("Shop", False)])
def test_default_namespace_is_a_namespace_name(namespace: str, valid: bool) -> None:
    """``-n`` names the namespace of objects without one: a DNS-1123 label too."""
    pod = manifest({"kind": "Pod", "delete": ["metadata.namespace"]})
    result = build_cluster([RawDocument(Source("case.yaml", 1), pod)], namespace)
    assert [p.namespace for p in result.cluster.pods] == [namespace]
    if valid:
        assert not result.errors
    else:
        [problem] = result.errors
        assert problem.message.startswith(f'default namespace: Invalid value: "{namespace}": ')


def test_integers_too_long_to_print_are_shown_by_size() -> None:
    """Python refuses to print integers of more than 4300 digits (ValueError)."""
    huge = 10**5000
    pod = manifest(
        {
            "kind": "Pod",
            "manifest": {"spec": {"containers": [{"ports": [{"containerPort": huge}]}]}},
        }
    )
    service = manifest(
        {"kind": "Service", "manifest": {"spec": {"ports": [{"port": huge}, {"port": huge}]}}}
    )
    deployment = manifest({"kind": "Deployment", "manifest": {"spec": {"replicas": -huge}}})
    messages = {d.field: d.message for d in build(pod, service, deployment).errors}
    assert messages["spec.containers[0].ports[0].containerPort"].startswith(
        "Invalid value: <an integer of 16610 bits>: must be between 1 and 65535"
    )
    assert messages["spec.replicas"].startswith("Invalid value: <an integer of 16610 bits>:")
    assert show([huge]) == "<list>"


def test_show_escapes_what_no_terminal_prints() -> None:
    assert show("a\udc80b") == '"a\\udc80b"'
    assert show("x\x1b[2Jy") == '"x\\u001b[2Jy"'
    assert show("\u202egnp.exe") == '"\\u202egnp.exe"'
    assert show("café") == '"café"'


# --- nothing raises -------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**40), max_value=2**40)
    | st.sampled_from([5000, -5000, 10, 19]).map(lambda e: 10 ** abs(e) * (1 if e > 0 else -1))
    | st.floats(allow_nan=True)
    | st.text(max_size=8)
    | st.sampled_from(["TCP", "tcp", "http", "10.0.0.1", "fe80::1%eth0", "::", "None", "web", ""])
)
KEYS = st.sampled_from(
    [
        "name",
        "namespace",
        "labels",
        "containers",
        "ports",
        "containerPort",
        "hostPort",
        "protocol",
        "port",
        "targetPort",
        "nodeName",
        "podIP",
        "podIPs",
        "ip",
        "replicas",
        "parallelism",
        "selector",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
        "template",
        "metadata",
        "spec",
        "jobTemplate",
        "clusterIP",
        "clusterIPs",
        "type",
        "addresses",
        "address",
        "hostNetwork",
    ]
) | st.text(max_size=4)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(BASES)),
    spec=VALUES,
    status=VALUES,
    metadata=VALUES,
)
def test_no_input_raises(kind: str, spec: object, status: object, metadata: object) -> None:
    base = copy.deepcopy(BASES[kind])
    mutated = {**base, "spec": spec, "status": status, "metadata": metadata}
    for obj in (
        mutated,
        _merge(copy.deepcopy(base), {"spec": spec} if isinstance(spec, dict) else {}),
    ):
        result = build(obj)
        assert all(isinstance(d, Diagnostic) and d.message for d in result.diagnostics)
