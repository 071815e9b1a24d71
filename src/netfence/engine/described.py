"""Endpoints described by namespace and labels instead of named: hypothetical pods.

A policy repository carries no pods, yet its policies can be judged for the pods
they are written for: "a pod in ui labelled app.kubernetes.io/name=ui". Such a
pod is a :class:`Pod` without an address, whose name (``{labels}``) can never be
a real pod's name (names are DNS subdomains), so everything that prints a pod
shows at once that it is a described one. The engine decides connections of
described pods exactly as of real ones: selection reads namespace and labels,
peers read the pod's labels and its namespace's labels (those of a Namespace
object in the input, else only ``kubernetes.io/metadata.name``).
"""

from __future__ import annotations

from collections.abc import Iterable

from netfence.model.cluster import Pod
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement
from netfence.model.ports import ContainerPort

# A value for ``key: Exists`` requirements, when no other requirement fixes one.
_ANY_VALUE = "any"


def described_pod(namespace: str, labels: Labels, ports: Iterable[ContainerPort] = ()) -> Pod:
    """The hypothetical pod in ``namespace`` with exactly ``labels`` (and the
    container ``ports`` it declares, none by default)."""
    name = "{" + ",".join(f"{k}={v}" for k, v in labels.items_) + "}"
    return Pod(namespace, name, labels, (), tuple(ports))


def is_described(pod: Pod) -> bool:
    return pod.name.startswith("{")


def describe(pod: Pod) -> str:
    """``a pod of ui labelled app=ui`` / ``a pod of ui without labels``."""
    what = f"labelled {pod.labels.format()}" if pod.labels else "without labels"
    return f"a pod of {pod.namespace} {what}"


def labels_satisfying(selector: LabelSelector) -> Labels | None:
    """The smallest label set ``selector`` matches, or None when no label set can
    (``a In (x)`` with ``a NotIn (x)``, ``a`` required and ``DoesNotExist``).

    matchLabels and ``In`` fix a value (the first one left after every ``NotIn``);
    ``Exists`` alone takes a placeholder value; ``NotIn`` and ``DoesNotExist``
    are satisfied by leaving the key out.
    """
    requirements = [
        *(Requirement(k, Operator.IN, (v,)) for k, v in selector.match_labels.items_),
        *selector.match_expressions,
    ]
    chosen: dict[str, str] = {}
    for key in sorted({r.key for r in requirements}):
        mine = [r for r in requirements if r.key == key]
        required = any(r.operator in (Operator.IN, Operator.EXISTS) for r in mine)
        if not required:
            continue
        if any(r.operator is Operator.DOES_NOT_EXIST for r in mine):
            return None
        banned = {v for r in mine if r.operator is Operator.NOT_IN for v in r.values}
        allowed: set[str] | None = None
        for r in mine:
            if r.operator is Operator.IN:
                allowed = set(r.values) if allowed is None else allowed & set(r.values)
        if allowed is None:
            candidates = [_ANY_VALUE, *(f"{_ANY_VALUE}-{i}" for i in range(len(banned) + 1))]
        else:
            candidates = sorted(allowed)
        value = next((v for v in candidates if v not in banned), None)
        if value is None:
            return None
        chosen[key] = value
    labels = Labels.of(chosen)
    return labels if selector.matches(labels) else None
