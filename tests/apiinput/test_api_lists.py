"""Typed and nested lists as `kubectl get -o yaml|json` and the API server return them."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import run_cli

from netfence.errors import InvalidInputError
from netfence.parse import build_cluster, parse_documents

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
API_LISTS = FIXTURES / "api-lists"

NAMESPACE_LIST = """\
apiVersion: v1
kind: NamespaceList
items:
- metadata: {name: prod, labels: {env: prod}}
- metadata: {name: db}
"""
POD_LIST = """\
apiVersion: v1
kind: PodList
items:
- metadata: {name: api-1, namespace: prod, labels: {app: api}}
  spec: {containers: [{name: api, image: api}]}
- metadata: {name: pg-0, namespace: db, labels: {app: pg}}
  spec: {containers: [{name: pg, image: pg, ports: [{containerPort: 5432}]}]}
"""
POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: pg, namespace: db}
spec:
  podSelector: {matchLabels: {app: pg}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {env: prod}}
"""


def test_check_with_namespaces_in_a_namespace_list_is_allowed(tmp_path: Path) -> None:
    """The issue's reproducer: the NamespaceList's items have no kind; read as
    Namespaces, prod carries env=prod and the policy admits it."""
    (tmp_path / "ns.yaml").write_text(NAMESPACE_LIST)
    (tmp_path / "pods.yaml").write_text(POD_LIST)
    (tmp_path / "policy.yaml").write_text(POLICY)
    files = ["-f", "ns.yaml", "-f", "pods.yaml", "-f", "policy.yaml"]
    run = run_cli("check", "prod/api-1", "db/pg-0", "--port", "5432", *files, cwd=tmp_path)
    assert run.code == 0, run.err
    assert run.out.startswith("pod prod/api-1 -> db/pg-0 port 5432/TCP: ALLOWED"), run.out
    assert "<no kind>" not in run.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # typed lists: items without kind and apiVersion take the list's
        (NAMESPACE_LIST, [("v1", "Namespace", "prod"), ("v1", "Namespace", "db")]),
        (
            "apiVersion: apps/v1\nkind: DeploymentList\nitems: [{metadata: {name: a}}]\n",
            [("apps/v1", "Deployment", "a")],
        ),
        # an item that says what it is keeps it (kubectl only fills in both when both are missing)
        (
            "apiVersion: v1\nkind: PodList\nitems: [{apiVersion: v1, kind: Service, metadata: {name: s}}]\n",
            [("v1", "Service", "s")],
        ),
        (
            "apiVersion: v1\nkind: PodList\nitems: [{apiVersion: v2, metadata: {name: p}}]\n",
            [("v2", None, "p")],
        ),
        # kind: List has no item kind to give
        ("apiVersion: v1\nkind: List\nitems: [{metadata: {name: x}}]\n", [(None, None, "x")]),
        # lists in a list, in document order
        (
            "apiVersion: v1\nkind: List\nitems:\n"
            "- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n"
            "- apiVersion: v1\n  kind: PodList\n  items:\n  - metadata: {name: b}\n"
            "  - apiVersion: v1\n    kind: ServiceList\n    items: [{metadata: {name: c}}]\n"
            "- {apiVersion: v1, kind: Namespace, metadata: {name: d}}\n",
            [("v1", "Namespace", "a"), ("v1", "Pod", "b"), ("v1", "Service", "c"),
             ("v1", "Namespace", "d")],
        ),
    ],
)  # fmt: skip
def test_list_items_take_their_kind_from_the_list(
    text: str, expected: list[tuple[str | None, str | None, str]]
) -> None:
    docs = parse_documents(text, "in.yaml")
    got = [(d.obj.get("apiVersion"), d.obj.get("kind"), d.obj["metadata"]["name"]) for d in docs]
    assert got == expected


def test_nested_list_items_are_located_by_every_index() -> None:
    text = (
        "kind: List\nitems:\n- {kind: Namespace, metadata: {name: a}}\n"
        "- kind: PodList\n  items: [{metadata: {name: b}}, 3]\n"
    )
    with pytest.raises(InvalidInputError) as info:
        parse_documents(text, "in.yaml")
    assert str(info.value.diagnostics[0].format()) == (
        "in.yaml: doc 1: items[1].items[1]: expected an object, got number"
    )
    nested = "kind: List\nitems:\n- {kind: PodList, items: [{metadata: {name: b}}]}\n"
    (doc,) = parse_documents(nested, "in.yaml")
    assert doc.source.format() == "in.yaml: doc 1: items[0].items[0]"


def test_typed_lists_build_namespaces_pods_and_policies() -> None:
    docs = [
        *parse_documents((API_LISTS / "namespaces.json").read_text(), "namespaces.json"),
        *parse_documents((API_LISTS / "pods.json").read_text(), "pods.json"),
        *parse_documents((API_LISTS / "policies.yaml").read_text(), "policies.yaml"),
    ]
    built = build_cluster(docs)
    assert not built.errors
    assert built.skipped == {}
    namespaces = {ns.name: ns for ns in built.cluster.namespaces}
    assert set(namespaces) == {"prod", "dev", "db"}
    assert all(ns.declared for ns in namespaces.values())
    assert namespaces["prod"].labels.get("env") == "prod"
    assert sorted(f"{p.namespace}/{p.name}" for p in built.cluster.pods) == [
        "db/pg-0",
        "dev/api-1",
        "prod/api-1",
    ]
    assert sorted(p.name for p in built.cluster.policies) == ["default-deny", "pg-from-prod"]


def test_api_lists_fixture_gives_the_verdicts_its_policies_imply() -> None:
    run = run_cli(
        "test", "expectations.yaml", "-f", "namespaces.json", "-f", "pods.json",
        "-f", "policies.yaml", cwd=API_LISTS,
    )  # fmt: skip
    assert run.code == 0, run.out + run.err
    assert "4 passed, 0 failed" in run.out
    assert "error" not in run.err
