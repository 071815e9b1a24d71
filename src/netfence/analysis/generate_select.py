"""Which labels select a workload's pods, and only them, in their namespace.

A workload's subject selector is made of its **stable** labels: those every pod of
the workload carries with the same value, leaving out the labels a controller
sets per replica or per revision (``PER_REPLICA_LABELS``), which would select
only today's pods. Labels are taken in ``PREFERRED_KEYS`` order, then by key, and
a label is kept only when it leaves out a pod of another workload that the
labels kept so far still select; when the stable labels cannot leave out a pod of
another workload, a ``DoesNotExist`` requirement on a label that pod has and the
workload's pods do not is added; when no such label exists either, the selector
also selects that pod, and ``Subject.shared_with`` says so (the policy is not
exact for it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from netfence.model.cluster import Cluster, Pod

# labels that differ between replicas or revisions of one workload
PER_REPLICA_LABELS = frozenset(
    {
        "pod-template-hash",  # Deployment → ReplicaSet revision
        "controller-revision-hash",  # StatefulSet and DaemonSet revision
        "pod-template-generation",  # DaemonSet (older)
        "statefulset.kubernetes.io/pod-name",  # one per replica
        "apps.kubernetes.io/pod-index",  # StatefulSet replica index
        "batch.kubernetes.io/job-completion-index",
        "batch.kubernetes.io/controller-uid",  # one per Job run
        "controller-uid",
        "batch.kubernetes.io/job-name",  # a CronJob's runs each have a Job of their own
        "job-name",
    }
)
# keys that name a workload, in the order people read them
PREFERRED_KEYS = (
    "app.kubernetes.io/name",
    "app",
    "k8s-app",
    "app.kubernetes.io/component",
    "component",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/part-of",
    "tier",
    "role",
)


@dataclass(frozen=True, slots=True)
class Subject:
    """A workload's pods and the selector that picks them in their namespace.
    ``absent``: label keys required not to exist; ``shared_with``: pods of other
    workloads that no stable label tells apart (selected too)."""

    key: str  # ns/kind/name, or ns/pod for a pod without a controller
    namespace: str
    name: str  # the policy's name
    pods: tuple[Pod, ...]
    labels: tuple[tuple[str, str], ...]
    absent: tuple[str, ...] = ()
    shared_with: tuple[str, ...] = ()

    def matches(self, pod: Pod) -> bool:
        return (
            pod.namespace == self.namespace
            and all(pod.labels.get(k) == v for k, v in self.labels)
            and not any(k in pod.labels for k in self.absent)
        )

    def selector(self) -> dict[str, object]:
        """As a LabelSelector object (matchLabels, and matchExpressions if needed)."""
        out: dict[str, object] = {}
        if self.labels:
            out["matchLabels"] = dict(sorted(self.labels))
        if self.absent:
            out["matchExpressions"] = [
                {"key": k, "operator": "DoesNotExist"} for k in sorted(self.absent)
            ]
        return out


def stable_labels(pod: Pod) -> dict[str, str]:
    return {k: v for k, v in pod.labels.items() if k not in PER_REPLICA_LABELS}


def subject_for(key: str, pods: Sequence[Pod], cluster: Cluster) -> Subject:
    """The selector for ``pods`` (one workload) against the other pods of their
    namespace."""
    namespace = pods[0].namespace
    mine = {id(p) for p in pods}
    others = [p for p in cluster.pods_in(namespace) if id(p) not in mine]
    common = _common(pods)
    chosen: list[tuple[str, str]] = []
    remaining = others
    for k in _ordered(common):
        kept = [p for p in remaining if p.labels.get(k) == common[k]]
        if not chosen or len(kept) < len(remaining):
            chosen.append((k, common[k]))
            remaining = kept
        if not remaining:
            break
    absent = _absent_keys(pods, remaining)
    remaining = [p for p in remaining if not any(k in p.labels for k in absent)]
    name = _policy_name(pods[0])
    return Subject(
        key,
        namespace,
        name,
        tuple(pods),
        tuple(chosen),
        tuple(absent),
        tuple(p.key for p in remaining),
    )


def _common(pods: Iterable[Pod]) -> dict[str, str]:
    items: set[tuple[str, str]] | None = None
    for pod in pods:
        mine = set(stable_labels(pod).items())
        items = mine if items is None else items & mine
    return dict(items or ())


def _ordered(labels: dict[str, str]) -> list[str]:
    first = [k for k in PREFERRED_KEYS if k in labels]
    return first + sorted(k for k in labels if k not in PREFERRED_KEYS)


def _absent_keys(pods: Sequence[Pod], foreign: Sequence[Pod]) -> list[str]:
    """For each foreign pod still selected, a stable label key it has that none of
    ``pods`` has (the first by key), when there is one."""
    ours = {k for p in pods for k in p.labels}
    keys: list[str] = []
    for other in foreign:
        if any(k in other.labels for k in keys):
            continue
        candidates = sorted(k for k in stable_labels(other) if k not in ours)
        if candidates:
            keys.append(candidates[0])
    return keys


def _policy_name(pod: Pod) -> str:
    return pod.workload.name if pod.workload else pod.name
