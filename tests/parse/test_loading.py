"""Loading manifests as kubectl takes them, and building the cluster from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netfence.errors import InvalidInputError
from netfence.io.cluster import load_cluster
from netfence.model.cluster import NAMESPACE_NAME_LABEL, WorkloadRef
from netfence.model.diagnostics import Severity
from netfence.parse import build_cluster, parse_documents

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
  podSelector: {}
"""


def build(text: str, namespace: str | None = None, file: str = "in.yaml"):  # type: ignore[no-untyped-def]
    return build_cluster(parse_documents(text, file), namespace)


def test_multi_document_yaml_skips_empty_documents() -> None:
    docs = parse_documents(
        "---\n" + POLICY + "---\n---\n" + POLICY.replace("name: p", "name: q"), "x"
    )
    assert [d.obj["metadata"]["name"] for d in docs] == ["p", "q"]
    assert [d.source.doc for d in docs] == [1, 3]


def test_json_and_list_kinds() -> None:
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}},
        ],
    }
    docs = parse_documents(json.dumps(listing), "list.json")
    assert [(d.kind, d.source.item) for d in docs] == [("Namespace", 0), ("Pod", 1)]


def test_kubectl_get_output_pod_list_keeps_owner_and_ips() -> None:
    text = """
apiVersion: v1
kind: PodList
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: ui-6d8f7b9c4-x2x9z
    namespace: ui
    labels: {app: ui, pod-template-hash: 6d8f7b9c4}
    ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: ui-6d8f7b9c4, controller: true, uid: u}]
  spec: {nodeName: n1, containers: [{name: c, ports: [{containerPort: 8080, name: http}]}]}
  status: {podIP: 10.1.2.3, podIPs: [{ip: 10.1.2.3}, {ip: "fd00::3"}]}
"""
    pod = build(text).cluster.pods[0]
    assert pod.workload == WorkloadRef("Deployment", "ui")
    assert [str(ip) for ip in pod.ips] == ["10.1.2.3", "fd00::3"]
    assert pod.node == "n1" and pod.named_port("http", pod.ports[0].protocol) == 8080


def test_default_namespace_and_implicit_namespace_with_notice() -> None:
    built = build(POLICY, namespace="ui")
    assert built.cluster.policies[0].namespace == "ui"
    ns = built.cluster.namespace("ui")
    assert ns is not None and not ns.declared
    assert ns.labels[NAMESPACE_NAME_LABEL] == "ui"
    assert any(
        d.severity is Severity.NOTICE and "not declared" in d.message for d in built.diagnostics
    )


def test_declared_namespace_gets_the_name_label() -> None:
    built = build("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: y}}\n")
    ns = built.cluster.namespace("a")
    assert ns is not None and dict(ns.labels) == {"x": "y", NAMESPACE_NAME_LABEL: "a"}


def test_match_labels_null_means_everything() -> None:
    text = POLICY.replace("podSelector: {}", "podSelector:\n    matchLabels:\n")
    policy = build(text).cluster.policies[0]
    assert policy.pod_selector.is_empty


@pytest.mark.parametrize(
    ("kind", "extra", "names"),
    [
        ("Deployment", "replicas: 3", ["w-0", "w-1", "w-2"]),
        ("StatefulSet", "replicas: 2", ["w-0", "w-1"]),
        ("Deployment", "replicas: 0", []),
        ("Deployment", "", ["w-0"]),
        ("ReplicaSet", "replicas: 1", ["w-0"]),
        ("Job", "parallelism: 2", ["w-0", "w-1"]),
        ("DaemonSet", "", ["w-0"]),
    ],
)
def test_workloads_expand_into_predictable_pods(kind: str, extra: str, names: list[str]) -> None:
    text = f"""
apiVersion: apps/v1
kind: {kind}
metadata: {{name: w, namespace: n}}
spec:
  {extra or "selector: {matchLabels: {app: w}}"}
  selector: {{matchLabels: {{app: w}}}}
  template:
    metadata: {{labels: {{app: w}}}}
    spec: {{containers: [{{name: c, ports: [{{containerPort: 80, name: web}}]}}]}}
"""
    if not extra:
        text = text.replace("  selector: {matchLabels: {app: w}}\n  selector", "  selector", 1)
    pods = build(text).cluster.pods
    assert [p.name for p in pods] == names
    assert all(p.workload == WorkloadRef(kind, "w") and p.labels["app"] == "w" for p in pods)


def test_daemonset_runs_one_pod_per_node_and_cronjob_one_pod() -> None:
    text = """
apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: c}]}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: db}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template: {metadata: {labels: {app: backup}}, spec: {containers: [{name: c}]}}
"""
    pods = build(text).cluster.pods
    assert [(p.key, p.node) for p in pods] == [
        ("db/backup-0", None),
        ("kube-system/agent-n1", "n1"),
        ("kube-system/agent-n2", "n2"),
    ]


def test_given_pods_stand_for_their_workload() -> None:
    text = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: w, namespace: n}
