"""``netfence demo`` and ``netfence scenario``: the bundled scenarios."""

from __future__ import annotations

import click


@click.command("demo")
@click.option("--scenario", default="eks-retail", show_default=True, help="A bundled scenario.")
@click.option("--explain", is_flag=True, help="Full rule-by-rule explanations, as check prints.")
def demo_command(scenario: str, explain: bool) -> None:
    """Replay a bundled scenario step by step: the EKS workshop "Egress control"."""
    from netfence.cli.demo import run_demo

    run_demo(scenario, explain)


@click.command("scenario")
@click.argument("name", required=False)
def scenario_command(name: str | None) -> None:
    """Print the directory of a bundled scenario (or list them), to use its files with -f/-k."""
    from netfence.io.scenarios import bundled_names, scenario_dir

    if name is None:
        click.echo("\n".join(bundled_names()))
    else:
        click.echo(str(scenario_dir(name)))
