"""NetworkPolicy validation: the YAML case corpus, the format helpers, and fuzzing."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netfence.model.diagnostics import Diagnostic, ObjectRef, Severity, Source
from netfence.parse.validation import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_iana_svc_name,
    is_label_value,
    is_qualified_name,
    network_policy_errors,
    validate_label_map,
    validate_label_selector,
    validate_network_policy,
    validate_object_meta,
)

CASES = yaml.safe_load((Path(__file__).parent / "validation_cases.yaml").read_text())
BASE: dict[str, Any] = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "p", "namespace": "ns"},
    "spec": {"podSelector": {}},
}


def manifest(case: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(copy.deepcopy(case.get("manifest") or {}))
    for key in case.get("delete") or []:
        del doc[key]
    return doc


def check(found: list[Diagnostic], expected: list[list[str]], severity: Severity) -> None:
    found = [d for d in found if d.severity is severity]
    fields = Counter(d.field or "" for d in found)
    assert fields == Counter(field for field, _ in expected), [d.format() for d in found]
    for field, words in expected:
        messages = [d.message for d in found if (d.field or "") == field]
        assert any(words in m for m in messages), (words, messages)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    found = validate_network_policy(manifest(case), Source("case.yaml", 1), None)
    check(found, case.get("errors") or [], Severity.ERROR)
    check(found, case.get("warnings") or [], Severity.WARNING)


def test_corpus_is_large_and_ids_unique() -> None:
    ids = [c["id"] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 60


# --- located diagnostics -----------------------------------------------------------------


def test_format_reads_like_the_api_server() -> None:
    doc = manifest({"manifest": {"spec": {"podSelector": {"matchLabels": {"a b": "x"}}}}})
    [diagnostic] = validate_network_policy(doc, Source("np.yaml", 2), None)
    assert diagnostic.format().startswith(
        "np.yaml: doc 2: NetworkPolicy ns/p: spec.podSelector.matchLabels: "
        'Invalid value: "a b": name part must consist of alphanumeric characters'
    )


@pytest.mark.parametrize(
    ("metadata", "default", "expected"),
    [
        ({"name": "p", "namespace": "ui"}, None, ObjectRef("NetworkPolicy", "ui", "p")),
        ({"name": "p", "namespace": "ui"}, "other", ObjectRef("NetworkPolicy", "ui", "p")),
        ({"name": "p"}, None, ObjectRef("NetworkPolicy", "default", "p")),
        ({"name": "p"}, "catalog", ObjectRef("NetworkPolicy", "catalog", "p")),
        ({"name": 5, "namespace": 6}, "x", ObjectRef("NetworkPolicy", "x", None)),
    ],
    ids=["own-namespace", "own-namespace-wins", "default", "kubectl-n", "wrong-types"],
)
def test_object_ref(metadata: dict[str, Any], default: str | None, expected: ObjectRef) -> None:
    doc = manifest({"manifest": {"metadata": metadata, "spec": {"policyTypes": ["x"]}}})
    found = validate_network_policy(doc, None, default)
    assert found
    assert {d.obj for d in found} == {expected}


def test_every_problem_is_reported_at_once() -> None:
    doc = yaml.safe_load(
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: Bad_Name, namespace: ui}
        spec:
          podSelector: {matchLabels: {"a b": x}}
          egres: []
          ingress:
          - from:
            - {}
            - ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}
              podSelector: {}
            ports:
            - {port: 80, endPort: 79, protocol: HTTP}
          egress:
          - to: [{namespaceSelector: {matchExpressions: [{key: a, operator: In}]}}]
          policyTypes: [Ingress, Sideways]
        """
    )
    fields = {d.field for d in validate_network_policy(doc, None, None)}
    assert fields == {
        "metadata.name",
        "spec.egres",
        "spec.podSelector.matchLabels",
        "spec.ingress[0].from[0]",
        "spec.ingress[0].from[1]",
        "spec.ingress[0].from[1].ipBlock.except[0]",
        "spec.ingress[0].ports[0].protocol",
        "spec.ingress[0].ports[0].endPort",
        "spec.egress[0].to[0].namespaceSelector.matchExpressions[0].values",
        "spec.policyTypes[1]",
    }


