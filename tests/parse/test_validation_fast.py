"""The fast path of plain Pods and Services against the full path, its oracle:
whenever the fast path answers, the full path gives the very same converted
object and no diagnostic at all (so every diagnostic still comes from the full
path); on the synthetic clusters of the benchmarks it answers for every Pod and
Service."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from bench.synth import generate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.parse.test_validation import _SPEC as POLICY_SPEC
from tests.parse.test_validation import BASE as POLICY_BASE
from tests.parse.test_validation import CASES as POLICY_CASES
from tests.parse.test_validation import VALUES as POLICY_VALUES
from tests.parse.test_validation import manifest as policy_manifest
from tests.parse.test_validation_objects import CASES, manifest

from netfence.model.diagnostics import Source
from netfence.parse.build import _Converted, build_cluster, convert_fully
from netfence.parse.documents import RawDocument
from netfence.parse.validation import spec_is_valid, whole_spec_is_valid
from netfence.parse.validation_fast import FastConverter

_SOURCE = Source("x.yaml", 1)


def _agrees(obj: dict[str, Any], fast: FastConverter, namespace: str = "default") -> bool:
    """Whether the fast path answered; asserts that the answer is the full path's."""
    plain = fast.convert(obj, namespace, _SOURCE)
    if plain is None:
        return False
    full = convert_fully(RawDocument(_SOURCE, obj), namespace)
    assert full == _Converted(*plain, ()), obj
    return True


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_synthetic_pod_and_service_is_plain_and_agrees(seed: int) -> None:
    fast = FastConverter()
    objects = generate(300, 30, seed)
    answered = [_agrees(o, fast) for o in objects if o["kind"] in ("Pod", "Service")]
    assert answered and all(answered)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_validation_cases_agree(case: dict[str, Any]) -> None:
    """The corpus of the full path's validation: an invalid object is never plain."""
    obj = manifest(case)
    answered = _agrees(obj, FastConverter())
    if case.get("errors") or case.get("warnings"):
        assert not answered


_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web-7d9f-abcde",
        "namespace": "shop",
        "labels": {"app": "web", "pod-template-hash": "7d9f"},
        "annotations": {"example.com/a": "b"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d9f", "controller": True}],
    },
    "spec": {
        "nodeName": "node-a",
        "hostNetwork": False,
        "containers": [
            {"name": "web", "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}]},
            {"name": "side", "ports": [{"containerPort": 9090, "name": "metrics"}]},
        ],
    },
    "status": {"phase": "Running", "podIP": "10.244.0.7", "podIPs": [{"ip": "10.244.0.7"}]},
}
_SERVICE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
    "spec": {
        "type": "ClusterIP",
        "clusterIP": "172.20.0.11",
        "clusterIPs": ["172.20.0.11"],
        "selector": {"app": "web"},
        "ports": [
            {"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
            {"name": "metrics", "port": 9090, "targetPort": 9100},
        ],
    },
}

# Values that are valid somewhere, invalid elsewhere, or of every JSON type.
_VALUES = st.sampled_from(
    [
        None,
        "",
        0,
        1,
        -1,
        80,
        65536,
        2**31,
        True,
        False,
        0.0,
        8080.0,
        [],
        {},
        [None],
        [{}],
        {"a": "b"},
        {"a": 1},
        {"a": None},
        ["x"],
        "x",
        "web",
        "Web",
        "a b",
        "a--b",
        "-a",
        "a.b",
        "a/b",
        "example.com/a",
        "0.0.0.0",
        "::",
        "::1",
        "10.244.0.7",
        "10.244.0.8",
        "10.244.00.7",
        "fe80::1%eth0",
        "::ffff:10.0.0.1",
        "None",
        "TCP",
        "tcp",
        "UDP",
        "SCTP",
        "ReplicaSet",
        "Deployment",
        "web-7d9f",
        "Succeeded",
        "Running",
        "ExternalName",
        "NodePort",
        "http",
        "metrics",
        "x" * 64,
        "a" * 16,
        "kube-system",
        "default",
        [{"ip": "10.244.0.7"}, {"ip": "fd00::7"}],
        [{"ip": "10.244.0.8"}],
        [{"containerPort": 80}],
        [{"port": 80}],
        [{"name": "a", "port": 80}, {"name": "a", "port": 81}],
        [{"port": 80}, {"port": 80, "protocol": "TCP"}],
        [{"kind": "StatefulSet", "name": "db", "controller": None}],
        [{"kind": 3, "name": "x"}],
        [{"containerPort": 80, "hostPort": 80}],
        [{"containerPort": 80, "hostport": 80}],
        float("nan"),
        float("inf"),
        8080.0,
        9090.0,
        2**70,
        [{"containerPort": 8080, "name": "http", "protocol": "TCP", "hostPort": float("nan")}],
        [{"containerPort": 8080.0, "name": "http", "protocol": "TCP"}],
        [{"containerPort": 80, "protocol": None}],
    ]
)
_KEYS = st.sampled_from(
    [
        "name",
        "namespace",
        "labels",
        "annotations",
        "ownerReferences",
        "generation",
        "containers",
        "ports",
        "containerPort",
        "protocol",
        "hostPort",
        "nodeName",
        "hostNetwork",
        "status",
        "podIP",
        "podIPs",
        "ip",
        "phase",
        "spec",
        "metadata",
        "selector",
        "clusterIP",
        "clusterIPs",
        "type",
        "port",
        "targetPort",
        "kind",
        "controller",
        "app",
        "pod-template-hash",
        "Bad Key",
        "example.com/a",
        "lables",
        "uid",
        "apiVersion",
        "hostIP",
        "appProtocol",
        "nodePort",
    ]
)


