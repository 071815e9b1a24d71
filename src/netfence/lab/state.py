"""A lab plan as JSON and back, so that state survives between commands. Pure."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from netfence.lab.plan import ExternalPlan, LabPlan, NodeLink, NodePlan, PodPlan, ServerSpec

FORMAT = 1


def plan_to_json(plan: LabPlan) -> str:
    data = dataclasses.asdict(plan)
    for pod, original in zip(data["pods"], plan.pods, strict=True):
        pod["servers"] = [s.format() for s in original.servers]
    data["external"]["servers"] = [s.format() for s in plan.external.servers]
    return json.dumps({"format": FORMAT, "plan": data}, indent=1, sort_keys=True) + "\n"


def plan_from_json(text: str) -> LabPlan:
    """Raises ValueError (or KeyError/TypeError) on a file this version did not write."""
    document = json.loads(text)
    if document.get("format") != FORMAT:
        raise ValueError(f"unknown lab state format {document.get('format')!r}")
    data: dict[str, Any] = document["plan"]
    return LabPlan(
        lab_id=data["lab_id"],
        nodes=tuple(_node(n) for n in data["nodes"]),
        pods=tuple(_pod(p) for p in data["pods"]),
        external=_external(data["external"]),
        routed=tuple(data["routed"]),
        dns_records=tuple((name, tuple(ips)) for name, ips in data["dns_records"]),
        nameserver=data["nameserver"],
        kube_proxy=data["kube_proxy"],
        cluster_domain=data["cluster_domain"],
        notes=tuple(data["notes"]),
        routed6=tuple(data.get("routed6", ())),
    )


def _node(data: dict[str, Any]) -> NodePlan:
    links = tuple(NodeLink(**link) for link in data["links"])
    return NodePlan(data["name"], data["netns"], data["address"], links, data.get("address6"))


def _pod(data: dict[str, Any]) -> PodPlan:
    servers = tuple(ServerSpec.parse(s) for s in data["servers"])
    return PodPlan(**{**data, "servers": servers})


def _external(data: dict[str, Any]) -> ExternalPlan:
    servers = tuple(ServerSpec.parse(s) for s in data["servers"])
    return ExternalPlan(**{**data, "servers": servers})


def records_to_json(plan: LabPlan, ttl: int = 5) -> str:
    """The lab DNS's zone (``netfence.lab.dns.Zone.from_json``)."""
    records = {name: list(ips) for name, ips in plan.dns_records}
    return json.dumps({"ttl": ttl, "records": records}, indent=1, sort_keys=True) + "\n"
