"""``netfence check FROM TO``: one connection, decided and explained."""

from __future__ import annotations

import sys
from typing import Any

import click

from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    PROTOCOL_CHOICE,
    echo_partial,
    exit_code,
    live_options,
    load,
    manifest_options,
    parse_port,
    parse_protocol,
    strict_input_option,
)


@click.command("check")
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@click.option(
    "--port", "-p", metavar="PORT", help="Port number or name (Service port for a Service)."
)
@click.option(
    "--protocol", type=PROTOCOL_CHOICE, help="Default: TCP, or every protocol of the port."
)
@click.option(
    "--resolve",
    "resolves",
    multiple=True,
    metavar="NAME=IP",
    help="Address of a name outside the cluster.",
)
@click.option(
    "-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@manifest_options
@strict_input_option
@live_options
def check_command(
    source: str,
    destination: str,
    port: str | None,
    protocol: str | None,
    resolves: tuple[str, ...],
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """Decide one connection FROM -> TO and explain it rule by rule.

    FROM and TO: NAMESPACE/POD, NAMESPACE/KIND/NAME (deployment, statefulset,
    daemonset, replicaset, job, cronjob, service: all its pods), an IP address,
    (TO) a Service's DNS name such as catalog.catalog, which adds the DNS
    lookup to kube-dns as a step, optionally with :PORT (catalog.catalog:80),
    or an endpoint described by namespace and labels, NS:key=value,... (a
    hypothetical pod of NS with exactly those labels and no container ports;
    for policies without pod manifests). Exit code 0 when allowed, 1 when not
    (4 with --strict-input when the input was partial).
    """
    from netfence.engine.check import check
    from netfence.engine.targets import resolve_pair
    from netfence.render.explain import explain_check

    loaded = load(files, kustomizations, namespace)
    hosts = _parse_resolves(resolves)
    src, dst = resolve_pair(source, destination, loaded.cluster, hosts)
    report = check(
        loaded.compiled, loaded.cluster, src, dst, parse_port(port), parse_protocol(protocol)
    )
    partial = loaded.completeness
    if output == "json":
        from netfence.render.completeness import with_input
        from netfence.render.data import check_data
        from netfence.render.json_text import json_text

        click.echo(json_text(with_input(check_data(report), partial)))
    else:
        click.echo("\n".join(explain_check(report, partial.partial)))
        echo_partial(partial)
    sys.exit(exit_code(EXIT_OK if report.allowed else EXIT_FAILED, partial, strict_input))


def _parse_resolves(values: tuple[str, ...]) -> dict[str, Any]:
    import ipaddress

    hosts: dict[str, Any] = {}
    for value in values:
        name, _, ip = value.partition("=")
        try:
            hosts[name.strip().lower()] = ipaddress.ip_address(ip.strip())
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: expected NAME=IP", param_hint="--resolve"
            ) from None
    return hosts