def _containers(value: object) -> list[Any]:
    """Every dict and list in a decoded object, itself included."""
    found: list[Any] = [value]
    for item in value.values() if isinstance(value, dict) else value:
        if isinstance(item, dict | list):
            found.extend(_containers(item))
    return found


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    obj = copy.deepcopy(draw(st.sampled_from([_POD, _SERVICE])))
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(_containers(obj)))
        value = copy.deepcopy(draw(_VALUES))
        if isinstance(target, dict):
            key = draw(st.sampled_from(sorted(target)) | _KEYS if target else _KEYS)
            if draw(st.booleans()) and key in target:
                del target[key]
            else:
                target[key] = value
        elif target:
            target[draw(st.integers(0, len(target) - 1))] = value
    return obj


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(), st.sampled_from(["default", "shop"]))
def test_mutated_objects_agree_whenever_the_fast_path_answers(
    obj: dict[str, Any], namespace: str
) -> None:
    _agrees(obj, FastConverter(), namespace)
    # a converter that has seen the plain objects already: what it remembers
    # must not answer for a mutated one
    assert _agrees(copy.deepcopy(_POD), _SEEN) and _agrees(copy.deepcopy(_SERVICE), _SEEN)
    _agrees(obj, _SEEN, namespace)


_SEEN = FastConverter()


def test_the_bases_are_plain() -> None:
    """Not a correctness property: that the mutations start from plain objects."""
    assert _agrees(copy.deepcopy(_POD), FastConverter())
    assert _agrees(copy.deepcopy(_SERVICE), FastConverter())


def test_equal_label_sets_and_port_lists_are_one_object() -> None:
    objects = generate(200, 10, 1)
    pods = build_cluster([RawDocument(_SOURCE, o) for o in objects]).cluster.pods
    by_value = {}
    for pod in pods:
        assert (
            by_value.setdefault((pod.labels, pod.ports), (pod.labels, pod.ports))[0] is pod.labels
        )
        assert by_value[pod.labels, pod.ports][1] is pod.ports


def test_a_build_is_the_same_without_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    objects = generate(400, 40, 5)
    objects[3]["metadata"]["labels"] = {"bad key": "x"}  # some diagnostics too
    objects[-1]["spec"] = []
    docs = [RawDocument(Source("x.json", 1, i), o) for i, o in enumerate(objects)]
    fast = build_cluster(docs)
    monkeypatch.setattr(FastConverter, "convert", lambda *_: None)
    full = build_cluster(docs)
    assert fast.cluster == full.cluster
    assert fast.diagnostics == full.diagnostics and fast.diagnostics


@pytest.mark.parametrize("odd", [float("nan"), float("inf"), 80.0, True, 2**70])
def test_remembered_ports_never_answer_for_a_value_of_another_type(odd: object) -> None:
    """Ports are remembered by their JSON text: NaN and infinity would be written
    as null, the text of a valid absent value; 80.0, true and 2**70 are other texts."""
    fast = FastConverter()
    plain = copy.deepcopy(_POD)
    plain["spec"]["containers"][1]["ports"][0]["protocol"] = None
    assert _agrees(plain, fast)
    for field in ("protocol", "name", "containerPort"):
        odd_pod = copy.deepcopy(plain)
        odd_pod["spec"]["containers"][1]["ports"][0][field] = odd
        assert not _agrees(odd_pod, fast)


# --- NetworkPolicies whose spec was seen before (policy_fast) ----------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_every_synthetic_policy_is_plain_and_agrees(seed: int) -> None:
    fast = FastConverter()
    policies = [o for o in generate(300, 60, seed) if o["kind"] == "NetworkPolicy"]
    answered = [_agrees(o, fast, "ns") for o in policies + copy.deepcopy(policies)]
    assert answered and all(answered)


@pytest.mark.parametrize("case", POLICY_CASES, ids=[c["id"] for c in POLICY_CASES])
def test_policy_validation_cases_agree(case: dict[str, Any]) -> None:
    """The corpus of NetworkPolicy validation, each case seen first and again after
    a valid policy with the same spec: a policy with any problem is never plain."""
    obj = policy_manifest(case)
    fast = FastConverter()
    first = _agrees(obj, fast)
    valid_twin = {**POLICY_BASE, "spec": copy.deepcopy(obj.get("spec"))}
    _agrees(valid_twin, fast)
    again = _agrees(obj, fast)
    assert first is again
    if case.get("errors") or case.get("warnings"):
        assert not first


