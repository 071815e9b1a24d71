"""Validation of the cluster-wide policy kinds and EKS ApplicationNetworkPolicy: the
YAML corpora under tiers/valid and tiers/invalid.

Each corpus file has a ``base`` manifest and ``cases``; a case replaces the base's
top-level fields it names (``apiVersion``, ``kind``, ``metadata``, ``spec``) and
removes those in ``delete``. ``errors`` and ``warnings`` list ``[field path,
message]`` pairs: the diagnostics of that severity must be exactly these (as a
multiset). A case under valid/ has no errors.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from netfence.model.diagnostics import Severity, Source
from netfence.parse.tier_read import read_tier_object

CORPUS = Path(__file__).parent / "tiers"
_FIELDS = ("apiVersion", "kind", "metadata", "spec")


def _cases(folder: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path in sorted((CORPUS / folder).glob("*.yaml")):
        corpus = yaml.safe_load(path.read_text())
        for case in corpus["cases"]:
            found.append((f"{path.stem}:{case['id']}", corpus["base"], case))
    return found


def manifest(base: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    doc.update(copy.deepcopy({k: case[k] for k in _FIELDS if k in case}))
    for key in case.get("delete") or []:
        del doc[key]
    return doc


def diagnostics_of(doc: dict[str, Any], severity: Severity) -> Counter[tuple[str, str]]:
    read = read_tier_object(doc, Source("case.yaml", 1), "default")
    assert read is not None
    return Counter((d.field or "", d.message) for d in read.diagnostics if d.severity is severity)


VALID = _cases("valid")
INVALID = _cases("invalid")


@pytest.mark.parametrize(("name", "base", "case"), VALID, ids=[c[0] for c in VALID])
def test_valid(name: str, base: dict[str, Any], case: dict[str, Any]) -> None:
    doc = manifest(base, case)
    read = read_tier_object(doc, Source("case.yaml", 1), "default")
    assert read is not None and read.policy is not None, [d.format() for d in read.diagnostics]
    expected = Counter(tuple(w) for w in case.get("warnings") or [])
    assert diagnostics_of(doc, Severity.WARNING) == expected


@pytest.mark.parametrize(("name", "base", "case"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid(name: str, base: dict[str, Any], case: dict[str, Any]) -> None:
    doc = manifest(base, case)
    expected = Counter(tuple(e) for e in case["errors"])
    assert expected, "an invalid case lists its errors"
    assert diagnostics_of(doc, Severity.ERROR) == expected
    read = read_tier_object(doc, Source("case.yaml", 1), "default")
    assert read is not None and read.policy is None


def test_corpora_cover_every_kind_and_ids_are_unique() -> None:
    names = [name for name, _, _ in VALID + INVALID]
    assert len(names) == len(set(names))
    kinds = {(b["apiVersion"], b["kind"]) for _, b, _ in VALID + INVALID}
    assert kinds == {
        ("policy.networking.k8s.io/v1alpha1", "AdminNetworkPolicy"),
        ("policy.networking.k8s.io/v1alpha1", "BaselineAdminNetworkPolicy"),
        ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy"),
        ("networking.k8s.aws/v1alpha1", "ClusterNetworkPolicy"),
        ("networking.k8s.aws/v1alpha1", "ApplicationNetworkPolicy"),
    }
