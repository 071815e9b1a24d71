"""``netfence generate FLOWS -f CLUSTER``: least-privilege NetworkPolicies from
observed flows, replayed and diffed before they are written."""

from __future__ import annotations

import sys

import click

from netfence.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    echo_partial,
    exit_code,
    live_options,
    load,
    manifest_options,
    strict_input_option,
)
from netfence.cli.explain_flows import address_book, flow_options, read_flow_files


@click.command("generate")
@flow_options
@click.option(
    "--default-deny",
    is_flag=True,
    help="Add a default-deny policy (DNS kept) per namespace the policies cover.",
)
@click.option(
    "--baseline",
    is_flag=True,
    help="Add a Baseline ClusterNetworkPolicy "
    "(policy.networking.k8s.io/v1alpha2) for those namespaces: DNS, nothing else.",
)
@click.option(
    "--include-denied",
    is_flag=True,
    help="Count flows logged as denied as "
    "observed traffic (by default they did not flow, and are left out).",
)
@click.option(
    "--ipv4-prefix",
    type=click.IntRange(8, 32),
    default=32,
    show_default=True,
    help="Outside IPv4 addresses are allowed as blocks of this length.",
)
@click.option(
    "--ipv6-prefix",
    type=click.IntRange(16, 128),
    default=128,
    show_default=True,
    help="Outside IPv6 addresses are allowed as blocks of this length.",
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the YAML here (only when it passes its checks); the report goes to stdout.",
)
@click.option(
    "-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@manifest_options
@strict_input_option
@live_options
def generate_command(
    flow_files: tuple[str, ...],
    flow_format: str | None,
    pod_cidrs: tuple[str, ...],
    default_deny: bool,
    baseline: bool,
    include_denied: bool,
    ipv4_prefix: int,
    ipv6_prefix: int,
    out_file: str | None,
    output: str,
    files: tuple[str, ...],
    kustomizations: tuple[str, ...],
    namespace: str | None,
    strict_input: bool,
) -> None:
    """Generate least-privilege NetworkPolicies from observed flows (FLOWS as
    explain-flows reads them), one per workload seen, named after it.

    Subjects: the workload's stable labels (never pod-template-hash or other
    per-replica labels), the fewest that leave out every other pod of the
    namespace. Peers: namespace by kubernetes.io/metadata.name plus the peer
    workload's labels. Ports: the destination's named port when it has one, else
    the number. DNS egress to kube-dns is always kept. Outside addresses become
    ipBlocks: each address alone (/32, /128), or its --ipv4-prefix/--ipv6-prefix
    block unless that block holds a pod or node address of the snapshot; blocks
    merge only where their union is exactly a larger block. Replies, flows not
    attributed to one pod, and flows logged as denied are left out (listed).

    Before anything is written the set is read back with netfence's validation,
    linted, and replayed: every observed flow must be allowed by it (the
    generated policies replace the current NetworkPolicies of their namespaces;
    cluster-wide policies stay). The diff against the current policies (what
    becomes denied, what becomes allowed) is printed beside the YAML as comments,
    or in -o json. Exit code 0 written, 1 a check failed (nothing written),
    2 bad input, 4 with --strict-input when the input was partial or a flow is
    not attributed. See docs/generate.md.
    """
    from netfence.analysis.flows import Status, explain_flows
    from netfence.analysis.generate import Options, generate
    from netfence.analysis.generate_check import check_generated
    from netfence.render import generate as render

    flow_data = read_flow_files(flow_files, flow_format)
    loaded = load(files, kustomizations, namespace)
    flows = [f for file in flow_data for f in file.flows]
    explained = explain_flows(
        loaded.compiled, loaded.cluster, flows, address_book(loaded, pod_cidrs)
    )
    options = Options(default_deny, baseline, include_denied, ipv4_prefix, ipv6_prefix)
    generated = generate(loaded.cluster, explained.flows, options)
    if not generated.used:
        raise click.ClickException("no observed flow has a pod at one end: nothing to generate")
    checked = check_generated(loaded.cluster, loaded.compiled, generated)
    if output == "json":
        from netfence.render.completeness import with_input
        from netfence.render.json_text import json_text

        click.echo(
            json_text(with_input(render.generated_data(checked, flow_data), loaded.completeness))
        )
    if not checked.ok:
        click.echo("\n".join(render.failure_lines(checked)), err=True)
        sys.exit(EXIT_FAILED)
    from netfence.render.completeness import partial_lines

    partial = partial_lines(loaded.completeness)
    if out_file:
        _write(out_file, render.generated_yaml(checked, flow_data, partial))
    if output == "yaml":
        if out_file:
            report = [*render.report_lines(checked, flow_data), f"written: {out_file}"]
            click.echo("\n".join(report))
            echo_partial(loaded.completeness)
        else:  # the PARTIAL INPUT block among the comments: stdout stays YAML
            click.echo(render.generated_yaml(checked, flow_data, partial), nl=False)
    code = EXIT_OK
    if strict_input and explained.of(Status.AMBIGUOUS):
        code = EXIT_PARTIAL
    sys.exit(exit_code(code, loaded.completeness, strict_input))


def _write(path: str, text: str) -> None:
    from netfence.errors import EnvironmentProblem

    try:
        with open(path, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot write: {exc.strerror}") from exc
