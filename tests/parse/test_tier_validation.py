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


# --- MaxItems per kind (too long for the YAML corpora) -------------------------------------

_LIMITS = [
    # corpus base, rule, limit of rules, peers and ports, one port entry
    ("anp-v1alpha1", {"action": "Deny"}, 100, {"namedPort": "x"}),
    ("banp-v1alpha1", {"action": "Deny"}, 100, {"namedPort": "x"}),
    ("cnp-v1alpha2", {"action": "Deny"}, 25, {"destinationNamedPort": "x"}),
    ("cnp-v1alpha2-ports", {"action": "Deny"}, 25, {"namedPort": "x"}),
    ("eks-cnp", {"action": "Deny"}, 100, {"namedPort": "x"}),
]


def _base(stem: str) -> dict[str, Any]:
    base: dict[str, Any] = yaml.safe_load((CORPUS / "valid" / f"{stem}.yaml").read_text())["base"]
    return base


@pytest.mark.parametrize(("stem", "rule", "limit", "port"), _LIMITS, ids=[s for s, *_ in _LIMITS])
def test_max_items_of_rules_peers_and_ports(
    stem: str, rule: dict[str, Any], limit: int, port: dict[str, Any]
) -> None:
    ports_key = "protocols" if "destinationNamedPort" in port else "ports"
    for count, errors in ((limit, Counter()), (limit + 1, None)):
        doc = copy.deepcopy(_base(stem))
        peers = [{"namespaces": {}}] * count
        doc["spec"]["ingress"] = [{**rule, "from": peers, ports_key: [port] * count}] * count
        found = diagnostics_of(doc, Severity.ERROR)
        if errors is not None:
            assert found == errors
            continue
        too_many = f"Too many: {count}: must have at most {limit} items"
        assert found[("spec.ingress", too_many)] == 1
        assert found[("spec.ingress[0].from", too_many)] == 1
        assert found[(f"spec.ingress[0].{ports_key}", too_many)] == 1


def test_max_items_of_networks_and_domain_names() -> None:
    doc = copy.deepcopy(_base("cnp-v1alpha2"))
    networks = [f"10.0.{i}.0/24" for i in range(26)]
    names = [f"n{i}.example.com" for i in range(26)]
    doc["spec"]["egress"] = [
        {"action": "Accept", "to": [{"networks": networks[:25]}, {"domainNames": names[:25]}]},
        {"action": "Accept", "to": [{"networks": networks}, {"domainNames": names}]},
    ]
    too_many = "Too many: 26: must have at most 25 items"
    assert diagnostics_of(doc, Severity.ERROR) == Counter(
        {
            ("spec.egress[1].to[0].networks", too_many): 1,
            ("spec.egress[1].to[1].domainNames", too_many): 1,
        }
    )