def test_not_an_object() -> None:
    [problem] = network_policy_errors(["not", "a", "map"])
    assert problem.field == ""
    assert "expected an object" in problem.message


# --- format helpers ----------------------------------------------------------------------

LONG = "a" * 64


@pytest.mark.parametrize(
    ("check_", "value", "valid"),
    [
        (is_dns1123_label, "kube-system", True),
        (is_dns1123_label, "0abc", True),
        (is_dns1123_label, "a" * 63, True),
        (is_dns1123_label, LONG, False),
        (is_dns1123_label, "Default", False),
        (is_dns1123_label, "a.b", False),
        (is_dns1123_label, "-a", False),
        (is_dns1123_label, "a-", False),
        (is_dns1123_label, "", False),
        (is_dns1123_label, "a\n", False),
        (is_dns1123_subdomain, "allow-ui-egress", True),
        (is_dns1123_subdomain, "a.b-c.d", True),
        (is_dns1123_subdomain, ".".join(["a" * 63] * 4), False),  # 255 characters
        (is_dns1123_subdomain, "a..b", False),
        (is_dns1123_subdomain, "a_b", False),
        (is_dns1123_subdomain, "", False),
        (is_qualified_name, "app", True),
        (is_qualified_name, "app.kubernetes.io/name", True),
        (is_qualified_name, "Upper_Case.ok-1", True),
        (is_qualified_name, "a" * 63, True),
        (is_qualified_name, LONG, False),
        (is_qualified_name, "example.com/" + LONG, False),
        (is_qualified_name, "Example.com/app", False),
        (is_qualified_name, "/app", False),
        (is_qualified_name, "app/", False),
        (is_qualified_name, "a/b/c", False),
        (is_qualified_name, "_app", False),
        (is_qualified_name, "", False),
        (is_label_value, "", True),
        (is_label_value, "My_Value-1.2", True),
        (is_label_value, "a" * 63, True),
        (is_label_value, LONG, False),
        (is_label_value, "a b", False),
        (is_label_value, "-a", False),
        (is_label_value, "é", False),
        (is_iana_svc_name, "http", True),
        (is_iana_svc_name, "dns-tcp", True),
        (is_iana_svc_name, "h2c", True),
        (is_iana_svc_name, "abcdefghijklmno", True),
        (is_iana_svc_name, "abcdefghijklmnop", False),
        (is_iana_svc_name, "80", False),
        (is_iana_svc_name, "HTTP", False),
        (is_iana_svc_name, "a--b", False),
        (is_iana_svc_name, "-ab", False),
        (is_iana_svc_name, "ab-", False),
        (is_iana_svc_name, "a_b", False),
        (is_iana_svc_name, "", False),
    ],
    ids=lambda v: v.__name__ if callable(v) else repr(v)[:20],
)
def test_formats(check_: Any, value: str, valid: bool) -> None:
    assert check_(value) is valid


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"app": "web"}, []),
        (None, []),
        ({"app": None}, []),
        ({80: "x", True: "y"}, []),
        ("app=web", [("labels", "expected an object of strings, got string")]),
        ({"app": 1}, [("labels.app", "expected a string, got number 1")]),
        ({"app": ["a"]}, [("labels.app", "expected a string, got list")]),
        ({"a b": "x"}, [("labels", 'Invalid value: "a b"')]),
        ({"app": "a b"}, [("labels", 'Invalid value: "a b": a valid label')]),
        ({None: "x"}, [("labels", "expected string keys, got null")]),
    ],
    ids=[
        "ok",
        "null",
        "null-value",
        "int-bool-keys",
        "string",
        "number",
        "list",
        "key",
        "value",
        "null-key",
    ],
)
def test_validate_label_map(value: object, expected: list[tuple[str, str]]) -> None:
    found = validate_label_map(value, "labels")
    assert [e.field for e in found] == [field for field, _ in expected]
    for problem, (_, words) in zip(found, expected, strict=True):
        assert words in problem.message


def test_validate_label_selector_standalone() -> None:
    found = validate_label_selector(
        {"matchExpressions": [{"key": "a", "operator": "In"}, "junk"], "x": 1}, "sel"
    )
    assert sorted(e.field for e in found) == [
        "sel.matchExpressions[0].values",
        "sel.matchExpressions[1]",
        "sel.x",
    ]


