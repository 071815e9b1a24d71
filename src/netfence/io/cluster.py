"""Files (and documents read elsewhere, such as a live cluster) → a built cluster,
in one call for the commands."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from netfence.io.manifests import ManifestSet, load_manifests
from netfence.model.diagnostics import Diagnostic
from netfence.parse.build import BuildResult, build_cluster
from netfence.parse.documents import RawDocument


def load_cluster(
    files: Sequence[str],
    kustomizations: Sequence[str] = (),
    namespace: str | None = None,
    base: Sequence[RawDocument] = (),
    base_diagnostics: Sequence[Diagnostic] = (),
) -> BuildResult:
    """Read and build; diagnostics of every kind are in the result, errors included.
    ``base``: documents read elsewhere (a live cluster), under the files' objects: an
    object of the same kind, namespace and name in a file replaces it, as kubectl
    apply would."""
    manifests = load_manifests(files, kustomizations) if files or kustomizations else ManifestSet()
    built = build_cluster([*base, *manifests.documents], namespace)
    return dataclasses.replace(
        built, diagnostics=(*base_diagnostics, *manifests.diagnostics, *built.diagnostics)
    )
