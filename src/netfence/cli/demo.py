"""``netfence demo``: replay a bundled scenario step by step."""

from __future__ import annotations

import textwrap

import click

from netfence.compile import CompiledPolicySet, compile_policies
from netfence.engine.check import CheckReport, Verdict, check
from netfence.engine.targets import resolve_target
from netfence.io.manifests import load_manifests
from netfence.io.scenarios import load_scenario
from netfence.model.cluster import Cluster
from netfence.parse.build import build_cluster
from netfence.parse.documents import RawDocument
from netfence.parse.scenario import Probe, ScenarioStep
from netfence.render.explain import VERDICT_WORDS, brief_check, explain_check


def run_demo(name: str, explain: bool) -> None:
    scenario, directory = load_scenario(name)
    base = load_manifests(
        [str(directory / f) for f in scenario.files],
        [str(directory / k) for k in scenario.kustomize],
    ).documents
    click.secho(scenario.title, bold=True)
    for number, step in enumerate(scenario.steps, start=1):
        cluster = build_cluster([*base, *_policy_documents(step, str(directory))]).cluster
        click.echo("")
        click.secho(f"Step {number}: {step.title}", bold=True)
        click.echo(textwrap.fill(step.say, width=88, initial_indent="  ", subsequent_indent="  "))
        compiled = compile_policies(cluster.policies)
        for probe in scenario.probes:
            report = _probe(probe, cluster, compiled)
            _show(probe, report, explain)


def _policy_documents(step: ScenarioStep, directory: str) -> list[RawDocument]:
    from netfence.parse.kustomize import set_namespace

    docs: list[RawDocument] = []
    for policy in step.policies:
        loaded = load_manifests([f"{directory}/{policy.file}"]).documents
        docs.extend(set_namespace(loaded, policy.namespace) if policy.namespace else loaded)
    return docs


def _probe(probe: Probe, cluster: Cluster, compiled: CompiledPolicySet) -> CheckReport:
    src = resolve_target(probe.from_, cluster)
    hosts = {probe.to: probe.resolve} if probe.resolve is not None else {}
    dst = resolve_target(probe.to, cluster, src.pods[0].namespace if src.pods else None, hosts)
    return check(compiled, cluster, src, dst, probe.port, probe.protocol)


def _show(probe: Probe, report: CheckReport, explain: bool) -> None:
    word = VERDICT_WORDS[report.verdict]
    color = "green" if report.allowed else "red"
    label = probe.label or f"{probe.to}:{probe.port}"
    dns = report.dns_step
    why = ""
    if dns is not None and dns.verdict is not Verdict.ALLOWED:
        why = f"  (the name {probe.to} does not resolve: DNS is blocked)"
    click.echo(f"  {label:<44} " + click.style(word, fg=color, bold=True) + why)
    lines = explain_check(report)[1:] if explain else brief_check(report)
    for line in lines:
        click.echo(f"      {line}")