spec:
  replicas: 3
  selector: {matchLabels: {app: w}}
  template: {metadata: {labels: {app: w}}, spec: {containers: [{name: c}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: w-abc, namespace: n, labels: {app: w}}
spec: {containers: [{name: c}]}
"""
    assert [p.name for p in build(text).cluster.pods] == ["w-abc"]


def test_addresses_are_deterministic_and_never_reused() -> None:
    text = """
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: n}
spec: {containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: n}
spec: {containers: [{name: c}]}
status: {podIP: 10.244.0.1}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec: {selector: {k: v}, ports: [{port: 53, protocol: UDP}]}
"""
    cluster = build(text).cluster
    ips = {p.name: str(p.ips[0]) for p in cluster.pods}
    assert ips == {"a": "10.244.0.1", "b": "10.244.0.2"}
    assert [str(ip) for ip in cluster.services[0].cluster_ips] == ["172.20.0.10"]


def test_later_object_replaces_earlier_with_notice() -> None:
    text = (
        POLICY + "---\n" + POLICY.replace("podSelector: {}", "podSelector: {matchLabels: {a: b}}")
    )
    built = build(text, "n")
    assert len(built.cluster.policies) == 1
    assert not built.cluster.policies[0].pod_selector.is_empty
    assert any("replaces an earlier object" in d.message for d in built.diagnostics)


def test_unknown_kinds_are_counted_not_fatal() -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
    built = build(text)
    assert built.skipped == {"ConfigMap": 1, "Secret": 1} and not built.errors


def test_invalid_policy_is_reported_and_left_out() -> None:
    text = POLICY.replace("podSelector: {}", "podSelector: {}\n  policyTypes: [Sideways]")
    built = build(text, "n")
    assert built.cluster.policies == ()
    assert built.errors[0].field == "spec.policyTypes[0]"
    assert (
        built.errors[0]
        .format()
        .startswith("in.yaml: doc 1: NetworkPolicy n/p: spec.policyTypes[0]")
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, ports: [{containerPort: x}]}]}\n",
            "spec.containers[0].ports[0].containerPort: expected an integer, got string",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: yes please}\n",
            "spec.hostNetwork: expected a boolean",
        ),
        (
            "kind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 99999}]}\n",
            "spec.ports[0].port: Invalid value: 99999",
        ),
        (
            "kind: Pod\nmetadata: {name: p, labels: [a]}\n",
            "metadata.labels: expected an object, got list",
        ),
        (
            "kind: Pod\nmetadata: {name: p}\nstatus: {podIP: 10.0.0.300}\n",
            'status.podIP: Invalid value: "10.0.0.300"',
        ),
        (
            "kind: Deployment\nmetadata: {name: d}\nspec: {replicas: two}\n",
            "spec.replicas: expected an integer",
        ),
    ],
)
def test_wrong_types_in_other_kinds_are_diagnostics(text: str, fragment: str) -> None:
    built = build("apiVersion: v1\n" + text)
    assert any(fragment in d.format() for d in built.errors), [d.format() for d in built.errors]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: [1, 2\n", "in.yaml: doc 1: invalid YAML at line 2"),
        ("kind: Pod\n---\n- 1\n", "in.yaml: doc 2: expected an object, got list"),
        ('{"kind": "Pod",, }', "invalid YAML"),
        ("kind: List\nitems: 3\n", "items: expected a list, got number"),
    ],
)
def test_broken_documents_raise_one_error_naming_the_document(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_documents(text, "in.yaml")
    assert fragment in str(info.value)


def test_directories_are_read_recursively_and_stdin_is_dash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "p.yaml").write_text(POLICY)
    (tmp_path / "a" / "notes.txt").write_text("not a manifest")
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(POLICY.replace("name: p", "name: q")))
    built = load_cluster([str(tmp_path), "-"], namespace="n")
    assert sorted(p.name for p in built.cluster.policies) == ["p", "q"]


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        load_cluster([str(tmp_path / "nope.yaml")])
    assert "nope.yaml: no such file or directory" in str(info.value)


def test_kustomization_sets_namespace_and_reports_what_it_does_not_apply(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [policy.yaml, sub]\nnamespace: shop\ncommonLabels: {a: b}\n"
    )
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "kustomization.yaml").write_text("resources: [ns.yaml]\n")
    (tmp_path / "sub" / "ns.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"
    )
    built = load_cluster([], [str(tmp_path)])
    assert built.cluster.policies[0].namespace == "shop"
    assert built.cluster.namespace("shop") is not None
    assert any("commonLabels: not applied" in d.format() for d in built.diagnostics)
    assert [n.field for n in built.completeness.not_applied] == ["commonLabels"]


def test_kustomization_with_missing_resource_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [gone.yaml]\n")
    with pytest.raises(InvalidInputError) as info:
        load_cluster([], [str(tmp_path)])
    assert "resources: gone.yaml: no such file or directory" in str(info.value)


def test_bundled_scenario_loads_like_the_workshop_cluster(scenario: Path) -> None:
    built = load_cluster([], [str(scenario / "cluster")])
    assert not built.errors
    cluster = built.cluster
    assert {ns.name for ns in cluster.namespaces} == {
        "carts",
        "catalog",
        "checkout",
        "kube-system",
        "orders",
        "other",
        "ui",
    }
    assert [p.key for p in cluster.pods if p.namespace == "kube-system"] == [
        "kube-system/coredns-0",
        "kube-system/coredns-1",
    ]
    dns = cluster.service("kube-system", "kube-dns")
    assert dns is not None and str(dns.cluster_ips[0]) == "172.20.0.10"
    assert len(cluster.pods) == 11
