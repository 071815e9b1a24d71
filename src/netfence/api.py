"""The library facade: load what users have, then ask.

    import netfence
    loaded = netfence.load(["deploy/"])                      # or netfence.loads(text)
    report = netfence.check(loaded, "ui/ui", "catalog/catalog", 8080)
    report.verdict, netfence.explain(report)

Every function takes and returns values of the core (frozen dataclasses); invalid
input raises ``netfence.errors.InvalidInputError`` with every located diagnostic
at once, environment failures ``EnvironmentProblem``: the one exception tree of
``netfence.errors``. Internals are imported when first used, so ``import
netfence`` stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netfence.analysis.diff import Diff
    from netfence.analysis.lint import LintReport
    from netfence.analysis.matrix import Matrix
    from netfence.compile import CompiledPolicySet
    from netfence.engine.check import CheckReport
    from netfence.engine.decision import Decision
    from netfence.model.cluster import Cluster
    from netfence.model.completeness import Completeness
    from netfence.model.diagnostics import Diagnostic
    from netfence.parse.build import BuildResult


@dataclass(frozen=True)
class Loaded:
    """The cluster and its policies (NetworkPolicies and the cluster-wide tiers),
    compiled once: what every question is asked of. ``completeness`` says what the
    input held that the engine does not evaluate; an answer that does not evaluate
    the tiers either adds them (``model.completeness.tiers_not_evaluated``)."""

    cluster: Cluster
    compiled: CompiledPolicySet
    diagnostics: tuple[Diagnostic, ...]
    completeness: Completeness


def compiled(built: BuildResult, leave_out_invalid: bool = False) -> Loaded:
    """A built cluster with its policies compiled; InvalidInputError if it has errors,
    unless ``leave_out_invalid`` (the build has left the invalid objects out of the
    cluster; the caller says so, as the CLI does)."""
    from netfence.compile import compile_policies
    from netfence.errors import InvalidInputError

    if built.errors and not leave_out_invalid:
        raise InvalidInputError(list(built.errors))
    cluster = built.cluster
    policies = compile_policies(cluster.policies, cluster.cluster_policies)
    return Loaded(cluster, policies, built.diagnostics, built.completeness)


def load(
    files: Sequence[str] = (), kustomizations: Sequence[str] = (), namespace: str | None = None
) -> Loaded:
    """Manifests from files and directories (``-`` is stdin) and kustomizations,
    as the CLI's ``-f`` and ``-k`` read them."""
    from netfence.io.cluster import load_cluster

    return compiled(load_cluster(files, kustomizations, namespace))


def loads(text: str, name: str = "-", namespace: str | None = None) -> Loaded:
    """Manifests from YAML or JSON text (one or more documents, or a List);
    ``name`` is what diagnostics call the input."""
    from netfence.parse.build import build_cluster
    from netfence.parse.documents import parse_documents

    return compiled(build_cluster(parse_documents(text, name), namespace))


def check(
    loaded: Loaded,
    source: str,
    destination: str,
    port: int | str | None = None,
    protocol: str | None = None,
    resolve: Mapping[str, str] | None = None,
) -> CheckReport:
    """Can ``source`` reach ``destination``? Targets as the CLI takes them: ``NS/POD``,
    ``NS/KIND/NAME``, a Service (``svc.ns``, ``SVC:PORT``), a DNS name (with its
    address in ``resolve``), an IP address."""
    import ipaddress

    from netfence.engine.check import check as check_targets
    from netfence.engine.targets import resolve_pair
    from netfence.model.ports import Protocol

    hosts = {name.lower(): ipaddress.ip_address(ip) for name, ip in (resolve or {}).items()}
    src, dst = resolve_pair(source, destination, loaded.cluster, hosts)
    proto = None if protocol is None else Protocol(protocol.upper())
    return check_targets(loaded.compiled, loaded.cluster, src, dst, port, proto)


def explain(report: CheckReport, loaded: Loaded | None = None) -> str:
    """The report as the CLI prints it: verdict, DNS step, each rule that decided;
    given ``loaded``, a partial input is said on the verdict's line too."""
    from netfence.render.explain import explain_check

    partial = loaded is not None and loaded.completeness.partial
    return "\n".join(explain_check(report, partial))


def evaluate(
    loaded: Loaded, source: str, destination: str, port: int, protocol: str = "TCP"
) -> Decision:
    """One connection between two pods (``NS/POD``) or a pod and an address: the
    engine's decision with the rules that made it."""
    from netfence.engine.evaluate import evaluate as decide
    from netfence.engine.targets import resolve_target
    from netfence.errors import TargetError
    from netfence.model.ports import Protocol
    from netfence.model.traffic import Connection, Endpoint

    def endpoint(text: str) -> Endpoint:
        target = resolve_target(text, loaded.cluster)
        if len(target.pods) == 1:
            pod = target.pods[0]
            return Endpoint(pod.ips[0] if pod.ips else None, pod)
        if target.ip is not None and not target.pods:
            return Endpoint(target.ip)
        raise TargetError(f"{text!r}: evaluate takes one pod or an address; use check()")

    conn = Connection(endpoint(source), endpoint(destination), port, Protocol(protocol.upper()))
    return decide(loaded.compiled, loaded.cluster, conn)


def matrix(
    loaded: Loaded,
    port: int | str | None = None,
    protocol: str | None = None,
    namespaces: Sequence[str] = (),
) -> Matrix:
    """Workload × workload connectivity (every pod pair decided by the engine,
    grouped into classes of pods the policies cannot tell apart)."""
    from netfence.analysis.matrix import connectivity_matrix
    from netfence.model.ports import Protocol

    proto = None if protocol is None else Protocol(protocol.upper())
    return connectivity_matrix(loaded.compiled, loaded.cluster, port, proto, namespaces)


def lint(loaded: Loaded) -> LintReport:
    """Every lint check the input allows, and those skipped with their reason."""
    from netfence.analysis.lint import lint_report

    return lint_report(loaded.cluster, loaded.compiled)


def diff(before: Loaded, after: Loaded) -> Diff:
    """Connections between workloads that the change opens or closes."""
    from netfence.analysis.diff import State, connectivity_diff

    return connectivity_diff(
        State(before.cluster, before.compiled), State(after.cluster, after.compiled)
    )
