"""The public facade: what ``import netfence`` exports, each name exercised on the
bundled EKS workshop scenario against the CLI's own answers."""

from __future__ import annotations

import subprocess
import sys

import pytest

import netfence
from netfence.engine.check import Verdict
from netfence.errors import InvalidInputError
from netfence.io.scenarios import scenario_dir

SCENARIO = scenario_dir("eks-retail")
CLUSTER = str(SCENARIO / "cluster")
DENY = str(SCENARIO / "policies" / "default-deny.yaml")
ALLOW_UI = str(SCENARIO / "policies" / "allow-ui-egress.yaml")


def test_what_the_package_exports() -> None:
    assert sorted(netfence.__all__) == [
        "Loaded", "check", "diff", "evaluate", "explain", "lint", "load", "loads", "matrix",
    ]  # fmt: skip
    assert all(callable(getattr(netfence, name)) for name in netfence.__all__)
    with pytest.raises(AttributeError):
        _ = netfence.not_a_name  # type: ignore[attr-defined]


def test_importing_the_package_does_not_load_the_engine() -> None:
    code = "import sys, netfence; print(sorted(m for m in sys.modules if m.startswith('netfence')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['netfence']"


@pytest.fixture(scope="module")
def denied() -> netfence.Loaded:
    """The workshop's default-deny in namespace ui, as the README's first command."""
    return netfence.load([DENY], [CLUSTER], "ui")


def test_check_and_explain_match_the_cli(denied: netfence.Loaded) -> None:
    report = netfence.check(denied, "ui/deployment/ui", "catalog.catalog", 80)
    assert report.verdict is Verdict.DENIED
    text = netfence.explain(report, denied)
    cli = subprocess.run(
        [sys.executable, "-m", "netfence", "check", "ui/deployment/ui", "catalog.catalog",
         "--port", "80", "-k", CLUSTER, "-f", DENY, "-n", "ui"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert cli.returncode == 1
    assert text in cli.stdout


def test_evaluate_one_pod_pair(denied: netfence.Loaded) -> None:
    ui = next(p for p in denied.cluster.pods if p.namespace == "ui")
    catalog = next(p for p in denied.cluster.pods if p.namespace == "catalog")
    decision = netfence.evaluate(denied, ui.key, catalog.key, 8080)
    assert not decision.allowed and not decision.egress.allowed
    assert decision.egress.policies == ("ui/default-deny",)


def test_lint_matrix_and_diff(denied: netfence.Loaded) -> None:
    allowed = netfence.load([DENY, ALLOW_UI], [CLUSTER], "ui")
    assert "NF101" in {f.check.id for f in netfence.lint(denied).findings}
    grid = netfence.matrix(allowed, namespaces=["ui"])
    assert [g.key for g in grid.groups] == ["ui/deployment/ui"]
    changes = netfence.diff(denied, allowed).changes
    assert changes and all(
        c.kind.value == "gained" and c.source == "ui/deployment/ui" for c in changes
    )


def test_loads_reports_every_error_at_once() -> None:
    text = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: x, namespace: a}\nspec: {podSelector: {}, policyTypes: [Sideways]}\n"
    with pytest.raises(InvalidInputError) as raised:
        netfence.loads(text, "bad.yaml")
    assert "bad.yaml" in str(raised.value) and "spec.policyTypes[0]" in str(raised.value)
