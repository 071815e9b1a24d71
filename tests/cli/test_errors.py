"""Bad input: a clear message naming file, object and field; exit code 2; never a traceback."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from tests.conftest import kustomization_chain, run_cli

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
# An invalid object (a policy with endPort below port) is left out and the answer
# printed beside its errors, still with exit 2: tests/cli/test_invalid_left_out.py.
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
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich','numpy','kubernetes')"
        " or m.startswith(('netfence.cli.', 'netfence.analysis.', 'netfence.lab', 'netfence.agent'))"
        " or m in ('subprocess', 'tempfile', 'shutil')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=scenario, check=False
    )
    # other commands' modules load only when they run (cli/main.py LazyGroup)
    assert out.stdout.strip().splitlines()[-1] == str(
        ["netfence.cli.check", "netfence.cli.common", "netfence.cli.main", "netfence.cli.progress"]
    )


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


# --- no input crashes the CLI or exhausts the machine (issue 9 §5; bounds in docs/limits.md) ---

MEMORY_LIMIT = 2**30  # address space of the netfence process in these tests
TIME_LIMIT = 10.0  # seconds per input (the slowest takes well under 2)

ALIAS_BOMB = (
    "kind: Pod\nmetadata: {name: p}\na0: &a0 [xxxxxxxxxxxxxxxx, xxxxxxxxxxxxxxxx, xxxxxxxxxxxxxxxx]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
)


def run_bounded(args: list[str], cwd: Path, stdin: bytes = b"") -> tuple[int, str, float]:
    """The real entry point in a child process with an address-space limit and a timeout."""
    import resource
    import subprocess
    import time

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("NETFENCE_DEBUG", None)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "netfence", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=60,
        preexec_fn=limit,
        check=False,
    )
    err = proc.stderr.decode("utf-8", "replace") + proc.stdout.decode("utf-8", "replace")
    return proc.returncode, err, time.monotonic() - start


HOSTILE: dict[str, tuple[bytes, list[str], str]] = {
    # name: (content of in.yaml, arguments, the located message)
    "JSON nested 5,000 deep": (
        b"[" * 5000 + b"]" * 5000,
        ["-f", "in.yaml"],
        "in.yaml: doc 1: invalid JSON: nested deeper than 100 levels",
    ),
    "JSON integer of 5,000 digits": (
        b'{"kind": "Pod", "n": ' + b"9" * 5000 + b"}",
        ["-f", "in.yaml"],
        "in.yaml: doc 1: invalid JSON at line 1, column 22: integer too large: 5,000 digits",
    ),
    "YAML integer of 5,000 digits": (
        b"kind: Pod\nx: " + b"9" * 5000 + b"\n",  # not n: kubectl reads that key as false
        ["-f", "in.yaml"],
        "in.yaml: doc 1: x: invalid YAML at line 2, column 4: integer too large: 5,000 digits",
    ),
    "!!timestamp foo": (
        b"kind: Pod\nmetadata: {name: p, creationTimestamp: !!timestamp foo}\n",
        ["-f", "in.yaml"],
        "in.yaml: doc 1: metadata.creationTimestamp: invalid YAML at line 2, column 40: cannot read 'foo' as !!timestamp",
    ),
    "!!float abc": (
        b"kind: Pod\nx: !!float abc\n",
        ["-f", "in.yaml"],
        "in.yaml: doc 1: x: invalid YAML at line 2, column 4: cannot read 'abc' as !!float",
    ),
    "!!int abc": (
        b"kind: Pod\nspec: {containers: [{name: c, ports: [{containerPort: !!int abc}]}]}\n",
        ["-f", "in.yaml"],
        "in.yaml: doc 1: spec.containers[0].ports[0].containerPort: invalid YAML at line 2, column 55: cannot read 'abc' as !!int",
    ),
    "duplicate key (YAML)": (
        b"kind: Pod\nmetadata: {name: a, name: b}\n",
        ["-f", "in.yaml"],
        'in.yaml: doc 1: metadata.name: invalid YAML at line 2, column 21: duplicate key "name"',
    ),
    "duplicate key (JSON)": (
        b'{"kind": "Pod", "kind": "Service"}',
        ["-f", "in.yaml"],
        'in.yaml: doc 1: kind: invalid JSON: duplicate key "kind"',
    ),
    "1.5 KB alias bomb": (
        ALIAS_BOMB.encode(),
        ["-f", "in.yaml"],
        "in.yaml: doc 1: a5[2]: invalid YAML at line 8, column 20: aliases bring in more than 100,000 nodes",
    ),
    "non-UTF-8 on stdin": (
        b"",
        ["-f", "-"],
        "-: not UTF-8 text: byte 0xe9 at line 2, column 21",
    ),
    "-f /dev/zero": (b"", ["-f", "/dev/zero"], "/dev/zero: not a regular file: a character device"),
    "-f FIFO": (b"", ["-f", "fifo.yaml"], "fifo.yaml: not a regular file: a FIFO (named pipe)"),
    "1,000-deep kustomization chain": (
        b"",
        ["-k", "chain/k0"],
        "kustomization.yaml: doc 1: kustomizations include each other more than 20 deep",
    ),
    "remote kustomize resource": (
        b"",
        ["-k", "remote"],
        "remote/kustomization.yaml: doc 1: resources: github.com/org/repo//deploy?ref=v1: remote resources are not supported",
    ),
}


@pytest.mark.parametrize("command", [["matrix"], ["check", "a/b", "c/d", "-p", "80"]])
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_a_located_error_within_bounds(
    tmp_path: Path, case: str, command: list[str]
) -> None:
    content, args, message = HOSTILE[case]
    (tmp_path / "in.yaml").write_bytes(content)
    os.mkfifo(tmp_path / "fifo.yaml")
    (tmp_path / "remote").mkdir()
    (tmp_path / "remote" / "kustomization.yaml").write_text(
        "resources: [github.com/org/repo//deploy?ref=v1]\n"
    )
    stdin = b"kind: Pod\nmetadata: {name: caf\xe9}\n" if "-" in args else b""
    if "chain/k0" in args:
        kustomization_chain(tmp_path / "chain", 1000)
    code, err, seconds = run_bounded([*command, *args], tmp_path, stdin)
    assert code == 2, err
    assert message in err, err
    assert "internal error" not in err and no_traceback(err)
    assert seconds < TIME_LIMIT


def test_whole_filesystem_is_not_walked(tmp_path: Path) -> None:
    """``-f /`` stops at a bound (or at the first unreadable directory) within seconds."""
    code, err, seconds = run_bounded(["validate", "-f", "/"], tmp_path)
    assert code in (1, 3), err  # validate: 1 for invalid input, 3 for an unreadable directory
    assert "more than 100,000 entries" in err or "cannot read: " in err, err
    assert "internal error" not in err and no_traceback(err)
    assert seconds < TIME_LIMIT


def test_a_bare_equals_sign_is_a_string(tmp_path: Path) -> None:
    """kube-prometheus CRDs carry ``=`` as an enum value: YAML 1.1's "value" tag aborted the run."""
    (tmp_path / "crd.yaml").write_text(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: probes.monitoring.coreos.com}\n"
        "spec: {versions: [{schema: {openAPIV3Schema: {properties: {op: {enum: [=, '!=']}}}}}]}\n"
    )
    result = run_cli("validate", "-f", "crd.yaml", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "skipped 1 CustomResourceDefinition" in result.out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "- {from: ui/ui-0, to: 1.2.3.4, port: !!int abc, allowed: true}\n",
            "e.yaml: doc 1: [0].port: invalid YAML at line 1, column 38: cannot read 'abc' as !!int",
        ),
        (
            "- {from: ui/ui-0, to: 1.2.3.4, port: 1, allowed: true, allowed: false}\n",
            'e.yaml: doc 1: [0].allowed: invalid YAML at line 1, column 56: duplicate key "allowed"',
        ),
        ("[" * 5000 + "]" * 5000, "e.yaml: doc 1: invalid JSON: nested deeper than 100 levels"),
        (
            "- {from: ui/ui-0}\n---\n- {from: ui/ui-0}\n",
            "e.yaml: doc 2: expected one YAML document",
        ),
    ],
)
def test_expectation_files_use_the_bounded_decoder(
    tmp_path: Path, scenario: Path, text: str, message: str
) -> None:
    (tmp_path / "e.yaml").write_text(text)
    result = run_cli("test", str(tmp_path / "e.yaml"), "-k", "cluster")
    assert result.code == 2, result
    assert message in result.err.replace(str(tmp_path) + "/", "")
    assert no_traceback(result.err) and "internal error" not in result.err
