"""``netfence lab verify``: every pod pair and port class of the scenario on real
packets in the running lab, against the engine."""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    echo_partial,
    exit_code,
    manifest_options,
    strict_input_option,
)
from netfence.cli.lab import lab_dir_option
from netfence.cli.lab_test import comparison_data, load_scenario, running_plan
from netfence.render.json_text import json_text

if TYPE_CHECKING:
    from netfence.lab.plan import LabPlan
    from netfence.model.policy import IPAddress
    from netfence.model.ports import Protocol
    from netfence.probe.compare import Comparison, ComparisonReport


@click.command("verify")
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
@strict_input_option
@lab_dir_option
def lab_verify_command(
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
    lab_dir: Path,
) -> None:
    """Probe every pod pair and port class on real packets; report where the engine
    and the packets differ.

    The manifests are those the lab was brought up with (default, as `lab up`: the
    bundled EKS scenario's cluster). Every pod probes every other pod on each port
    the destination declares and on one TCP port no policy names, over each address
    family both have, and the lab's external host on each port it serves; conntrack
    is flushed first (new connections only). What the lab cannot probe is listed
    with why (no namespace for a hostNetwork pod, no server on a UDP or SCTP port; a
    TCP port without one is probed by its reset). Exit 0 when the
    engine and the packets agree on every probe, 1 when any differ, 2 for invalid
    input, 3 when the lab is not up (4 with --strict-input when the input was
    partial).
    """
    from netfence.probe.compare import compare
    from netfence.probe.plan import address_plan, pair_plan, unnamed_port
    from netfence.probe.runners import LabRunner

    loaded = load_scenario(files, kustomizations, namespace)
    plan = running_plan(lab_dir)
    outside = external_ports(plan)
    jobs = pair_plan(loaded.compiled, loaded.cluster) + address_plan(
        loaded.compiled, loaded.cluster, outside
    )
    report = compare(jobs, LabRunner(lab_dir, plan).run(jobs))
    scope = Scope(
        len([p for p in loaded.cluster.pods if p.ips]),
        unnamed_port(loaded.compiled, loaded.cluster),
        sorted({j.family for j in jobs}),
        [f"{_host(str(ip))}:{port}/{protocol.value}" for ip, port, protocol in outside],
    )
    partial = loaded.completeness
    if output == "json":
        from netfence.render.completeness import with_input

        click.echo(json_text(with_input(verify_data(report, scope), partial)))
    else:
        click.echo("\n".join(verify_text(report, scope)))
        echo_partial(partial)
    code = EXIT_FAILED if report.differences else EXIT_OK
    sys.exit(exit_code(code, partial, strict_input))


@dataclass(frozen=True)
class Scope:
    """What was planned: the pods, the port no policy names, the families, the
    outside destinations."""

    pods: int
    unnamed: int | None
    families: list[int]
    outside: list[str]

    def format(self) -> str:
        unnamed = f" and {self.unnamed}/TCP (no policy names it)" if self.unnamed else ""
        families = " and ".join(f"IPv{f}" for f in self.families)
        outside = ", ".join(self.outside) or "none"
        return (
            f"probed: each ordered pair of {self.pods} pods on every port the destination "
            f"declares{unnamed}, over {families}; every pod to {outside}"
        )


def _host(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def external_ports(plan: LabPlan) -> list[tuple[IPAddress, int, Protocol]]:
    """The lab's external host, each address, on each port it serves."""
    from netfence.lab.plan import ServerKind
    from netfence.model.ports import Protocol

    ext = plan.external
    protocols = {ServerKind.UDP: Protocol.UDP, ServerKind.SCTP: Protocol.SCTP}
    return [
        (ipaddress.ip_address(address), s.port, protocols.get(s.kind, Protocol.TCP))
        for address in (ext.address, ext.address6)
        if address
        for s in ext.servers
    ]


def _difference(c: Comparison) -> str:
    from netfence.render.explain import reason

    engine = "allowed" if c.job.expected else "denied"
    packets = "passed" if c.observation.reached else "denied"
    return (
        f"DIFFERS {c.job.format()}: engine {engine} ({reason(c.job.decision)}), packets {packets}"
    )


def verify_text(report: ComparisonReport, scope: Scope) -> list[str]:
    from netfence.probe.compare import Agreement

    counts = report.counts()
    lines = [scope.format(), *(_difference(c) for c in report.differences)]
    lines += [f"not probed ({n}): {why}" for why, n in sorted(report.why_not_probed().items())]
    lines.append(
        f"lab verify: {len(report.comparisons)} probes: {counts[Agreement.MATCH]} agree with "
        f"the engine, {len(report.differences)} differ, {len(report.not_probed)} not probed"
    )
    return lines


def verify_data(report: ComparisonReport, scope: Scope) -> dict[str, Any]:
    from netfence.probe.compare import Agreement

    counts = report.counts()
    return {
        "pods": scope.pods,
        "unnamed_port": scope.unnamed,
        "families": scope.families,
        "outside": scope.outside,
        "probes": len(report.comparisons),
        "agree": counts[Agreement.MATCH],
        "differ": len(report.differences),
        "not_probed": len(report.not_probed),
        "differences": [comparison_data(c) for c in report.differences],
        "why_not_probed": [
            {"reason": why, "probes": n} for why, n in sorted(report.why_not_probed().items())
        ],
    }
