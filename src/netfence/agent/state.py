"""Desired state for one node, failing closed on policies that do not validate.

A NetworkPolicy that fails validation is never evaluated. The agent keeps the
last good version of it when it has one (so the pods it protected stay
protected), and otherwise isolates the policy's whole namespace in both
directions: it cannot know which pods the broken policy meant, and an agent
must never fail open.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from netfence.compile import CompiledPolicySet, compile_policies
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Diagnostic, ObjectRef, Severity, notice
from netfence.model.labels import MATCH_ALL
from netfence.model.policy import Direction, NetworkPolicy
from netfence.nft.compiler import NftOptions, node_ruleset
from netfence.nft.model import Ruleset
from netfence.parse.build import ConversionCache, build_cluster
from netfence.parse.documents import RawDocument


@dataclass(frozen=True)
class DesiredState:
    cluster: Cluster
    compiled: CompiledPolicySet
    ruleset: str
    model: Ruleset  # the same ruleset as data (the agent diffs consecutive ones)
    diagnostics: tuple[Diagnostic, ...]
    good_policies: Mapping[str, NetworkPolicy]  # valid now: the next sync's "last good"


def desired_state(
    documents: Iterable[RawDocument],
    node: str | None,
    last_good: Mapping[str, NetworkPolicy],
    options: NftOptions,
    conversions: ConversionCache | None = None,
) -> DesiredState:
    built = build_cluster(documents, cache=conversions)
    diagnostics = list(built.diagnostics)
    valid = {p.key: p for p in built.cluster.policies}
    policies = list(built.cluster.policies)
    for ref in _invalid_policies(built.diagnostics):
        key = f"{ref.namespace}/{ref.name}"
        if key in valid:
            continue  # a later valid object with the same name replaced it
        kept = last_good.get(key)
        if kept is not None:
            policies.append(kept)
            diagnostics.append(notice("invalid: kept its last good version", obj=ref))
        else:
            policies.append(_isolate_namespace(ref))
            diagnostics.append(
                notice(
                    f"invalid and never valid: namespace {ref.namespace} isolated (fail closed)",
                    obj=ref,
                )
            )
    cluster = built.cluster
    if len(policies) != len(cluster.policies):  # kept or fail-closed policies added
        cluster = dataclasses.replace(cluster, policies=tuple(policies))
    compiled = compile_policies(cluster.policies)
    model = node_ruleset(compiled, cluster, node, options)
    return DesiredState(cluster, compiled, model.render(), model, tuple(diagnostics), valid)


def _invalid_policies(diagnostics: Iterable[Diagnostic]) -> list[ObjectRef]:
    refs: dict[tuple[str | None, str | None], ObjectRef] = {}
    for d in diagnostics:
        if d.severity is Severity.ERROR and d.obj is not None and d.obj.kind == "NetworkPolicy":
            refs.setdefault((d.obj.namespace, d.obj.name), d.obj)
    return [r for r in refs.values() if r.namespace]


def _isolate_namespace(ref: ObjectRef) -> NetworkPolicy:
    return NetworkPolicy(
        namespace=ref.namespace or "default",
        name=f"{ref.name or 'unnamed'}.netfence-fail-closed",
        pod_selector=MATCH_ALL,
        ingress=(),
        egress=(),
        policy_types=frozenset({Direction.INGRESS, Direction.EGRESS}),
    )