def test_validate_object_meta_standalone() -> None:
    found = validate_object_meta({"name": "web-0", "namespace": "x_y", "labels": {"ok": "yes"}})
    assert [e.field for e in found] == ["metadata.namespace"]
    assert validate_object_meta({"name": "web-0"}) == []


# --- nothing raises ----------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(["TCP", "In", "Exists", "Ingress", "10.0.0.0/8", "::/0", "80", "http"])
)
KEYS = (
    st.sampled_from(
        [
            "podSelector",
            "namespaceSelector",
            "ipBlock",
            "cidr",
            "except",
            "ingress",
            "egress",
            "from",
            "to",
            "ports",
            "port",
            "endPort",
            "protocol",
            "policyTypes",
            "matchLabels",
            "matchExpressions",
            "key",
            "operator",
            "values",
            "name",
            "namespace",
            "labels",
        ]
    )
    | st.text(max_size=6)
    | st.integers()
    | st.booleans()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(spec=VALUES, metadata=VALUES)
def test_no_input_raises(spec: object, metadata: object) -> None:
    doc = {**BASE, "spec": spec, "metadata": metadata}
    found = validate_network_policy(doc, Source("-", 1), None)
    assert all(isinstance(d, Diagnostic) and d.message for d in found)


@settings(max_examples=200, deadline=None)
@given(doc=st.dictionaries(KEYS, VALUES, max_size=6))
def test_no_top_level_input_raises(doc: dict[Any, Any]) -> None:
    validate_network_policy(doc, None, "ns")


# --- what validation accepts, the converter can trust --------------------------------------


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


def _few(item: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any] | None]:
    return st.lists(item | st.none(), max_size=2) | st.none()


_REQUIREMENT = _optional(
    key=st.sampled_from(["app", "example.com/tier", "", "a/b/c"]),
    operator=st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Equals", None]),
    values=_few(st.sampled_from(["web", "", "a b", 1])),
)
_SELECTOR = _optional(
    matchLabels=st.dictionaries(
        st.sampled_from(["app", "a b", "example.com/x", 80]),
        st.sampled_from(["web", "", None, "a b", 1]),
        max_size=2,
    )
    | st.none(),
    matchExpressions=_few(_REQUIREMENT),
)
_IP_BLOCK = _optional(
    cidr=st.sampled_from(["10.0.0.0/8", "10.0.0.1/24", "::/0", "2001:DB8::/32", "bad", ""]),
    except_=_few(st.sampled_from(["10.1.0.0/16", "10.0.0.0/8", "192.168.0.0/16", "fd00::/8"])),
).map(lambda block: {("except" if k == "except_" else k): v for k, v in block.items()})
_PEER = _optional(podSelector=_SELECTOR, namespaceSelector=_SELECTOR, ipBlock=_IP_BLOCK)
_PORT = _optional(
    protocol=st.sampled_from(["TCP", "UDP", "SCTP", "HTTP", "", None]),
    port=st.sampled_from([80, 0, "http", "80", 65536, None]),
    endPort=st.sampled_from([90, 70, 70000, None]),
)
_PORTS = st.lists(_PORT, max_size=2) | st.none()  # null items: test_null_port_item_converts
_SPEC = _optional(
    podSelector=_SELECTOR | st.none(),
    ingress=_few(_optional(ports=_PORTS, **{"from": _few(_PEER)})),
    egress=_few(_optional(ports=_PORTS, to=_few(_PEER))),
    policyTypes=st.lists(st.sampled_from(["Ingress", "Egress", "x", None]), max_size=3) | st.none(),
)


@settings(max_examples=500, deadline=None)
@given(spec=_SPEC)
def test_accepted_policies_convert(spec: dict[str, Any]) -> None:
    from netfence.parse.policy import to_policy

    doc = {**BASE, "spec": spec}
    found = validate_network_policy(doc, None, None)
    if not any(d.severity is Severity.ERROR for d in found):
        policy = to_policy(doc, "ns", None)
        assert len(policy.ingress) == len(spec.get("ingress") or [])


def test_null_port_item_converts() -> None:
    from netfence.parse.policy import to_policy

    doc = {**BASE, "spec": {"ingress": [{"ports": [None]}]}}
    assert validate_network_policy(doc, None, None) == []
    to_policy(doc, "ns", None)
