"""What an answer was *not* computed from: the completeness of an input.

An answer computed from a partial input must say so (docs/input.md). This module
holds that as data, without wording (render/completeness.py words it):

- objects of kinds netfence does not read, by apiVersion and kind, with their
  sources; kinds that cannot change a verdict (ConfigMap, RBAC, ...) are kept
  apart as ``inert``;
- policies of kinds netfence recognises as network policy but does not evaluate
  (Cilium, Calico, AdminNetworkPolicy, EKS): a verdict involving a pod of the
  namespace such a policy lives in (every verdict, for a cluster-wide kind) may
  also be decided by it;
- input fields that were not applied (kustomize fields netfence does not
  implement): parse code reports them as diagnostics made with
  ``field_not_applied`` and they are collected from there;
- objects that were invalid and left out (an analysis goes on without them, as
  kubectl apply goes on with the other objects, and still exits with an error).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from netfence.model.diagnostics import Diagnostic, ObjectRef, Severity, Source

if TYPE_CHECKING:
    from netfence.model.tiers import ClusterPolicy

# The code of a diagnostic saying that a field of the input was not applied.
NOT_APPLIED = "not-applied"


def group_of(api_version: str) -> str:
    """``networking.k8s.io/v1`` → ``networking.k8s.io``; ``v1`` → the core group ``""``."""
    return api_version.rpartition("/")[0]


@dataclass(frozen=True, slots=True)
class PolicyKind:
    """A kind of network policy netfence recognises but does not evaluate."""

    group: str
    kind: str
    cluster_wide: bool


OTHER_POLICY_KINDS: tuple[PolicyKind, ...] = (
    PolicyKind("cilium.io", "CiliumNetworkPolicy", False),
    PolicyKind("cilium.io", "CiliumClusterwideNetworkPolicy", True),
    PolicyKind("crd.projectcalico.org", "NetworkPolicy", False),
    PolicyKind("crd.projectcalico.org", "GlobalNetworkPolicy", True),
    PolicyKind("projectcalico.org", "NetworkPolicy", False),
    PolicyKind("projectcalico.org", "GlobalNetworkPolicy", True),
    PolicyKind("policy.networking.k8s.io", "AdminNetworkPolicy", True),
    PolicyKind("policy.networking.k8s.io", "BaselineAdminNetworkPolicy", True),
    PolicyKind("policy.networking.k8s.io", "ClusterNetworkPolicy", True),
    PolicyKind("networking.k8s.aws", "ClusterNetworkPolicy", True),
    PolicyKind("networking.k8s.aws", "ApplicationNetworkPolicy", False),
)
_POLICY_KINDS = {(k.group, k.kind): k for k in OTHER_POLICY_KINDS}


def other_policy_kind(api_version: str, kind: str) -> PolicyKind | None:
    return _POLICY_KINDS.get((group_of(api_version), kind))


# Kinds (by group) that cannot change whether a connection is allowed: skipped
# without making the input partial.
INERT_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        *(
            ("", k)
            for k in (
                "ConfigMap", "Secret", "ServiceAccount", "PersistentVolumeClaim",
                "PersistentVolume", "LimitRange", "ResourceQuota", "Event",
            )
        ),
        *(
            ("rbac.authorization.k8s.io", k)
            for k in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
        ),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("policy", "PodDisruptionBudget"),
        ("autoscaling", "HorizontalPodAutoscaler"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("storage.k8s.io", "StorageClass"),
        ("networking.k8s.io", "Ingress"),
        ("networking.k8s.io", "IngressClass"),
        ("coordination.k8s.io", "Lease"),
        ("apiregistration.k8s.io", "APIService"),
        # prometheus-operator's scrape and rule configuration (not its Prometheus,
        # Alertmanager or ThanosRuler, which the operator runs as pods)
        *(
            ("monitoring.coreos.com", k)
            for k in ("ServiceMonitor", "PodMonitor", "PrometheusRule", "Probe", "ScrapeConfig")
        ),
    }
)  # fmt: skip


def is_inert(api_version: str, kind: str) -> bool:
    return (group_of(api_version), kind) in INERT_KINDS


@dataclass(frozen=True, slots=True)
class SkippedKind:
    """Objects of one kind that netfence did not read (``kind`` "" when they had none)."""

    api_version: str
    kind: str
    sources: tuple[Source, ...]
    inert: bool

    @property
    def count(self) -> int:
        return len(self.sources)


@dataclass(frozen=True, slots=True)
class OtherPolicy:
    """A policy of a recognised kind that is not evaluated."""

    api_version: str
    kind: str
    namespace: str | None  # None: cluster-wide
    name: str
    source: Source | None

    @property
    def key(self) -> str:
        return self.name if self.namespace is None else f"{self.namespace}/{self.name}"

    def may_affect(self, namespaces: Iterable[str]) -> bool:
        """Whether a verdict involving pods of ``namespaces`` may also be decided here."""
        return self.namespace is None or self.namespace in set(namespaces)


@dataclass(frozen=True, slots=True)
class NotApplied:
    """A field of the input that was read but not applied (e.g. kustomize ``patches``)."""

    field: str
    source: Source | None


@dataclass(frozen=True, slots=True)
class InvalidObject:
    """An object with an error, left out of the answer (``obj`` None when the error
    names no object, e.g. a document without a usable kind)."""

    obj: ObjectRef | None
    source: Source | None


@dataclass(frozen=True, slots=True)
class Completeness:
    skipped: tuple[SkippedKind, ...] = ()
    policies: tuple[OtherPolicy, ...] = ()
    not_applied: tuple[NotApplied, ...] = ()
    invalid: tuple[InvalidObject, ...] = ()

    @property
    def relevant_skipped(self) -> tuple[SkippedKind, ...]:
        return tuple(s for s in self.skipped if not s.inert)

    @property
    def partial(self) -> bool:
        """Something that may change an answer was not evaluated."""
        return bool(self.relevant_skipped or self.policies or self.not_applied or self.invalid)

    def affecting(self, namespaces: Iterable[str]) -> tuple[OtherPolicy, ...]:
        names = set(namespaces)
        return tuple(p for p in self.policies if p.may_affect(names))


def field_not_applied(
    field: str, message: str, source: Source | None = None, severity: Severity = Severity.NOTICE
) -> Diagnostic:
    """The diagnostic that parse code gives for an input field it does not apply;
    ``completeness`` collects it (so that answers say the input was partial)."""
    return Diagnostic(severity, message, source, None, field, NOT_APPLIED)


def not_applied_in(diagnostics: Iterable[Diagnostic]) -> tuple[NotApplied, ...]:
    return tuple(NotApplied(d.field or "", d.source) for d in diagnostics if d.code == NOT_APPLIED)


def completeness(
    skipped: Sequence[SkippedKind],
    policies: Sequence[OtherPolicy],
    diagnostics: Iterable[Diagnostic] = (),
) -> Completeness:
    return Completeness(tuple(skipped), tuple(policies), not_applied_in(diagnostics))


def with_invalid_left_out(base: Completeness, errors: Iterable[Diagnostic]) -> Completeness:
    """``base`` for an answer computed without the objects that ``errors`` are about
    (each object once, in order)."""
    invalid = dict.fromkeys(InvalidObject(d.obj, d.source) for d in errors)
    return dataclasses.replace(base, invalid=(*base.invalid, *invalid))


def merged(*parts: Completeness) -> Completeness:
    """Several inputs' completeness as one (e.g. the two states of a diff): a kind
    skipped in both is listed once, with the sources of both."""
    skipped: dict[tuple[str, str], SkippedKind] = {}
    for c in parts:
        for s in c.skipped:
            seen = skipped.get((s.api_version, s.kind))
            before = () if seen is None else seen.sources
            sources = tuple(dict.fromkeys((*before, *s.sources)))
            skipped[(s.api_version, s.kind)] = SkippedKind(s.api_version, s.kind, sources, s.inert)
    return Completeness(
        tuple(skipped.values()),
        tuple(dict.fromkeys(p for c in parts for p in c.policies)),
        tuple(dict.fromkeys(n for c in parts for n in c.not_applied)),
        tuple(dict.fromkeys(i for c in parts for i in c.invalid)),
    )


def tiers_not_evaluated(base: Completeness, tiers: Sequence[ClusterPolicy]) -> Completeness:
    """``base`` for an answer that did not evaluate the cluster-wide tiers (the
    whole-cluster analysis, the nftables dataplane, today): each is listed as not
    evaluated, so the answer says it is partial."""
    if not tiers:
        return base
    listed = tuple(
        OtherPolicy(t.kind.api_version, t.kind.kind, None, t.name, t.source) for t in tiers
    )
    return dataclasses.replace(base, policies=tuple(dict.fromkeys((*base.policies, *listed))))
