"""Live-cluster reads through the real ``kubernetes`` client against a loopback
server that answers with recorded API responses (tests/live/fixtures)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from tests.conftest import SCENARIO, WORKSHOP_FINAL, run_cli
from tests.live.apiserver import FIXTURES, ApiServer

from netfence.io.live import read_live

WORKSHOP = FIXTURES / "workshop"
STATUS = FIXTURES / "status"
NOT_SERVED = [
    "AdminNetworkPolicy (policy.networking.k8s.io)",  # group absent from /apis
    "BaselineAdminNetworkPolicy (policy.networking.k8s.io)",
    "ClusterNetworkPolicy (policy.networking.k8s.io)",
    "ClusterNetworkPolicy (networking.k8s.aws)",  # in /apis, its group version a 404
    "ApplicationNetworkPolicy (networking.k8s.aws)",
    "NetworkPolicy (crd.projectcalico.org)",  # in discovery, its list a 404
]
CHECKS = [
    ("ui/deployment/ui", "catalog/deployment/catalog", "8080"),
    ("ui/deployment/ui", "catalog/statefulset/catalog-mysql", "3306"),
    ("ui/deployment/ui", "kube-system/service/kube-dns", "53"),
    ("ui/deployment/ui", "203.0.113.10", "80"),
    ("orders/deployment/orders", "ui/deployment/ui", "8080"),
]


def _items(*files: str) -> list[dict[str, object]]:
    return [i for f in files for i in json.loads((WORKSHOP / f).read_text())["items"]]


def live(server: ApiServer, *args: str) -> list[str]:
    return [*args, "--live", "--kubeconfig", str(server.kubeconfig)]


# --- the reader --------------------------------------------------------------


def test_pods_are_read_in_three_pages_chained_by_continue(apiserver: ApiServer) -> None:
    read = read_live(str(apiserver.kubeconfig))
    assert apiserver.recorded.lists("/api/v1/pods") == [
        {"limit": "500"},
        {"limit": "500", "continue": "page-2"},
        {"limit": "500", "continue": "page-3"},
    ]
    pages = _items("api/v1/pods.json", "api/v1/pods@page-2.json", "api/v1/pods@page-3.json")
    pods = [d for d in read.documents if d.kind == "Pod"]
    assert len(pages) >= 9 and all(len(_items(f)) for f in ("api/v1/pods@page-3.json",))
    assert [p.obj["metadata"]["name"] for p in pods] == [p["metadata"]["name"] for p in pages]  # type: ignore[index]
    assert {p.obj["apiVersion"] for p in pods} == {"v1"}
    first = pods[0].obj["metadata"]
    assert pods[0].source.file == (
        f"context fixture: /api/v1/namespaces/{first['namespace']}/pods/{first['name']}"
    )


def test_every_kind_is_listed_with_kind_and_api_version(apiserver: ApiServer) -> None:
    read = read_live(str(apiserver.kubeconfig), "fixture")
    counts = read.counts()
    assert counts == {
        "Namespace": len(_items("api/v1/namespaces.json")),
        "Node": 2,
        "Pod": len(
            _items("api/v1/pods.json", "api/v1/pods@page-2.json", "api/v1/pods@page-3.json")
        ),
        "Service": len(_items("api/v1/services.json")),
        "Deployment": len(_items("apis/apps/v1/deployments.json")),
        "StatefulSet": 2,
        "ReplicaSet": len(_items("apis/apps/v1/replicasets.json")),
        "NetworkPolicy": 2,
    }
    versions = {d.kind: d.obj["apiVersion"] for d in read.documents}
    assert versions["Deployment"] == "apps/v1"
    assert versions["NetworkPolicy"] == "networking.k8s.io/v1"
    listed = [p for p, _ in apiserver.recorded.requests]
    for path in ("/apis/apps/v1/daemonsets", "/apis/batch/v1/jobs", "/apis/batch/v1/cronjobs"):
        assert path in listed


def test_absent_crds_are_not_an_error_and_are_named(apiserver: ApiServer) -> None:
    read = read_live(str(apiserver.kubeconfig))
    assert list(read.not_served) == NOT_SERVED
    listed = [p for p, _ in apiserver.recorded.requests]
    # served CRDs are listed; discovery of one group version is asked once
    assert "/apis/cilium.io/v2/ciliumnetworkpolicies" in listed
    assert "/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies" in listed
    assert listed.count("/apis/cilium.io/v2") == 1
    assert not any(p.startswith("/apis/policy.networking.k8s.io") for p in listed)
    [notice] = read.diagnostics
    assert notice.format().startswith("context fixture: not served by this cluster")


def test_an_expired_continue_token_restarts_the_list(apiserver: ApiServer) -> None:
    apiserver.recorded.once["/api/v1/pods?continue=page-3"] = STATUS / "expired-continue.json"
    read = read_live(str(apiserver.kubeconfig))
    assert [q.get("continue") for q in apiserver.recorded.lists("/api/v1/pods")] == [
        None, "page-2", "page-3", None, "page-2", "page-3",
    ]  # fmt: skip
    pages = _items("api/v1/pods.json", "api/v1/pods@page-2.json", "api/v1/pods@page-3.json")
    assert read.counts()["Pod"] == len(pages)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (
            {"kind": "Pod", "metadata": {"name": "a", "managedFields": [{}], "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "1"}},
             "spec": {"containers": [{"name": "c", "env": [{"name": "PASSWORD", "value": "x"}],
                      "args": ["--token=x"], "ports": [{"containerPort": 80}]}],
                      "initContainers": [{"name": "i", "command": ["sh"], "envFrom": []}]}},
            {"kind": "Pod", "metadata": {"name": "a", "annotations": {"keep": "1"}},
             "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}],
                      "initContainers": [{"name": "i"}]}},
        ),
        (
            {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "env": [], "image": "busybox"}]}}}}}},
            {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "c", "image": "busybox"}]}}}}}},
        ),
        (
            {"kind": "Deployment", "spec": {"replicas": 2, "template": {"spec": {
                "containers": [{"name": "c", "command": ["run"]}]}}}},
            {"kind": "Deployment", "spec": {"replicas": 2, "template": {"spec": {
                "containers": [{"name": "c"}]}}}},
        ),
        (  # other kinds keep their spec
            {"kind": "NetworkPolicy", "spec": {"podSelector": {}, "env": 1}},
            {"kind": "NetworkPolicy", "spec": {"podSelector": {}, "env": 1}},
        ),
    ],
)  # fmt: skip
def test_what_a_ticket_must_not_carry_is_left_out(
    obj: dict[str, object], expected: dict[str, object]
) -> None:
    from netfence.io.live import redact

    assert redact(obj) == expected


# --- the commands on a live read ---------------------------------------------


@pytest.mark.parametrize(("source", "destination", "port"), CHECKS)
def test_check_on_a_live_read_gives_the_verdict_of_the_same_objects_in_files(
    apiserver: ApiServer, source: str, destination: str, port: str
) -> None:
    from_files = run_cli(
        "check", source, destination, "--port", port, "-o", "json", *WORKSHOP_FINAL
    )
    from_live = run_cli(
        *live(apiserver, "check", source, destination, "--port", port, "-o", "json")
    )
    assert from_live.code == from_files.code, from_live.err
    verdict = json.loads(from_live.out)
    assert verdict["allowed"] == json.loads(from_files.out)["allowed"]
    assert "not served by this cluster, so none read: AdminNetworkPolicy" in from_live.err
    assert "Traceback" not in from_live.err


def test_matrix_and_test_on_a_live_read_equal_the_workshop_files(apiserver: ApiServer) -> None:
    from_files = run_cli("matrix", *WORKSHOP_FINAL)
    from_live = run_cli(*live(apiserver, "matrix"))
    assert from_live.code == from_files.code == 0, from_live.err
    assert from_live.out == from_files.out
    assert "✗" in from_live.out  # the policies deny something: not a trivially open grid
    tests_files = run_cli("test", "expectations.yaml", *WORKSHOP_FINAL)
    tests_live = run_cli(*live(apiserver, "test", "expectations.yaml"))
    assert tests_live.code == tests_files.code == 0, tests_live.err
    assert (
        tests_live.out.splitlines()[-1] == tests_files.out.splitlines()[-1] == "6 passed, 0 failed"
    )


def test_lint_and_report_accept_the_live_options(apiserver: ApiServer, tmp_path: Path) -> None:
    def findings(out: str) -> list[tuple[str, str, str]]:
        return [(f["id"], f["object"], f["message"]) for f in json.loads(out)["findings"]]

    lint_files = run_cli("lint", "-o", "json", *WORKSHOP_FINAL)
    lint_live = run_cli(*live(apiserver, "lint", "-o", "json"))
    assert lint_live.code == lint_files.code, lint_live.err
    assert findings(lint_live.out) == findings(lint_files.out)
    report = run_cli(*live(apiserver, "report", "-o", str(tmp_path / "r.html")))
    assert report.code == 0, report.err
    assert report.out.startswith(f"wrote {tmp_path / 'r.html'}: 10 workloads")


def test_kubeconfig_comes_from_the_environment_as_kubectl_does(
    apiserver: ApiServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "KUBECONFIG", os.pathsep.join([str(tmp_path / "absent"), str(apiserver.kubeconfig)])
    )
    result = run_cli("check", "ui/deployment/ui", "203.0.113.10", "--port", "80", "--live")
    assert result.code == 1, result.err  # denied by default-deny
    assert "DENIED" in result.out


def test_live_files_apply_on_top_of_the_cluster(apiserver: ApiServer, tmp_path: Path) -> None:
    """-f with --live: the file replaces the live object of the same name (kubectl apply)."""
    opened = tmp_path / "open.yaml"
    opened.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: allow-ui-egress, namespace: ui}\n"
        "spec: {podSelector: {}, policyTypes: [Egress], egress: [{}]}\n"
    )
    before = run_cli(*live(apiserver, "check", "ui/deployment/ui", "203.0.113.10", "-p", "80"))
    after = run_cli(
        *live(apiserver, "check", "ui/deployment/ui", "203.0.113.10", "-p", "80", "-f", str(opened))
    )
    assert (before.code, after.code) == (1, 0), after.err
    assert "replaces an earlier object with the same name" in after.err


def test_diff_takes_the_live_cluster_as_the_base(apiserver: ApiServer, tmp_path: Path) -> None:
    change = tmp_path / "catalog-deny.yaml"
    change.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: deny-ingress, namespace: catalog}\n"
        "spec: {podSelector: {}, policyTypes: [Ingress]}\n"
    )

    def changes(out: str) -> list[tuple[object, ...]]:  # by workload: pod names differ
        data = json.loads(out)
        keys = ("kind", "from", "to", "port", "protocol", "pairs", "dns")
        return [tuple(c[k] for k in keys) for c in data["changes"]]

    args = ("diff", "--apply", str(change), "--fail-on-loss", "-o", "json")
    from_live = run_cli(*live(apiserver, *args))
    from_files = run_cli(*args, *WORKSHOP_FINAL)
    assert from_live.code == from_files.code == 1, from_live.err
    assert changes(from_live.out) == changes(from_files.out)
    assert json.loads(from_live.out)["lost"] == 17
    assert from_live.err.count("not served by this cluster") == 1  # two loads, one read
    assert len(apiserver.recorded.lists("/api/v1/namespaces")) == 1
    assert ("lost", "ui/deployment/ui", "catalog/deployment/catalog", 8080, "TCP", 1, False) in (
        changes(from_live.out)
    )
    refused = run_cli(*live(apiserver, "diff", "--before", str(tmp_path), "--after", str(tmp_path)))
    assert refused.code == 2 and "--before DIR and --after DIR together" in refused.err


# --- snapshot ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["yaml", "list", "json"])
def test_snapshot_then_files_gives_the_verdicts_of_the_live_read(
    apiserver: ApiServer, tmp_path: Path, form: str
) -> None:
    saved = tmp_path / f"cluster.{form}"
    made = run_cli(
        "snapshot", "-o", str(saved), "--format", form, "--kubeconfig", str(apiserver.kubeconfig)
    )
    assert made.code == 0, made.err
    assert f"wrote {saved}: " in made.err and "from context fixture" in made.err
    text = saved.read_text()
    assert "kube-controller-manager" not in text and "JAVA_OPTS" not in text  # left out for tickets
    if form != "json":
        assert text.startswith("# netfence snapshot of context fixture (http://127.0.0.1:")
    offline = run_cli("matrix", "-f", str(saved))
    online = run_cli(*live(apiserver, "matrix"))
    assert offline.code == online.code == 0, offline.err
    assert offline.out == online.out
    for source, destination, port in CHECKS[:2] if form == "yaml" else ():
        args = ("check", source, destination, "--port", port)
        a, b = run_cli(*args, "-f", str(saved)), run_cli(*live(apiserver, *args))
        assert (a.code, a.out) == (b.code, b.out)


def test_snapshot_yaml_holds_every_object_read(apiserver: ApiServer, tmp_path: Path) -> None:
    made = run_cli(
        "snapshot", "-o", "-", "--kubeconfig", str(apiserver.kubeconfig), "--context", "fixture"
    )
    assert made.code == 0, made.err
    documents = [d for d in yaml.safe_load_all(made.out) if d]
    read = read_live(str(apiserver.kubeconfig))
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        (d.kind, d.obj["metadata"]["name"]) for d in read.documents
    ]


# --- errors ------------------------------------------------------------------


def test_forbidden_lists_name_the_resource_verb_and_rule(apiserver: ApiServer) -> None:
    apiserver.recorded.overrides["/api/v1/nodes"] = STATUS / "forbidden-nodes.json"
    apiserver.recorded.overrides["/apis/cilium.io/v2/ciliumnetworkpolicies"] = (
        STATUS / "forbidden-ciliumnetworkpolicies.json"
    )
    result = run_cli(*live(apiserver, "matrix"))
    assert result.code == 3
    assert result.out == ""
    assert result.err.splitlines() == [
        "error: context fixture: forbidden (403): netfence reads the whole cluster and may not list:",
        '  nodes (core): nodes is forbidden: User "system:serviceaccount:ops:netfence" cannot list resource "nodes" in API group "" at the cluster scope',
        '  ciliumnetworkpolicies (cilium.io): ciliumnetworkpolicies.cilium.io is forbidden: User "system:serviceaccount:ops:netfence" cannot list resource "ciliumnetworkpolicies" in API group "cilium.io" at the cluster scope',
        "the ClusterRole of this user needs the rules (see docs/live.md):",
        '  - apiGroups: [""], resources: ["nodes"], verbs: ["list"]',
        '  - apiGroups: ["cilium.io"], resources: ["ciliumnetworkpolicies"], verbs: ["list"]',
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--context", "nope"],
            'kubeconfig {kubeconfig}: context "nope" not found (contexts: fixture, refused)',
        ),
        (
            ["--context", "refused"],
            "context refused: cannot reach the API server http://127.0.0.1:",
        ),
    ],
)
def test_environment_problems_are_located_and_exit_3(
    apiserver: ApiServer, args: list[str], message: str
) -> None:
    result = run_cli(*live(apiserver, "check", "ui/deployment/ui", "203.0.113.10"), *args)
    assert result.code == 3, result.err
    assert result.err.startswith("error: " + message.format(kubeconfig=apiserver.kubeconfig))
    assert "Traceback" not in result.err and len(result.err.splitlines()) == 1


def test_connection_refused_is_said_briefly(apiserver: ApiServer) -> None:
    result = run_cli(*live(apiserver, "matrix", "--context", "refused"))
    assert result.err.rstrip().endswith(": connection refused"), result.err


def test_rejected_credentials(apiserver: ApiServer, tmp_path: Path) -> None:
    config = yaml.safe_load(apiserver.kubeconfig.read_text())
    config["users"][0]["user"]["token"] = "wrong"
    wrong = tmp_path / "wrong"
    wrong.write_text(yaml.safe_dump(config))
    result = run_cli("matrix", "--live", "--kubeconfig", str(wrong))
    assert result.code == 3
    assert result.err == (
        "error: context fixture: the API server rejected the credentials (401 Unauthorized): "
        "Unauthorized\n"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("apiVersion: v1\nkind: Config\n", "no current-context: give --context NAME"),
        ("{{{", "not a kubeconfig"),
    ],
)
def test_bad_kubeconfigs(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "config"
    if content is not None:
        path.write_text(content)
    result = run_cli("lint", "--live", "--kubeconfig", str(path))
    assert result.code == 3, result.err
    assert result.err.startswith(f"error: kubeconfig {path}: {message}"), result.err


def test_live_options_need_live(apiserver: ApiServer) -> None:
    result = run_cli("matrix", "-k", "cluster", "--context", "fixture")
    assert result.code == 2
    assert "--context reads a cluster only with --live" in result.err
    assert apiserver.recorded.requests == []  # never read a cluster by accident


def test_without_the_kubernetes_client_the_message_says_what_to_install(
    apiserver: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hidden = tmp_path / "hide"
    (hidden / "kubernetes").mkdir(parents=True)
    (hidden / "kubernetes" / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(hidden), os.environ.get("PYTHONPATH", "")])
    )
    result = run_cli(*live(apiserver, "matrix"))
    assert result.code == 3
    assert result.err == (
        "error: reading a live cluster needs the Kubernetes client: pip install 'netfence[k8s]'\n"
    )
    assert apiserver.recorded.requests == []


def test_the_fixture_cluster_is_the_workshop() -> None:
    """The recorded responses hold the workshop's objects (what the comparisons rely on)."""
    names = {i["metadata"]["name"] for i in _items("apis/apps/v1/deployments.json")}  # type: ignore[index]
    assert names == {
        "carts",
        "carts-dynamodb",
        "catalog",
        "checkout",
        "checkout-redis",
        "coredns",
        "orders",
        "ui",
    }
    assert (SCENARIO / "expectations.yaml").is_file()


