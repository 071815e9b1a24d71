"""A lab plan and the lab's record of what it created, as JSON and back, so that
state survives between commands. Pure."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from netfence.lab.plan import (
    ExternalPlan,
    LabPlan,
    NodeLink,
    NodePlan,
    PodPlan,
    ServerSpec,
    check_lab_id,
)

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


# --- the lab's record of what it created ---------------------------------------------------

RECORD_FORMAT = 1


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    """A process the lab started: ``start`` (its start time, /proc/PID/stat field 22)
    and ``marker`` (a part of its command line) tell it from a later one with its PID."""

    name: str
    pid: int
    start: int | None
    marker: str


@dataclass(frozen=True)
class LabRecord:
    """Everything a lab created, so that ``down`` removes that and nothing else.

    Paths in ``files``, ``directories`` and ``trees`` are relative to the lab
    directory; ``above`` holds the lab directory and its parents that ``up``
    created (absolute), removed at the end if empty. ``trees`` are directories the
    lab created for its programs to fill (a node agent's state): removed whole."""

    lab_id: str
    interpreter: str  # of every program the lab runs: the one running netfence
    namespaces: tuple[str, ...] = ()
    processes: tuple[ProcessRecord, ...] = ()
    files: tuple[str, ...] = ()
    directories: tuple[str, ...] = ()
    trees: tuple[str, ...] = ()
    above: tuple[str, ...] = ()


def record_to_json(record: LabRecord) -> str:
    data = dataclasses.asdict(record)
    return json.dumps({"format": RECORD_FORMAT, "lab": data}, indent=1) + "\n"


def record_from_json(text: str) -> LabRecord:
    """Raises ValueError on anything this version did not write."""
    try:
        document = json.loads(text)
        if document.get("format") != RECORD_FORMAT:
            raise ValueError(f"unknown lab record format {document.get('format')!r}")
        data = document["lab"]
        record = LabRecord(
            lab_id=_string(data["lab_id"]),
            interpreter=_string(data["interpreter"]),
            namespaces=_strings(data["namespaces"]),
            processes=tuple(
                ProcessRecord(
                    _string(p["name"]),
                    _integer(p["pid"]),
                    None if p["start"] is None else _integer(p["start"]),
                    _string(p["marker"]),
                )
                for p in data["processes"]
            ),
            files=_strings(data["files"]),
            directories=_strings(data["directories"]),
            trees=_strings(data["trees"]),
            above=_strings(data["above"]),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed lab record ({type(exc).__name__}: {exc})") from None
    check_lab_id(record.lab_id)
    return record


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {value!r}")
    return value


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise TypeError(f"expected a positive integer, got {value!r}")
    return value


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {value!r}")
    return tuple(_string(v) for v in value)
