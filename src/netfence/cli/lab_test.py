"""``netfence lab test EXPECTATIONS``: a ``netfence test`` file on real packets in
the running lab, the engine's verdict beside the observed one."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from netfence.api import Loaded
from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    echo_partial,
    exit_code,
    load,
    manifest_options,
    strict_input_option,
)
from netfence.cli.lab import DEFAULT_SCENARIO, lab_dir_option
from netfence.render.json_text import json_text

if TYPE_CHECKING:
    from netfence.engine.check import Verdict
    from netfence.lab.plan import LabPlan
    from netfence.probe.compare import Comparison, ExpectationOutcome


def load_scenario(
    files: tuple[str, ...], kustomizations: tuple[str, ...], namespace: str | None
) -> Loaded:
    """The manifests given, or (none given) the cluster `lab up` builds by default."""
    from netfence.io.scenarios import scenario_dir

    if not files and not kustomizations:
        kustomizations = (str(scenario_dir(DEFAULT_SCENARIO) / "cluster"),)
    return load(files, kustomizations, namespace)


def running_plan(lab_dir: Path) -> LabPlan:
    """The plan of the lab up in ``lab_dir``; no lab there is the environment's
    problem (exit 3), as is not being root."""
    from netfence.errors import EnvironmentProblem, TargetError
    from netfence.io.netns import SubprocessRunner
    from netfence.lab.lab import load_plan, require_root

    require_root(SubprocessRunner())
    try:
        return load_plan(lab_dir)
    except TargetError as exc:
        raise EnvironmentProblem(str(exc)) from None


@click.command("test")
@click.argument("expectations", metavar="EXPECTATIONS", type=click.Path(allow_dash=True))
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
@strict_input_option
@lab_dir_option
def lab_test_command(
    expectations: str,
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
    lab_dir: Path,
) -> None:
    """Run a `netfence test` expectations file on real packets in the lab.

    The manifests are those the lab was brought up with (default, as `lab up`: the
    bundled EKS scenario's cluster). Each expectation's connections (each backend
    of a Service, each family the engine picks, the DNS lookup when a name is used)
    are probed from the source pods' network namespaces; the observed verdict is
    printed beside the engine's. An expectation the lab cannot probe (an end with no
    namespace in the lab, such as a hostNetwork pod or an outside address other than
    the lab's external host, or a UDP or SCTP port no lab server answers) is NOT
    PROBED and never
    passes. Exit 0 when every expectation holds on the packets, 1 when any fails or
    is not probed, 2 for invalid input, 3 when the lab is not up (4 with
    --strict-input when the input was partial).
    """
    from netfence.analysis.expectations import run_expectations
    from netfence.io.expectations import read_expectations
    from netfence.probe.compare import compare_expectations
    from netfence.probe.plan import expectation_plan
    from netfence.probe.runners import LabRunner
    from netfence.render.completeness import with_input

    items = read_expectations(expectations)
    loaded = load_scenario(files, kustomizations, namespace)
    plan = running_plan(lab_dir)
    planned = expectation_plan(run_expectations(loaded.compiled, loaded.cluster, items))
    jobs = [j for item in planned for j in item.jobs]
    outcomes = compare_expectations(planned, LabRunner(lab_dir, plan).run(jobs))
    partial = loaded.completeness
    if output == "json":
        click.echo(json_text(with_input(outcomes_data(outcomes), partial)))
    else:
        click.echo("\n".join(outcomes_text(outcomes)))
        echo_partial(partial)
    code = EXIT_OK if all(o.ok for o in outcomes) else EXIT_FAILED
    sys.exit(exit_code(code, partial, strict_input))


def _word(verdict: Verdict | None) -> str:
    from netfence.render.explain import VERDICT_WORDS

    return "not probed" if verdict is None else VERDICT_WORDS[verdict].lower()


def outcomes_text(outcomes: Sequence[ExpectationOutcome]) -> list[str]:
    """As `netfence test` prints, with the engine's verdict beside the packets'."""
    from netfence.render.explain import explain_check

    lines: list[str] = []
    for o in outcomes:
        exp = o.result.expectation
        port = "" if exp.port is None else f" {exp.port}/{exp.protocol.value}"
        want = "allowed" if exp.allowed else "denied"
        status = "PASS" if o.ok else ("FAIL" if o.probed else "NOT PROBED")
        title = f" ({exp.name})" if exp.name else ""
        what = f"{exp.from_} -> {exp.to}{port}"
        lines.append(
            f"{status} [{exp.index}] {what}: expected {want}, got {_word(o.observed)} "
            f"on real packets, engine {_word(o.result.report.verdict)}{title}"
        )
        lines += [f"    not probed: {why}" for why in o.why_not]
        if o.probed and not o.ok:
            lines += [f"    {line}" for line in explain_check(o.result.report)]
        lines += [
            f"    packets: {c.job.format()}: {'passed' if c.observation.reached else 'denied'}, "
            f"engine {'allowed' if c.job.expected else 'denied'}"
            for c in o.comparisons
            if c.observation.reached is not None and c.observation.reached != c.job.expected
        ]
    passed = sum(1 for o in outcomes if o.ok)
    unprobed = sum(1 for o in outcomes if not o.probed)
    lines.append(
        f"{passed} passed, {len(outcomes) - passed - unprobed} failed, {unprobed} not probed"
    )
    return lines


def outcomes_data(outcomes: Sequence[ExpectationOutcome]) -> dict[str, Any]:
    """`netfence test -o json`'s results, each with ``observed`` (the verdict on real
    packets, null when not probed), ``probed``, ``not_probed`` (why) and ``jobs``;
    ``ok`` is about the packets."""
    from netfence.render.data import expectations_data

    data = expectations_data([o.result for o in outcomes])
    for entry, o in zip(data["results"], outcomes, strict=True):
        entry["engine_ok"] = entry["ok"]
        entry.update(
            ok=o.ok,
            observed=None if o.observed is None else o.observed.value,
            probed=o.probed,
            not_probed=list(o.why_not),
            jobs=[comparison_data(c) for c in o.comparisons],
        )
    passed = sum(1 for o in outcomes if o.ok)
    unprobed = sum(1 for o in outcomes if not o.probed)
    data.update(passed=passed, failed=len(outcomes) - passed - unprobed, not_probed=unprobed)
    return data


def comparison_data(c: Comparison) -> dict[str, Any]:
    from netfence.render.explain import reason

    job = c.job
    return {
        "from": job.source,
        "to": job.destination,
        "from_ip": job.source_ip,
        "to_ip": job.destination_ip,
        "port": job.port,
        "protocol": job.protocol.value,
        "family": job.family,
        "engine": job.decision.allowed,
        "engine_reason": reason(job.decision),
        "expected": job.expected,
        "observed": c.observation.reached,
        "agreement": c.agreement.value,
        "not_probed": c.observation.why_not or None,
    }
