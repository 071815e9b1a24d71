"""One manifest of a cluster-wide policy kind (or an EKS ApplicationNetworkPolicy):
validated, located, and converted when valid.

    read_tier_object(obj, source, default_namespace) -> TierRead | None

None when the object is of none of these kinds. An invalid object is reported
(every error at once) and not converted, as the API server would reject it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netfence.model.diagnostics import Diagnostic, ObjectRef, Severity, Source
from netfence.model.policy import NetworkPolicy
from netfence.model.tiers import ClusterPolicy
from netfence.parse.tier_convert import to_application_policy, to_cluster_policy
from netfence.parse.tier_validation import tier_kind, tier_object_errors, tier_object_ref


@dataclass(frozen=True, slots=True)
class TierRead:
    """``policy`` None when the object is invalid; ``key`` is unique across kinds;
    ``ref`` names the object as every message about it does."""

    key: str
    ref: ObjectRef
    policy: ClusterPolicy | NetworkPolicy | None
    diagnostics: tuple[Diagnostic, ...]


def read_tier_object(
    obj: Mapping[str, Any], source: Source | None, default_namespace: str
) -> TierRead | None:
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    spec = tier_kind(api_version, kind)
    if spec is None:
        return None
    ref = tier_object_ref(obj, spec, default_namespace)
    diagnostics = tuple(e.diagnostic(source, ref) for e in tier_object_errors(obj, spec))
    key = f"{spec.kind}.{spec.group}/{ref.namespace or ''}/{ref.name or ''}"
    if any(d.severity is Severity.ERROR for d in diagnostics):
        return TierRead(key, ref, None, diagnostics)
    tier = spec.tier_kind
    if tier is None:
        policy: ClusterPolicy | NetworkPolicy = to_application_policy(
            obj, ref.namespace or default_namespace, source
        )
    else:
        policy = to_cluster_policy(obj, tier, source)
    return TierRead(key, ref, policy, diagnostics)
