"""load_cluster runs without cyclic GC and leaves the collector as it found it."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest

from netfence.errors import InvalidInputError
from netfence.io.cluster import load_cluster, without_cyclic_gc


def _pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "a"}}


@pytest.mark.parametrize("enabled", [True, False])
def test_collection_is_off_inside_and_restored_after(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with without_cyclic_gc():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), without_cyclic_gc():
            raise RuntimeError("boom")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("freeze_at", [2, 3])
def test_a_large_load_freezes_its_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, freeze_at: int
) -> None:
    monkeypatch.setattr("netfence.io.cluster.FREEZE_AT", freeze_at)
    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"kind": "List", "items": [_pod("p0"), _pod("p1")]}))
    gc.unfreeze()
    built = load_cluster([str(path)])
    assert gc.isenabled()
    assert (gc.get_freeze_count() > 0) is (freeze_at == 2)
    assert [p.name for p in built.cluster.pods] == ["p0", "p1"]
    gc.unfreeze()


def test_an_input_error_restores_collection(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"kind": "Pod", "kind": "Pod"}')
    with pytest.raises(InvalidInputError):
        load_cluster([str(path)])
    assert gc.isenabled()
    gc.unfreeze()


def test_each_once_gives_every_item_in_order_and_drops_it() -> None:
    from netfence.io.cluster import each_once
    from netfence.model.diagnostics import Source
    from netfence.parse.documents import RawDocument

    docs = [RawDocument(Source("x", i), _pod(f"p{i}")) for i in range(3)]
    items = list(docs)
    given = []
    for doc in each_once(items):
        given.append(doc)
        assert items[: len(given)] == [None] * len(given)  # dropped once given
        assert items[len(given) :] == docs[len(given) :]
    assert given == docs
    assert items == []


def test_a_load_builds_what_the_documents_build(tmp_path: Path) -> None:
    from netfence.io.manifests import load_manifests
    from netfence.parse.build import build_cluster

    path = tmp_path / "pods.json"
    path.write_text(json.dumps({"kind": "List", "items": [_pod("p0"), _pod("p0"), _pod("p1")]}))
    built = load_cluster([str(path)])
    expected = build_cluster(load_manifests([str(path)]).documents)
    assert built.cluster == expected.cluster
    assert built.diagnostics == expected.diagnostics
