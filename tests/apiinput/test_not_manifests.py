"""Files that are not manifests: skipped with a notice; Helm sources: render them first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import run_cli

from netfence.errors import InvalidInputError
from netfence.io.manifests import load_manifests
from netfence.model.diagnostics import Severity
from netfence.parse.documents import NOT_A_MANIFEST, NOT_DECODED

POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: web}
spec: {podSelector: {}}
"""
DASHBOARD = {"title": "Pods", "panels": [{"type": "graph", "targets": [{"expr": "up"}]}]}
NOT_MANIFESTS = {
    "package.json": json.dumps({"name": "site", "version": "1.0.0", "scripts": {}}),
    "values.yaml": "replicaCount: 2\nimage: {repository: nginx}\n",
    "dashboards/pods.json": json.dumps(DASHBOARD),
    "tests.yaml": "- from: a/b\n  to: c/d\n  allowed: true\n",
    "notes.yaml": "just a string\n",
}


@pytest.mark.parametrize("name", sorted(NOT_MANIFESTS))
def test_a_file_that_is_not_a_manifest_is_skipped_with_a_notice(tmp_path: Path, name: str) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(NOT_MANIFESTS[name])
    loaded = load_manifests([str(tmp_path)])
    assert [d.obj["kind"] for d in loaded.documents] == ["NetworkPolicy"]
    assert [(d.severity, d.format()) for d in loaded.diagnostics] == [
        (Severity.NOTICE, f"{path}: {NOT_A_MANIFEST}")
    ]


UNDECODABLE = {
    "tsconfig.json": '{\n  // compiler options\n  "compilerOptions": {"strict": true}\n}\n',
    "values.yaml": "image: {repository: nginx\nreplicas: [1, 2\n",
    "notes.md.yaml": "a: b: c\n",
}


@pytest.mark.parametrize("name", sorted(UNDECODABLE))
def test_a_file_that_does_not_decode_and_names_no_kind_is_skipped(
    tmp_path: Path, name: str
) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    path = tmp_path / name
    path.write_text(UNDECODABLE[name])
    loaded = load_manifests([str(tmp_path)])
    assert [d.obj["kind"] for d in loaded.documents] == ["NetworkPolicy"]
    (notice,) = loaded.diagnostics
    assert notice.severity is Severity.NOTICE
    assert notice.format().startswith(f"{path}: {NOT_DECODED} (invalid ")


def test_a_named_file_that_does_not_decode_is_an_error(tmp_path: Path) -> None:
    """Named with -f, it was meant as a manifest: its decoding error stays an error."""
    path = tmp_path / "tsconfig.json"
    path.write_text(UNDECODABLE["tsconfig.json"])
    with pytest.raises(InvalidInputError) as info:
        load_manifests([str(path)])
    assert f"{path}: doc 1: invalid YAML at line 3" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        '{\n  // a comment\n  "kind": "Pod"\n}\n',
        "kind: Pod\nmetadata: {name: x\n",
        "apiVersion: v1\n kind: Pod\n\tmetadata: {}\n",
    ],
)
def test_a_broken_file_that_names_a_kind_is_an_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "broken.yaml").write_text(text)
    with pytest.raises(InvalidInputError) as info:
        load_manifests([str(tmp_path)])
    assert "broken.yaml: doc 1: invalid" in str(info.value)


def test_a_manifest_file_with_a_broken_document_is_still_an_error(tmp_path: Path) -> None:
    (tmp_path / "mixed.yaml").write_text(POLICY + "---\n- 1\n")
    with pytest.raises(InvalidInputError) as info:
        load_manifests([str(tmp_path)])
    assert "mixed.yaml: doc 2: expected an object, got list" in str(info.value)


def test_the_skip_is_printed_and_the_command_goes_on(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "package.json").write_text(NOT_MANIFESTS["package.json"])
    run = run_cli("validate", "-f", ".", cwd=tmp_path)
    assert run.code == 0, run.err
    assert f"notice: ./package.json: {NOT_A_MANIFEST}" in run.err
    assert "valid: 1 NetworkPolicies" in run.out


CHART_TEMPLATE = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "app.fullname" . }}
spec:
  podSelector:
    matchLabels:
      {{- include "app.selectorLabels" . | nindent 6 }}
"""


def test_a_helm_chart_in_a_directory_says_to_run_helm_template(tmp_path: Path) -> None:
    chart = tmp_path / "charts" / "app"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: app\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("replicaCount: 1\n")
    for i in range(13):
        (chart / "templates" / f"t{i}.yaml").write_text(CHART_TEMPLATE)
    (tmp_path / "policy.yaml").write_text(POLICY)
    run = run_cli("matrix", "-f", ".", cwd=tmp_path)
    assert run.code == 2
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: ./charts/app/Chart.yaml: a Helm chart (Chart.yaml): its templates are not "
        "manifests until rendered: run `helm template NAME ./charts/app` and pass its output "
        "(`-f -`, or a file), or give -f the directories that hold plain manifests"
    ], run.err
    assert "Traceback" not in run.err


def test_a_lone_helm_template_names_its_line_and_says_to_render_it(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(CHART_TEMPLATE)
    run = run_cli("matrix", "-f", "policy.yaml", cwd=tmp_path)
    assert run.code == 2
    assert "policy.yaml: doc 1:" in run.err
    assert "looks like a Helm template: {{ ... }} at line 4" in run.err
    assert "run `helm template` on the chart" in run.err


def test_braces_in_a_valid_manifest_are_no_helm_hint(tmp_path: Path) -> None:
    text = POLICY.replace("namespace: web}", 'namespace: web, annotations: {doc: "{{ x }}"}}')
    (tmp_path / "policy.yaml").write_text(text)
    run = run_cli("validate", "-f", "policy.yaml", cwd=tmp_path)
    assert run.code == 0, run.err
    assert "helm" not in run.err.lower()


def test_a_template_that_decodes_is_still_refused_in_a_chart(tmp_path: Path) -> None:
    """Quoted actions decode as YAML; in a chart's templates/ they are still a template."""
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "np.yaml").write_text(
        POLICY.replace("name: deny", 'name: "{{ .Release.Name }}-deny"')
    )
    run = run_cli("matrix", "-f", "templates/np.yaml", cwd=tmp_path)
    assert run.code == 2
    assert run.err.startswith(
        "error: templates/np.yaml: a Helm template ({{ ... }} at line 3), not a manifest: "
        "run `helm template` on its chart"
    ), run.err