@pytest.mark.parametrize(
    ("port", "plain"), [(80, True), (80.0, False), (True, False), ("http", True), (2**64, False)]
)
def test_a_remembered_spec_is_only_reused_for_the_same_json(port: object, plain: bool) -> None:
    """80, 80.0 and true are equal in Python but not to the API server."""
    fast = FastConverter()
    spec = {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}
    assert _agrees({**POLICY_BASE, "spec": spec}, fast)
    other = {"podSelector": {}, "ingress": [{"ports": [{"port": port}]}]}
    assert _agrees({**POLICY_BASE, "spec": other}, fast) is plain


def test_metadata_and_kinds_are_checked_every_time() -> None:
    fast = FastConverter()
    assert _agrees(POLICY_BASE, fast)
    for changed in (
        {"metadata": {"name": "Not_A_Name", "namespace": "ns"}},
        {"metadata": {"name": "p", "namespace": "ns", "uid": 5}},
        {"apiVersion": "crd.projectcalico.org/v1"},
        {"apiVersion": "extensions/v1beta1"},
        {"status": {}, "extra": 1},
    ):
        assert not _agrees({**POLICY_BASE, **changed}, fast), changed
    assert _agrees({**POLICY_BASE, "metadata": {"name": "q"}}, fast, "other")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    specs=st.lists(POLICY_SPEC, min_size=1, max_size=4),
    picks=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from([{"name": "a", "namespace": "x"}, {"name": "b"}, {"name": "B"}]),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_generated_policies_agree_in_any_order(
    specs: list[dict[str, Any]], picks: list[tuple[int, dict[str, Any]]]
) -> None:
    """Specs given again and again (remembered or not) under varied metadata."""
    fast = FastConverter()
    for i, meta in picks:
        spec = copy.deepcopy(specs[i % len(specs)])
        _agrees({**POLICY_BASE, "metadata": meta, "spec": spec}, fast)


@settings(max_examples=400, deadline=None)
@given(spec=POLICY_SPEC | POLICY_VALUES.filter(lambda v: isinstance(v, dict)))
def test_a_spec_checked_part_by_part_is_checked_as_a_whole(spec: dict[str, Any]) -> None:
    assert spec_is_valid(spec) == whole_spec_is_valid(spec)


_RULES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "ports": st.sampled_from([[{"port": 80}], [{"port": 80.0}], [{"port": "http"}], None]),
            "from": st.sampled_from([[{"podSelector": {}}], [{"ipBlock": {"cidr": "bad"}}], []]),
            "to": st.sampled_from([[{"namespaceSelector": {"matchLabels": {"a": "b"}}}]]),
        },
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rules=_RULES,
    picks=st.lists(
        st.tuples(
            st.lists(st.integers(0, 3), max_size=3),
            st.lists(st.integers(0, 3), max_size=2),
            st.sampled_from([{}, {"matchLabels": {"app": "x"}}, {"matchLabels": {"a": 1}}, None]),
            st.sampled_from(
                [
                    {"name": "a", "namespace": "x"},
                    {"name": "a", "namespace": ""},
                    {"name": "a", "namespace": None},
                    {"name": "a", "namespace": "Bad_NS"},
                    {"name": "a", "namespace": 5},
                    {"name": ""},
                    {"name": "B"},
                    {"name": "a", "labels": {"x": "y"}},
                    {"name": "a", "labels": {"x": "y y"}},
                ]
            ),
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_policies_sharing_rules_and_selectors_agree(
    rules: list[dict[str, Any]],
    picks: list[tuple[list[int], list[int], dict[str, Any] | None, dict[str, Any]]],
) -> None:
    """Rules and pod selectors remembered from one spec and met again in another."""
    fast = FastConverter()
    for ingress, egress, selector, meta in picks:
        spec: dict[str, Any] = {
            "podSelector": copy.deepcopy(selector),
            "ingress": [copy.deepcopy(rules[i % len(rules)]) for i in ingress],
            "egress": [copy.deepcopy(rules[i % len(rules)]) for i in egress],
        }
        _agrees({**POLICY_BASE, "metadata": meta, "spec": spec}, fast)


@pytest.mark.parametrize(
    "spec",
    [
        {"ingress": {"from": []}},
        {"egress": "x"},
        {"ingress": [5]},
        {"ingress": [None]},
        {"policyTypes": "Ingress"},
        {"policyTypes": ["Ingress", "Ingress"]},
        {"podSelector": []},
        {"podSelector": None, "ingress": None},
        {5: 1},
        {"ingres": []},
    ],
)
def test_odd_specs_checked_part_by_part(spec: dict[Any, Any]) -> None:
    assert spec_is_valid(spec) == whole_spec_is_valid(spec)
    _agrees({**POLICY_BASE, "spec": spec}, FastConverter())
