"""Files → a built cluster, in one call for the commands."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from netfence.io.manifests import load_manifests
from netfence.parse.build import BuildResult, build_cluster


def load_cluster(
    files: Sequence[str], kustomizations: Sequence[str] = (), namespace: str | None = None
) -> BuildResult:
    """Read and build; diagnostics of every kind are in the result, errors included."""
    manifests = load_manifests(files, kustomizations)
    built = build_cluster(manifests.documents, namespace)
    return dataclasses.replace(built, diagnostics=(*manifests.diagnostics, *built.diagnostics))
