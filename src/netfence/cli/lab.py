"""``netfence lab``: a cluster of network namespaces on this machine (root only).

Registered by ``cli/main.py``: ``cli.add_command(lab_group)``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from netfence.cli.common import load, manifest_options
from netfence.render.json_text import json_text

if TYPE_CHECKING:
    from netfence.lab.enforce import LabAudit
    from netfence.lab.lab import LabStatus
    from netfence.lab.plan import LabPlan

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SCENARIO = "eks-retail"


def lab_dir_option(func: F) -> F:
    return click.option(
        "--lab-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="NETFENCE_LAB_DIR",
        default="/run/netfence/lab",
        show_default=True,
        help="The lab's state directory (env NETFENCE_LAB_DIR); one directory, one lab.",
    )(func)


@click.group("lab")
def lab_group() -> None:
    """A cluster of network namespaces on this machine, with real packets (needs root).

    Two node routers, one namespace per pod with its address, every declared
    container port served, ClusterIPs via DNAT, a DNS server in kube-system and an
    external host www.example.com (203.0.113.10). Nothing touches the host's network.
    """


@lab_group.command("up")
@manifest_options
@lab_dir_option
@click.option("--deny", type=click.Choice(["drop", "reject"]), default="drop", show_default=True)
@click.option(
    "--audit",
    is_flag=True,
    help="Run the node agents in audit mode: `lab stage` candidates, `lab records`.",
)
@click.option(
    "--audit-namespace",
    "audit_namespaces",
    multiple=True,
    metavar="NS",
    help="Audit the policies of this namespace: recorded, not enforced (implies --audit).",
)
@click.option(
    "--audit-policy",
    "audit_policies",
    multiple=True,
    metavar="NS/NAME",
    help="Audit this policy: recorded, not enforced (implies --audit). Repeatable.",
)
def up_command(
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    lab_dir: Path,
    deny: str,
    audit: bool,
    audit_namespaces: tuple[str, ...],
    audit_policies: tuple[str, ...],
) -> None:
    """Build the lab (default: the bundled EKS scenario's cluster); replaces a lab
    recorded in the same directory. Interrupted (SIGTERM, SIGINT, SIGHUP) or failing
    at any step, it removes everything it built so far. With audit mode, each agent
    records the would-be denies of audited and staged policies (docs/agent.md)."""
    from netfence.io.scenarios import scenario_dir
    from netfence.lab.lab import Interrupted, up

    if not files and not kustomizations:
        kustomizations = (str(scenario_dir(DEFAULT_SCENARIO) / "cluster"),)
    from netfence.io.manifests import load_manifests
    from netfence.lab import enforce
    from netfence.parse.documents import with_default_namespace

    loaded = load(files, kustomizations, namespace, leave_out_invalid=False)
    documents = with_default_namespace(load_manifests(files, kustomizations).documents, namespace)
    policies = enforce.policy_documents(documents)
    audited = (
        enforce.LabAudit(namespaces=audit_namespaces, policies=audit_policies)
        if audit or audit_namespaces or audit_policies
        else None
    )
    try:
        plan = up(
            loaded.cluster,
            lab_dir,
            after=lambda plan: enforce.start(
                loaded.cluster, plan, policies, lab_dir, deny, audit=audited
            ),
        )
    except Interrupted as exc:
        click.echo(f"lab up: {exc}; removed everything it had built", err=True)
        sys.exit(128 + exc.signum)
    click.echo("\n".join(_up_lines(plan, lab_dir)))
    click.echo(f"node agents enforce {len(loaded.cluster.policies)} NetworkPolicies (deny: {deny})")
    tiers = loaded.cluster.cluster_policies
    if tiers:
        click.echo(f"node agents enforce {len(tiers)} cluster-wide policies (Admin, Baseline)")
    if audited is not None:
        click.echo(_audit_line(audited))
    from netfence.agent.state import unenforced

    left_out = unenforced(loaded.compiled)
    if left_out:
        click.echo(
            f"NOT enforced: the domainNames peers of {len(left_out)} rule(s) "
            "(nftables sees addresses, not the names connections were made to)"
        )


def _audit_line(audited: LabAudit) -> str:
    named = [*(f"namespace {n}" for n in audited.namespaces), *audited.policies]
    which = f"audited (recorded, not enforced): {', '.join(named)}; " if named else ""
    return (
        f"audit mode: {which}stage candidates with `netfence lab stage -f PATH`, "
        "read the records with `netfence lab records`"
    )


def _up_lines(plan: LabPlan, lab_dir: Path) -> list[str]:
    example = next(
        (p for p in plan.pods if p.namespace == "ui"), plan.pods[0] if plan.pods else None
    )
    lines = [
        f"lab {plan.lab_id} up in {lab_dir}: {len(plan.nodes)} nodes, {len(plan.pods)} pods, "
        f"{len(plan.dns_records) - 1} services, external {plan.external.hostname}",
        *(f"note: {note}" for note in plan.notes),
    ]
    if example is not None:
        target = f"{example.namespace}/{example.workload or example.name}"
        names = dict(plan.dns_records)
        url = (
            "http://catalog.catalog/health"
            if f"catalog.catalog.svc.{plan.cluster_domain}" in names
            else f"http://{plan.external.hostname}"
        )
        lines.append(f"try: netfence lab exec {target} -- curl -s {url}")
    return lines


@lab_group.command("down")
@lab_dir_option
def down_command(lab_dir: Path) -> None:
    """Remove what the lab recorded that it made: its processes, namespaces, files
    and directories. A directory without a lab record is left as it is."""
    from netfence.lab.lab import down

    report = down(lab_dir)
    if not report.found:
        click.echo(f"lab down: no lab recorded in {lab_dir} (no lab.json): nothing removed")
        return
    click.echo(
        f"lab down: {len(report.deleted)} namespaces deleted, {report.stopped} processes stopped"
    )


@lab_group.command(
    "exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@lab_dir_option
@click.argument("target")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- CMD...")
def exec_command(lab_dir: Path, target: str, argv: tuple[str, ...]) -> None:
    """Run CMD in a pod, with the pod's resolv.conf; exits with CMD's exit code.

    TARGET: NS/POD, NS/deployment/NAME or NS/statefulset/NAME (the workload's first
    pod), node:NAME (a node router) or external (the external host).
    """
    from netfence.lab.lab import exec_in

    if argv[:1] == ("--",):  # kept literally once positional arguments stop option parsing
        argv = argv[1:]
    if not argv:
        raise click.UsageError("no command: netfence lab exec TARGET -- CMD...")
    sys.exit(exec_in(target, argv, lab_dir))


@lab_group.command("status")
@lab_dir_option
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def status_command(lab_dir: Path, output: str) -> None:
    """The lab's nodes, pods, processes and namespaces; exit 1 if it is not (fully) up."""
    from netfence.lab.lab import status

    report = status(lab_dir)
    if output == "json":
        click.echo(json_text(_status_data(report)))
    else:
        click.echo("\n".join(_status_lines(report)))
    sys.exit(0 if report.healthy else 1)


def _status_lines(report: LabStatus) -> list[str]:
    if report.plan is None:
        left = f"; leftover namespaces: {', '.join(report.present)}" if report.present else ""
        return [f"no lab recorded in {report.lab_dir}{left}"]
    plan, alive = report.plan, {p.name: p.alive for p in report.processes}
    lines = [f"lab {plan.lab_id} in {report.lab_dir}: {'up' if report.healthy else 'DEGRADED'}"]
    for node in plan.nodes:
        address = " ".join(a for a in (node.address, node.address6) if a)
        lines.append(f"node {node.name}  {address}  netns {node.netns}")
        for pod in plan.pods_on(node.name):
            served = " ".join(s.format() for s in pod.servers) or "-"
            state = {True: "running", False: "STOPPED", None: "-"}[alive.get(pod.netns)]
            six = f" {pod.ip6}" if pod.ip6 else ""
            lines.append(f"  {pod.key:<36} {pod.ip:<15} {served:<24} {state}{six}")
    ext = plan.external
    address = " ".join(a for a in (ext.address, ext.address6) if a)
    lines.append(f"external {ext.hostname} {address} on {ext.node}  netns {ext.netns}")
    lines += [f"MISSING namespace {name}" for name in report.missing]
    lines += [f"STOPPED {p.name} (pid {p.pid})" for p in report.processes if not p.alive]
    return lines


def _status_data(report: LabStatus) -> dict[str, Any]:
    plan = report.plan
    return {
        "lab_dir": str(report.lab_dir),
        "lab_id": report.lab_id,
        "up": report.healthy,
        "nodes": [
            {"name": n.name, "address": n.address, "address6": n.address6, "netns": n.netns}
            for n in plan.nodes
        ]
        if plan
        else [],
        "pods": [
            {
                "pod": p.key,
                "ip": p.ip,
                "ip6": p.ip6,
                "node": p.node,
                "netns": p.netns,
                "servers": [s.format() for s in p.servers],
            }
            for p in (plan.pods if plan else ())
        ],
        "processes": [{"name": p.name, "pid": p.pid, "alive": p.alive} for p in report.processes],
        "namespaces": list(report.present),
        "missing": list(report.missing),
    }


def policy_files(what: str, *, required: bool = True) -> Callable[[F], F]:
    """``-f`` (repeatable) and ``-n``, as kubectl apply and delete take them."""

    def options(func: F) -> F:
        func = click.option(
            "-n", "--namespace", metavar="NS", help="Namespace of policies that have none."
        )(func)
        return click.option(
            "-f",
            "--filename",
            "files",
            multiple=True,
            required=required,
            metavar="PATH",
            type=click.Path(allow_dash=True),
            help=f"{what} (file, directory or -). Repeatable.",
        )(func)

    return options


policy_file_options = policy_files("NetworkPolicy manifests")


@lab_group.command("apply")
@policy_file_options
@lab_dir_option
def apply_command(files: tuple[str, ...], namespace: str | None, lab_dir: Path) -> None:
    """Add or replace NetworkPolicies, as kubectl apply would; returns once every
    node's agent enforces them. Invalid policies are refused, nothing is written."""
    _change("apply", files, namespace, lab_dir)


@lab_group.command("delete")
@policy_file_options
@lab_dir_option
def delete_command(files: tuple[str, ...], namespace: str | None, lab_dir: Path) -> None:
    """Delete NetworkPolicies; returns once every node's agent enforces the change."""
    _change("delete", files, namespace, lab_dir)


def _change(verb: str, files: tuple[str, ...], namespace: str | None, lab_dir: Path) -> None:
    from netfence.io.manifests import load_manifests
    from netfence.lab import enforce
    from netfence.lab.lab import load_plan
    from netfence.parse.documents import with_default_namespace

    plan = load_plan(lab_dir)
    documents = with_default_namespace(load_manifests(files).documents, namespace)
    change = enforce.apply if verb == "apply" else enforce.delete
    change(documents, plan, lab_dir)
    for doc in documents:
        meta = doc.obj.get("metadata") or {}
        word = "configured" if verb == "apply" else "deleted"
        click.echo(f"networkpolicy {meta.get('namespace')}/{meta.get('name')} {word}")


def _register() -> None:
    """``lab test``, ``lab verify`` (cli/lab_test.py, cli/lab_verify.py), ``lab
    stage`` and ``lab records`` (cli/lab_audit.py) live in modules of their own,
    which import this one's options."""
    from netfence.cli.lab_audit import lab_records_command, lab_stage_command
    from netfence.cli.lab_test import lab_test_command
    from netfence.cli.lab_verify import lab_verify_command

    for command in (lab_test_command, lab_verify_command, lab_stage_command, lab_records_command):
        lab_group.add_command(command)


_register()
