"""Loading manifests as kubectl takes them, and building the cluster from them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from tests.conftest import kustomization_chain

from netfence.errors import InvalidInputError
from netfence.io.cluster import load_cluster
from netfence.io.manifests import load_manifests
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
    built = build("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: v}}\n")
    ns = built.cluster.namespace("a")
    assert ns is not None and dict(ns.labels) == {"x": "v", NAMESPACE_NAME_LABEL: "a"}


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


def test_kustomization_sets_namespace_and_common_labels(tmp_path: Path) -> None:
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
    # applied since issue 10 (docs/kustomize.md)
    (policy,) = [
        d for d in load_manifests([], [str(tmp_path)]).documents if d.kind == "NetworkPolicy"
    ]
    assert policy.obj["metadata"]["labels"] == {"a": "b"}


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


# --- bounded, strict decoding (issue 9 §5): every limit is in netfence.parse.limits ---

ALIAS_BOMB = "kind: Pod\nmetadata: {name: p}\na0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[" * 5000 + "]" * 5000, "in.yaml: doc 1: invalid JSON: nested deeper than 100 levels"),
        (
            '{"a": ' + "[" * 101 + "]" * 101 + "}",
            "in.yaml: doc 1: a" + "[0]" * 99 + ": invalid JSON: nested deeper than 100 levels",
        ),
        ("a: " + "[" * 5000 + "]" * 5000, "nesting depth"),  # libyaml's own bound (1,000)
        (
            "".join(" " * i + f"k{i}:\n" for i in range(150)),
            "doc 1: k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.",
        ),
        ("".join(" " * i + f"k{i}:\n" for i in range(150)), "line 101, column 101: nested deeper"),
        (
            '{"kind": "Pod", "x": ' + "9" * 5000 + "}",
            "invalid JSON at line 1, column 22: integer too large: 5,000 digits",
        ),
        (
            "kind: Pod\nx: " + "9" * 5000 + "\n",
            "doc 1: x: invalid YAML at line 2, column 4: integer too large: 5,000 digits",
        ),
        (
            "x: !!timestamp foo\n",
            "x: invalid YAML at line 1, column 4: cannot read 'foo' as !!timestamp",
        ),
        ("x: !!float abc\n", "cannot read 'abc' as !!float"),
        ("x: !!int abc\n", "cannot read 'abc' as !!int"),
        ("x: !!bool maybe\n", "cannot read 'maybe' as !!bool"),
        ("x: !!binary 'abc'\n", "cannot read 'abc' as !!binary"),
        ("x: !custom y\n", "x: invalid YAML at line 1, column 4: unsupported YAML tag !custom"),
        ("x: !!set {a: null}\n", "unsupported YAML tag !!set"),
        (
            "kind: Pod\nmetadata:\n  name: a\n  labels: {x: y}\n  name: b\n",
            'doc 1: metadata.name: invalid YAML at line 5, column 3: duplicate key "name"',
        ),
        (
            "---\nkind: Pod\n---\nspec: {containers: [{name: c, name: d}]}\n",
            'doc 2: spec.containers[0].name: invalid YAML at line 4, column 31: duplicate key "name"',
        ),
        (
            '{"kind": "Pod", "metadata": {"labels": {"a": "1", "a": "2"}}}',
            'doc 1: metadata.labels.a: invalid JSON: duplicate key "a"',
        ),
        (
            ALIAS_BOMB,
            "a5[0]: invalid YAML at line 8, column 10: aliases bring in more than 100,000",
        ),
        (
            "a: &a [1, *a]\n",
            "a[1]: invalid YAML at line 1, column 11: alias *a refers to a node that",
        ),
        ("a: *nowhere\n", "alias *nowhere names no anchor before it"),
        (
            "a: &d " + "[" * 60 + "]" * 60 + "\nb: " + "[" * 50 + "*d" + "]" * 50 + "\n",
            "nested deeper than 100 levels (through alias *d)",
        ),
        (
            "a: {<<: 1}\n",
            "doc 1: a: invalid YAML at line 1, column 9: a merge key (<<) takes a mapping",
        ),
        ("? [a]\n: b\n", "invalid YAML at line 1, column 5: a mapping key must be a scalar"),
        (
            "~: 1\n",
            "invalid YAML at line 1, column 1: a mapping key must not be null",
        ),
        ("a: {1: x, '1': y}\n", 'doc 1: a.1: invalid YAML at line 1, column 11: duplicate key "1"'),
    ],
)
def test_input_that_does_not_decode_is_a_located_error(text: str, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_documents(text, "in.yaml")
    assert fragment in str(info.value), str(info.value)
    assert len(info.value.diagnostics) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x: =\n", "="),  # kube-prometheus CRDs: a bare "=" is a string, as kubectl reads it
        ("x: !!timestamp 2024-01-02\n", "2024-01-02T00:00:00Z"),
        ("x: !!timestamp 2024-01-02T03:04:05+01:00\n", "2024-01-02T02:04:05Z"),
        ("x: !!binary aGk=\n", "hi"),
        ("x: !!int '0x1F'\n", 31),
        ("x: <<\n", "<<"),
        ("x: [<<]\n", ["<<"]),
        ("b: &b {p: 1, q: 1}\nx: {<<: *b, q: 2}\n", {"p": 1, "q": 2}),
        ("a: &a {p: 1}\nb: &b {p: 2, r: 2}\nx: {<<: [*a, *b]}\n", {"p": 1, "r": 2}),
        ('{"x": "\\ud800-\\udc00\\ud83d\\ude00"}', "\ufffd-\ufffd\U0001f600"),
        ('{"\\udfff": 1, "x": {"\\udfff": 1}}', {"\ufffd": 1}),
        ("x: {1: a, true: b, 1.5: c, 0x10: d}\n", {"1": "a", "true": "b", "1.5": "c", "16": "d"}),
    ],
)
def test_yaml_and_json_read_as_kubectl_reads_them(text: str, expected: object) -> None:
    (doc,) = parse_documents(text, "in.yaml")
    assert doc.obj["x"] == expected


@pytest.mark.parametrize(
    "text", ["x: " + "[" * 99 + "]" * 99, '{"x": ' + "[" * 99 + "]" * 99 + "}"]
)
def test_nesting_up_to_the_bound_is_read(text: str) -> None:
    (doc,) = parse_documents(text, "in.yaml")
    depth, value = 1, doc.obj["x"]
    while value:
        depth, value = depth + 1, value[0]
    assert depth == 99


def test_aliases_within_the_bound_are_shared_not_copied() -> None:
    text = "a: &a {k: v}\nx: [" + ", ".join(["*a"] * 1000) + "]\n"
    (doc,) = parse_documents(text, "in.yaml")
    assert len(doc.obj["x"]) == 1000 and doc.obj["x"][999] is doc.obj["a"]


# --- bounded reading: special files, sizes, directory walks, kustomizations ---


def load_errors(files: list[str] = [], kustomizations: list[str] = []) -> list[str]:  # noqa: B006
    with pytest.raises(InvalidInputError) as info:
        load_cluster(files, kustomizations)
    return [d.format() for d in info.value.diagnostics]


def test_special_files_are_refused_before_they_are_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    assert load_errors([str(fifo), "/dev/zero"]) == [
        f"{fifo}: not a regular file: a FIFO (named pipe)",
        "/dev/zero: not a regular file: a character device",
    ]
    assert load_errors([str(tmp_path)]) == [f"{fifo}: not a regular file: a FIFO (named pipe)"]


def test_files_are_read_with_a_size_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netfence.io.manifests.MAX_FILE_BYTES", 2 * len(POLICY))
    (tmp_path / "big.yaml").write_text(POLICY * 3)
    (tmp_path / "ok.yaml").write_text(POLICY)
    errors = load_errors([str(tmp_path / "big.yaml"), str(tmp_path / "ok.yaml")])
    assert errors == [
        f"{tmp_path / 'big.yaml'}: larger than 0 MiB, the limit of one input (docs/limits.md)"
    ]


def test_all_inputs_together_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("netfence.io.manifests.MAX_TOTAL_BYTES", 2 * len(POLICY))
    for name in "abc":
        (tmp_path / f"{name}.yaml").write_text(POLICY.replace("name: p", f"name: {name}"))
    errors = load_errors([str(tmp_path)])
    assert len(errors) == 1 and errors[0].startswith(
        f"{tmp_path / 'c.yaml'}: the inputs of one command"
    )


def test_non_utf8_is_located(tmp_path: Path) -> None:
    (tmp_path / "l1.yaml").write_bytes(b"kind: Pod\nmetadata: {name: caf\xe9}\n")
    assert load_errors([str(tmp_path / "l1.yaml")]) == [
        f"{tmp_path / 'l1.yaml'}: not UTF-8 text: byte 0xe9 at line 2, column 21"
    ]


def test_directory_walk_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(4):
        (tmp_path / f"d{i}").mkdir()
        (tmp_path / f"d{i}" / "p.yaml").write_text(POLICY.replace("name: p", f"name: p{i}"))
    monkeypatch.setattr("netfence.io.manifests.MAX_FILES", 3)
    assert load_errors([str(tmp_path)]) == [
        f"{tmp_path}: more than 3 manifest files in one command (docs/limits.md)"
    ]
    monkeypatch.setattr("netfence.io.manifests.MAX_DIRECTORY_ENTRIES", 5)
    assert load_errors([str(tmp_path)]) == [
        f"{tmp_path}: more than 5 entries in this directory tree: give the directories "
        "that hold the manifests (docs/limits.md)"
    ]


def test_directory_walk_order_links_and_kubelet_staging(tmp_path: Path) -> None:
    """Name order as sorted paths; links to directories are not followed (a loop
    would never end), links to files are; kubelet's ``..data`` staging is skipped."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "loop").symlink_to(tmp_path)
    (tmp_path / "a" / "z.yaml").write_text(POLICY.replace("name: p", "name: az"))
    (tmp_path / "a-b.yaml").write_text(POLICY.replace("name: p", "name: ab"))
    (tmp_path / "..2024_01_01").mkdir()
    (tmp_path / "..2024_01_01" / "cm.yaml").write_text(POLICY.replace("name: p", "name: cm"))
    (tmp_path / "..data").symlink_to("..2024_01_01")
    (tmp_path / "cm.yaml").symlink_to("..data/cm.yaml")
    (tmp_path / "dangling.yaml").symlink_to("nowhere.yaml")
    built = load_cluster([str(tmp_path)], namespace="n")
    assert [p.name for p in built.cluster.policies] == ["az", "ab", "cm"]  # a/ < a-b.yaml
    assert not any("replaces" in d.message for d in built.diagnostics)


