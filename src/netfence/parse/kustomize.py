"""The part of kustomize that decides what a cluster contains: ``resources`` and
``namespace``. Other transformers are reported as not applied, never guessed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from netfence.model.diagnostics import Diagnostic, Source, error, notice
from netfence.parse.documents import RawDocument

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_UNDERSTOOD = {"apiVersion", "kind", "resources", "namespace", "metadata"}
_CLUSTER_SCOPED = {
    "Namespace",
    "Node",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Kustomization:
    resources: tuple[str, ...]
    namespace: str | None
    diagnostics: tuple[Diagnostic, ...]


def read_kustomization(obj: object, source: Source) -> Kustomization:
    if not isinstance(obj, dict):
        return Kustomization((), None, (error("kustomization: expected an object", source),))
    problems: list[Diagnostic] = []
    resources = obj.get("resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        problems.append(error("resources: expected a list of paths", source))
        resources = []
    namespace = obj.get("namespace")
    if namespace is not None and not isinstance(namespace, str):
        problems.append(error("namespace: expected a string", source))
        namespace = None
    for key in sorted(set(obj) - _UNDERSTOOD, key=str):
        problems.append(
            notice(f"{key}: not applied by netfence (only resources and namespace are)", source)
        )
    return Kustomization(tuple(resources), namespace, tuple(problems))


def set_namespace(documents: Iterable[RawDocument], namespace: str) -> list[RawDocument]:
    """kustomize's ``namespace`` sets the namespace of every namespaced object."""
    out: list[RawDocument] = []
    for doc in documents:
        if doc.kind in _CLUSTER_SCOPED:
            out.append(doc)
            continue
        obj: dict[str, Any] = dict(doc.obj)
        meta = obj.get("metadata")
        obj["metadata"] = {**(meta if isinstance(meta, dict) else {}), "namespace": namespace}
        out.append(RawDocument(doc.source, obj))
    return out
