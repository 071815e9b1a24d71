"""Bad input: a clear message naming file, object and field; exit code 2; never a traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from tests.conftest import run_cli

BAD_POLICY = """\
kind: NetworkPolicy
apiVersion: networking.k8s.io/v1
metadata: {namespace: ui, name: allow-ui-egress}
spec:
  podSelector: {}
  egress:
    - ports:
        - {port: 9000, endPort: 8000}
"""


def no_traceback(text: str) -> bool:
    return "Traceback" not in text


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        (
            {"p.yaml": "a: [1,\n"},
            ["check", "ui/ui-0", "1.2.3.4", "-p", "1", "-f", "p.yaml"],
            "p.yaml: doc 1: invalid YAML at line 2",
        ),
        (
            {"p.yaml": "kind: Pod\nmetadata: {name: x}\n---\n" + BAD_POLICY},
            ["matrix", "-f", "p.yaml"],
            "p.yaml: doc 2: NetworkPolicy ui/allow-ui-egress: spec.egress[0].ports[0].endPort: Invalid value: 8000: must be greater than or equal to `port`",
        ),
        (
            {"p.yaml": "kind: Pod\nmetadata: {name: x}\n"},
            ["check", "default/nope", "default/x", "-p", "80", "-f", "p.yaml"],
            "pod 'nope' not found",
        ),
        (
            {},
            ["check", "a/b", "c/d", "-f", "missing.yaml"],
            "missing.yaml: no such file or directory",
        ),
        (
            {"p.yaml": "kind: Pod\nmetadata: {name: x}\n"},
            ["check", "default/x", "default/x", "-f", "p.yaml"],
            "no pod declares any container port",
        ),
        (
            {"p.yaml": "kind: Pod\nmetadata: {name: x}\n"},
            ["check", "default/x", "default/x", "-p", "99999", "-f", "p.yaml"],
            "--port 99999: must be between 1 and 65535",
        ),
        ({}, ["check", "a/b", "c/d"], "no input: give manifests with -f PATH"),
    ],
)
def test_bad_input_exits_2_with_a_located_message(
    tmp_path: Path, files: dict[str, str], args: list[str], message: str
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    result = run_cli(*args, cwd=tmp_path)
    assert result.code == 2, result
    assert message in result.err
    assert no_traceback(result.err) and result.out == ""


def test_validate_reports_every_problem_and_exits_1(tmp_path: Path) -> None:
    text = (
        BAD_POLICY
        + "---\n"
        + BAD_POLICY.replace("allow-ui-egress", "Bad_Name").replace(
            "podSelector: {}", "podSelector: {matchLabels: {'a b': c}}"
        )
    )
    (tmp_path / "p.yaml").write_text(text)
    result = run_cli("validate", "-f", "p.yaml", cwd=tmp_path)
    assert result.code == 1
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) >= 4, result.err
    assert any("doc 2: NetworkPolicy ui/Bad_Name: metadata.name" in e for e in errors)
    assert any("spec.podSelector.matchLabels" in e for e in errors)
    assert no_traceback(result.err)


def test_validate_json(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(BAD_POLICY)
    result = run_cli("validate", "-f", "p.yaml", "-o", "json", cwd=tmp_path)
    data = json.loads(result.out)
    assert result.code == 1 and data["valid"] is False
    assert data["diagnostics"][0]["field"] == "spec.egress[0].ports[0].endPort"
    assert data["diagnostics"][0]["file"] == "p.yaml" and data["diagnostics"][0]["doc"] == 1


def test_validate_accepts_the_bundled_scenario(scenario: Path) -> None:
    result = run_cli("validate", "-k", "cluster", "-f", "policies", "-n", "ui")
    assert result.code == 0, result.err
    assert result.out.startswith("valid: 6 NetworkPolicies, 11 pods, 10 services, 8 namespaces")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- {from: ui/nope, to: 1.2.3.4, port: 1, allowed: true}\n",
            "e.yaml: doc 1: [0].from: 'ui/nope': pod 'nope' not found",
        ),
        ("- {from: ui/ui-0, to: 1.2.3.4, port: 1}\n", "e.yaml: doc 1: [0].allowed: Required value"),
        (
            "- {from: ui/ui-0, to: 1.2.3.4, port: 1, allowed: true, prot: UDP}\n",
            '[0].prot: unknown field "prot"',
        ),
        (
            "- {from: ui/ui-0, to: 1.2.3.4, port: 1, allowed: true, protocol: ICMP}\n",
            '[0].protocol: Unsupported value: "ICMP"',
        ),
        ("{from: x}\n", "expected a list of expectations, got object"),
        (
            "- {from: ui/ui-0, to: catalog/catalog-0, port: grpc, allowed: true}\n",
            "[0].port: 'catalog/catalog-0': no pod declares a port named 'grpc'",
        ),
    ],
)
def test_bad_expectations_exit_2(tmp_path: Path, scenario: Path, text: str, message: str) -> None:
    (tmp_path / "e.yaml").write_text(text)
    result = run_cli("test", str(tmp_path / "e.yaml"), "-k", "cluster")
    assert result.code == 2, result
    assert message in result.err
    assert no_traceback(result.err)


def test_stdin_manifests(scenario: Path) -> None:
    policy = (scenario / "policies" / "default-deny.yaml").read_text()
    result = run_cli(
        "check",
        "ui/ui-0",
        "catalog/catalog-0",
        "-p",
        "8080",
        "-k",
        "cluster",
        "-f",
        "-",
        "-n",
        "ui",
        stdin=policy,
    )
    assert result.code == 1 and "isolated by ui/default-deny" in result.out


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.code == 0
    for command in ("check", "matrix", "test", "validate", "demo", "scenario"):
        assert f"  {command} " in result.out


def test_check_path_does_not_import_heavy_modules(scenario: Path) -> None:
    """Start-up stays light: the check command never imports rich (timing is in bench/)."""
    import subprocess
    import sys

    code = (
        "import sys; from netfence.cli.main import main; sys.argv=['netfence','check','ui/ui-0',"
        "'catalog.catalog','-p','80','-k','cluster']\ntry: main()\nexcept SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich','numpy','kubernetes')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=scenario, check=False
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_kubectl_plugin_entry_point() -> None:
    """Installed as kubectl-netfence, so `kubectl netfence …` works when it is on PATH."""
    import shutil
    import subprocess
    from pathlib import Path

    script = shutil.which("kubectl-netfence") or str(
        Path(sys.executable).with_name("kubectl-netfence")
    )
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("Usage: kubectl netfence")