def test_a_directory_vanishing_during_the_walk_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As kubelet removes the old staging directory of a ConfigMap volume."""
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "p.yaml").write_text(POLICY.replace("name: p", f"name: {name}"))
    scandir = os.scandir

    def racing_scandir(path: object) -> object:
        if str(path) == str(tmp_path / "a"):
            shutil.rmtree(tmp_path / "b")
        return scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", racing_scandir)
    built = load_cluster([str(tmp_path)], namespace="n")
    assert [p.name for p in built.cluster.policies] == ["a"]


def test_kustomization_chains_are_bounded(tmp_path: Path) -> None:
    root = kustomization_chain(tmp_path / "chain", 1000)  # a RecursionError once
    (error_,) = load_errors([], [str(root)])
    assert error_.endswith(
        "kustomization.yaml: doc 1: kustomizations include each other more than 20 deep (docs/limits.md)"
    )


def test_kustomization_cycles_and_diamonds(tmp_path: Path) -> None:
    for name, resources in {
        "a": "[../b, ../c]",
        "b": "[../d]",
        "c": "[../d]",
        "d": "[../a]",
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "kustomization.yaml").write_text(f"resources: {resources}\n")
    errors = load_errors([], [str(tmp_path / "a")])
    assert "kustomization includes itself (" in errors[0] and " → " in errors[0]
    # b and c both reach the cycle d → a; the diamond itself (d reached twice) is
    # fine while it adds no object twice (tests/kustomize/cases.yaml)
    assert "kustomization includes itself (" in errors[1] and "/c/" in errors[1]


def test_remote_kustomize_resources_have_their_own_message(tmp_path: Path) -> None:
    remote = [
        "https://raw.githubusercontent.com/org/repo/main/x.yaml",
        "github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v1.0.6",
        "git@github.com:org/repo.git//deploy",
        "ssh://git@example.com/org/repo.git",
        "git::https://example.com/org/repo",
        "example.com/org/repo//base?ref=main",
    ]
    (tmp_path / "kustomization.yaml").write_text(
        "resources:\n" + "".join(f"- {r}\n" for r in remote)
    )
    errors = load_errors([], [str(tmp_path)])
    assert errors == [
        f"{tmp_path / 'kustomization.yaml'}: doc 1: resources: {r}: remote resources are not "
        "supported (netfence reads local files: vendor it, or pass `kustomize build` output "
        "with -f -)"
        for r in remote
    ]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "resources: [a.yaml]\nresources: [b.yaml]\n",
            'doc 1: resources: invalid YAML at line 2, column 1: duplicate key "resources"',
        ),
        ("resources: !!int x\n", "cannot read 'x' as !!int"),
        ("namespace: a\n---\nnamespace: b\n", "doc 2: expected one YAML document"),
        (
            "!!null resources: []\n",
            "a mapping key must not be null",
        ),
    ],
)
def test_kustomization_files_use_the_same_decoder(tmp_path: Path, text: str, fragment: str) -> None:
    (tmp_path / "kustomization.yaml").write_text(text)
    (error_,) = load_errors([], [str(tmp_path)])
    assert fragment in error_


def test_scenario_probe_with_an_unknown_protocol_is_a_diagnostic() -> None:
    from netfence.parse.scenario import parse_scenario

    with pytest.raises(InvalidInputError) as info:  # a ValueError (exit 70) once
        parse_scenario({"probes": [{"from": "a", "to": "b", "protocol": "ICMP"}]}, "s.yaml")
    assert str(info.value) == (
        's.yaml: doc 1: probes[0].protocol: Unsupported value: "ICMP": supported values: '
        '"SCTP", "TCP", "UDP"'
    )


def test_paths_that_cannot_exist_are_located_errors(tmp_path: Path) -> None:
    """Found by the fuzz test: a 300-character resource name raised OSError (exit 70)."""
    long = "a" * 300
    (tmp_path / "kustomization.yaml").write_text(f'resources: [{long}, "a\\0b"]\n')
    assert load_errors([], [str(tmp_path)]) == [
        f"{tmp_path / 'kustomization.yaml'}: doc 1: resources: {long}: File name too long",
        f"{tmp_path / 'kustomization.yaml'}: doc 1: resources: a\x00b: not a valid path "
        "(it contains a NUL character)",
    ]
    assert (
        load_errors([str(tmp_path / long)], [str(tmp_path / long)])
        == [f"{tmp_path / long}: File name too long"] * 2
    )
