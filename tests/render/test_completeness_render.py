"""Wording of a partial input: policy names that cannot be mistaken for another kind."""

from __future__ import annotations

import pytest

from netfence.model.completeness import OtherPolicy
from netfence.render.completeness import policy_ref


@pytest.mark.parametrize(
    ("api_version", "kind", "namespace", "expected"),
    [
        ("cilium.io/v2", "CiliumNetworkPolicy", "ui", "CiliumNetworkPolicy ui/p"),
        ("projectcalico.org/v3", "NetworkPolicy", "ui", "NetworkPolicy.projectcalico.org ui/p"),
        ("crd.projectcalico.org/v1", "GlobalNetworkPolicy", None, "GlobalNetworkPolicy p"),
        (
            "networking.k8s.aws/v1alpha1",
            "ClusterNetworkPolicy",
            None,
            "ClusterNetworkPolicy.networking.k8s.aws p",
        ),
    ],
)
def test_policy_ref(api_version: str, kind: str, namespace: str | None, expected: str) -> None:
    assert policy_ref(OtherPolicy(api_version, kind, namespace, "p", None)) == expected
