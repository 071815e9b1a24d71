"""Respell a v0.2.0 ClusterNetworkPolicy in the two other schemas the issue names.

Pure functions over manifests (plain dicts); the input is never modified.

- ``to_ports_schema``: the same ``policy.networking.k8s.io/v1alpha2`` object in the
  pre-v0.2.0 port schema (before NPEP-187): every rule's ``protocols`` list becomes a
  ``ports`` list of ``portNumber`` / ``portRange`` / ``namedPort``.
- ``to_eks``: Amazon EKS's ``networking.k8s.aws/v1alpha1`` ClusterNetworkPolicy, which
  uses that same ``ports`` schema and has no ``nodes`` peer. A policy with a ``nodes``
  peer cannot be written for EKS: ``eks_obstacle`` says why, ``to_eks`` refuses it.
- ``to_protocols_schema`` and ``from_eks`` go back, for the round-trip tests.

Facts the mapping rests on (the CRDs' own validation):
- v0.2.0 ``protocols``: exactly one of ``tcp`` / ``udp`` / ``sctp`` (each with a
  ``destinationPort`` of ``number`` or inclusive ``range {start, end}``) or
  ``destinationNamedPort``; no protocol on a named port (the container port decides).
- pre-v0.2.0 ``ports`` and EKS ``ports``: ``portNumber {protocol, port}``,
  ``portRange {protocol, start, end}`` with the CEL rule ``self.start < self.end``, and
  ``namedPort``. So a v0.2.0 range with ``start == end`` becomes a ``portNumber``.
"""

from __future__ import annotations

import copy
from typing import Any

UPSTREAM_V1ALPHA2 = "policy.networking.k8s.io/v1alpha2"
EKS_V1ALPHA1 = "networking.k8s.aws/v1alpha1"
KIND = "ClusterNetworkPolicy"
PROTOCOL_KEYS = {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP"}

Manifest = dict[str, Any]


class NotExpressible(ValueError):
    """The policy uses something the target schema does not have."""


# --------------------------------------------------------------------------- ports


def protocol_to_port(entry: dict[str, Any]) -> dict[str, Any]:
    """One v0.2.0 ``protocols`` entry as one ``ports`` entry."""
    if set(entry) == {"destinationNamedPort"}:
        return {"namedPort": entry["destinationNamedPort"]}
    if len(entry) != 1 or next(iter(entry)) not in PROTOCOL_KEYS:
        raise ValueError(f"not a v0.2.0 protocols entry: {entry!r}")
    key, body = next(iter(entry.items()))
    protocol = PROTOCOL_KEYS[key]
    port = body["destinationPort"]
    if "number" in port:
        return {"portNumber": {"protocol": protocol, "port": port["number"]}}
    start, end = port["range"]["start"], port["range"]["end"]
    if start == end:
        return {"portNumber": {"protocol": protocol, "port": start}}
    return {"portRange": {"protocol": protocol, "start": start, "end": end}}


def port_to_protocol(entry: dict[str, Any]) -> dict[str, Any]:
    """One ``ports`` entry as one v0.2.0 ``protocols`` entry (protocol defaults to TCP)."""
    if "namedPort" in entry:
        return {"destinationNamedPort": entry["namedPort"]}
    if "portNumber" in entry:
        number = entry["portNumber"]
        key = number.get("protocol", "TCP").lower()
        return {key: {"destinationPort": {"number": number["port"]}}}
    span = entry["portRange"]
    key = span.get("protocol", "TCP").lower()
    return {key: {"destinationPort": {"range": {"start": span["start"], "end": span["end"]}}}}


def _map_rules(spec: dict[str, Any], old: str, new: str, convert: Any) -> None:
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            if old in rule:
                rule[new] = [convert(entry) for entry in rule.pop(old)]


def to_ports_schema(policy: Manifest) -> Manifest:
    _require(policy, UPSTREAM_V1ALPHA2)
    out = copy.deepcopy(policy)
    _map_rules(out["spec"], "protocols", "ports", protocol_to_port)
    return out


def to_protocols_schema(policy: Manifest) -> Manifest:
    out = copy.deepcopy(policy)
    out["apiVersion"] = UPSTREAM_V1ALPHA2
    _map_rules(out["spec"], "ports", "protocols", port_to_protocol)
    return out


# ----------------------------------------------------------------------------- EKS


def eks_obstacle(policy: Manifest) -> str | None:
    """Why ``policy`` cannot be an EKS ClusterNetworkPolicy, or None."""
    for direction in ("ingress", "egress"):
        for index, rule in enumerate(policy["spec"].get(direction) or []):
            for peer in rule.get("to") or rule.get("from") or []:
                if "nodes" in peer:
                    return f"spec.{direction}[{index}] has a nodes peer, which EKS does not have"
    return None


def to_eks(policy: Manifest) -> Manifest:
    if (reason := eks_obstacle(policy)) is not None:
        raise NotExpressible(f"{policy['metadata']['name']}: {reason}")
    out = to_ports_schema(policy)
    out["apiVersion"] = EKS_V1ALPHA1
    return out


def from_eks(policy: Manifest) -> Manifest:
    _require(policy, EKS_V1ALPHA1)
    return to_protocols_schema(policy)


def _require(policy: Manifest, api_version: str) -> None:
    if policy.get("apiVersion") != api_version or policy.get("kind") != KIND:
        raise ValueError(
            f"expected {api_version} {KIND}, got {policy.get('apiVersion')} {policy.get('kind')}"
        )


# ------------------------------------------------------------------------ spellings


def spellings(policies: list[Manifest]) -> dict[str, list[Manifest] | str]:
    """The same set of policies in each spelling: a list of manifests, or (EKS only)
    the reason it cannot be written. Non-CNP objects (NetworkPolicy) are kept as they
    are in every spelling."""
    cnp = [p for p in policies if p.get("kind") == KIND]
    others = [p for p in policies if p.get("kind") != KIND]
    result: dict[str, list[Manifest] | str] = {
        "protocols": copy.deepcopy(policies),
        "ports": [to_ports_schema(p) for p in cnp] + copy.deepcopy(others),
    }
    reasons = [r for p in cnp if (r := eks_obstacle(p)) is not None]
    result["eks"] = (
        "; ".join(reasons) if reasons else [to_eks(p) for p in cnp] + copy.deepcopy(others)
    )
    return result