def test_finished_jobs_are_not_read(apiserver: ApiServer) -> None:
    """A Complete or Failed Job starts no pod again: read, it would stand for a pod."""
    apiserver.recorded.overrides["/apis/batch/v1/jobs"] = FIXTURES / "extra" / "jobs.json"
    read = read_live(str(apiserver.kubeconfig))
    jobs = [d.obj["metadata"]["name"] for d in read.documents if d.kind == "Job"]
    assert jobs == ["report-29400120"]  # the running one; its pods are expanded
    assert len(_items("../extra/jobs.json")) == 3


def test_the_documented_cluster_role_allows_every_list_the_reader_makes() -> None:
    from netfence.io.live import BUILTIN_KINDS

    text = (SCENARIO.parents[3] / "docs" / "live.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```yaml\n")[1:]]
    [role] = [d for b in blocks for d in yaml.safe_load_all(b) if d.get("kind") == "ClusterRole"]
    allowed = {
        (group, resource)
        for rule in role["rules"]
        if "list" in rule["verbs"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    needed = {(k.group, k.plural) for k in BUILTIN_KINDS} | {
        ("policy.networking.k8s.io", "adminnetworkpolicies"),
        ("policy.networking.k8s.io", "baselineadminnetworkpolicies"),
        ("policy.networking.k8s.io", "clusternetworkpolicies"),
        ("networking.k8s.aws", "clusternetworkpolicies"),
        ("networking.k8s.aws", "applicationnetworkpolicies"),
        ("cilium.io", "ciliumnetworkpolicies"),
        ("cilium.io", "ciliumclusterwidenetworkpolicies"),
        ("crd.projectcalico.org", "networkpolicies"),
        ("crd.projectcalico.org", "globalnetworkpolicies"),
    }
    assert needed <= allowed, needed - allowed


def test_a_list_that_never_ends_is_an_error(apiserver: ApiServer) -> None:
    """Bounded input: a server that sends a continue token again would loop forever."""
    apiserver.recorded.overrides["/api/v1/pods?continue=page-3"] = (
        FIXTURES / "extra" / "pods-back-to-page-2.json"
    )
    result = run_cli(*live(apiserver, "matrix"))
    assert result.code == 3
    assert result.err == (
        "error: context fixture: list pods: the API server does not end the list "
        "(continue token 'page-2' after 3 pages)\n"
    )
    assert len(apiserver.recorded.lists("/api/v1/pods")) == 3


def test_an_answer_that_is_not_json_is_located(apiserver: ApiServer) -> None:
    apiserver.recorded.overrides["/api/v1/services"] = FIXTURES / "extra" / "not-json.json"
    result = run_cli(*live(apiserver, "lint"))
    assert result.code == 3
    assert result.err == (
        "error: context fixture: list services: the API server's answer is not JSON "
        "(or nested deeper than Python reads)\n"
    )


def test_the_bytes_of_one_read_are_bounded(
    apiserver: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netfence.errors import EnvironmentProblem
    from netfence.io import live as live_module

    monkeypatch.setattr(live_module, "MAX_LIVE_BYTES", 20_000)
    with pytest.raises(EnvironmentProblem, match="answers pass 20,000 bytes"):
        read_live(str(apiserver.kubeconfig))
    assert len(apiserver.recorded.requests) < 6  # it stopped reading


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [],
            "no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running in a cluster: give --kubeconfig PATH",
        ),
        (
            ["--context", "prod"],
            "--context prod: no kubeconfig (give --kubeconfig or set KUBECONFIG)",
        ),
    ],
)
def test_no_kubeconfig_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)
    result = run_cli("matrix", "--live", *args)
    assert result.code == 3
    assert result.err == f"error: {message}\n"
