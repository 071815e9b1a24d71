"""``netfence lab stage`` and ``netfence lab records``: audit mode in the lab.

The lab's agents run in audit mode when ``lab up`` is given ``--audit`` (or
``--audit-namespace`` / ``--audit-policy``): see docs/agent.md, "Audit mode".
``lab stage`` makes a set of candidate policies the staged ones (their would-be
denies are recorded, nothing is dropped for them); ``lab records`` prints what the
agents recorded, as flow records that ``explain-flows`` and ``generate`` read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from netfence.cli.lab import lab_dir_option, policy_files
from netfence.cli.lab_test import running_plan


@click.command("stage")
@policy_files("Candidate policies", required=False)
@click.option("--clear", is_flag=True, help="Stage nothing: remove every candidate.")
@lab_dir_option
def lab_stage_command(
    files: tuple[str, ...], namespace: str | None, clear: bool, lab_dir: Path
) -> None:
    """Make these policies the staged candidates of the lab's agents (audit mode):
    what they would deny is recorded, and only the enforced policies decide.
    Returns once every agent's audit table holds them. Invalid policies are refused,
    nothing is staged."""
    from netfence.io.manifests import load_manifests
    from netfence.lab import enforce
    from netfence.parse.documents import with_default_namespace

    if bool(files) == clear:
        raise click.UsageError("give -f PATH (the candidates) or --clear, one of the two")
    plan = running_plan(lab_dir)
    _require_audit(lab_dir)
    documents = () if clear else with_default_namespace(load_manifests(files).documents, namespace)
    staged = enforce.stage(documents, plan, lab_dir)
    click.echo(f"lab stage: {staged} candidate policies staged on {len(plan.nodes)} nodes")


@click.command("records")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the records here instead of standard output.",
)
@lab_dir_option
def lab_records_command(out: Path | None, lab_dir: Path) -> None:
    """Every node agent's audit records (JSON lines, flow format v1, oldest first;
    gap lines say what the rate limit left out): the input of ``netfence
    explain-flows`` and ``netfence generate`` with ``-f`` the lab's cluster."""
    from netfence.io.netns import write_text
    from netfence.lab.enforce import audit_records

    plan = running_plan(lab_dir)
    _require_audit(lab_dir)
    lines = audit_records(plan, lab_dir)
    text = "".join(f"{line}\n" for line in lines)
    if out is None:
        sys.stdout.write(text)
    else:
        write_text(out, text)
    click.echo(f"lab records: {len(lines)} lines from {len(plan.nodes)} nodes", err=True)


def _require_audit(lab_dir: Path) -> None:
    from netfence.lab.enforce import audit_enabled

    if not audit_enabled(lab_dir):
        raise click.UsageError(
            "the lab's agents run without audit mode: bring the lab up with "
            "`netfence lab up --audit` (or --audit-namespace / --audit-policy)"
        )
