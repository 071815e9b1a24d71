"""Files (and documents read elsewhere, such as a live cluster) → a built cluster,
in one call for the commands."""

from __future__ import annotations

import dataclasses
import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from netfence.io.manifests import ManifestSet, load_manifests
from netfence.model.diagnostics import Diagnostic
from netfence.parse.build import BuildResult, ConversionCache, build_cluster
from netfence.parse.documents import RawDocument

#: Objects from which a load freezes what it built (smaller loads leave the
#: collector alone: a test session loads thousands of small clusters).
FREEZE_AT = 10_000


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
    apply would. Runs without cyclic garbage collection (``without_cyclic_gc``)."""
    with without_cyclic_gc() as large:
        manifests = (
            load_manifests(files, kustomizations) if files or kustomizations else ManifestSet()
        )
        documents = [*base, *manifests.documents]
        manifests.documents.clear()
        large.append(len(documents) >= FREEZE_AT)
        built = build_cluster(each_once(documents), namespace)
        read = manifests.diagnostics
        del manifests, documents  # the decoded documents: freed before the model is frozen
        return dataclasses.replace(
            built, diagnostics=(*base_diagnostics, *read, *built.diagnostics)
        )


def load_cluster_change(
    files: Sequence[str],
    changes: Sequence[str],
    kustomizations: Sequence[str] = (),
    namespace: str | None = None,
    base: Sequence[RawDocument] = (),
    base_diagnostics: Sequence[Diagnostic] = (),
) -> tuple[BuildResult, BuildResult]:
    """The cluster of ``files`` (and ``kustomizations``, over ``base`` as in
    ``load_cluster``) before and after ``changes`` are applied over all of them:
    read, decoded and converted once (the second build reuses the first's
    conversions of the very same documents)."""
    with without_cyclic_gc() as large:
        read = load_manifests(files, kustomizations) if files or kustomizations else ManifestSet()
        change = load_manifests(changes, ()) if changes else ManifestSet()
        documents = [*base, *read.documents]
        large.append(len(documents) >= FREEZE_AT)
        cache = ConversionCache()
        before = build_cluster(documents, namespace, cache=cache)
        after = build_cluster([*documents, *change.documents], namespace, cache=cache)
        said = (*base_diagnostics, *read.diagnostics)
        return (
            dataclasses.replace(before, diagnostics=(*said, *before.diagnostics)),
            dataclasses.replace(
                after, diagnostics=(*said, *change.diagnostics, *after.diagnostics)
            ),
        )


def each_once(items: list[RawDocument]) -> Iterator[RawDocument]:
    """The items of a list, each dropped from it once given: a decoded document no
    longer needed is freed while the build runs, and the memory of the model
    made next takes its place (instead of new pages: fewer page faults, a lower
    peak) rather than all of them at the end."""
    for i in range(len(items)):
        item = items[i]
        items[i] = None  # type: ignore[call-overload]
        yield item
    items.clear()


@contextmanager
def without_cyclic_gc() -> Iterator[list[bool]]:
    """No cyclic garbage collection while the block runs; after it, if the block
    said it was large (``True`` appended to the list it is given), whatever is
    still alive (the model just built) is moved out of the collector's
    generations (``gc.freeze``); collection is enabled again if it was.

    A load makes millions of container objects (decoded documents, then the model)
    and no reference cycles: the collector would walk all of them again and again
    (15 full collections at 100k pods, about a third of the load), and walk the
    long-lived model again during the analysis that follows. Reference counting
    still frees everything that is dropped, frozen objects included."""
    enabled = gc.isenabled()
    gc.disable()
    large: list[bool] = []
    try:
        yield large
    finally:
        if any(large):
            gc.freeze()
        if enabled:
            gc.enable()
