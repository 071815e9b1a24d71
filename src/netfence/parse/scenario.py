"""Scenario files (``scenario.yaml``): a cluster, steps that apply policies, and probes.

The bundled EKS workshop exercise is one; ``netfence demo`` replays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from netfence.errors import InvalidInputError
from netfence.model.diagnostics import Source
from netfence.model.policy import IPAddress
from netfence.model.ports import Protocol
from netfence.parse.fields import FieldReader


@dataclass(frozen=True, slots=True)
class PolicyFile:
    file: str
    namespace: str | None


@dataclass(frozen=True, slots=True)
class ScenarioStep:
    title: str
    say: str
    policies: tuple[PolicyFile, ...]


@dataclass(frozen=True, slots=True)
class Probe:
    from_: str
    to: str
    port: int | str | None
    protocol: Protocol
    resolve: IPAddress | None
    label: str


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    kustomize: tuple[str, ...]
    files: tuple[str, ...]
    steps: tuple[ScenarioStep, ...]
    probes: tuple[Probe, ...]


def parse_scenario(value: object, file: str) -> Scenario:
    reader = FieldReader(Source(file, 1), None)
    root = reader.mapping(value, "scenario")
    cluster = reader.mapping(root.get("cluster"), "cluster")
    steps = tuple(
        _step(reader.mapping(raw, f"steps[{i}]"), f"steps[{i}]", reader)
        for i, raw in enumerate(reader.listing(root.get("steps"), "steps"))
    )
    probes = tuple(
        _probe(reader.mapping(raw, f"probes[{i}]"), f"probes[{i}]", reader)
        for i, raw in enumerate(reader.listing(root.get("probes"), "probes"))
    )
    scenario = Scenario(
        name=reader.string(root.get("name"), "name"),
        title=reader.string(root.get("title"), "title"),
        kustomize=tuple(_strings(cluster.get("kustomize"), "cluster.kustomize", reader)),
        files=tuple(_strings(cluster.get("files"), "cluster.files", reader)),
        steps=steps,
        probes=probes,
    )
    if reader.problems:
        raise InvalidInputError(reader.problems)
    return scenario


def _strings(value: object, path: str, reader: FieldReader) -> list[str]:
    return [reader.string(v, f"{path}[{i}]") for i, v in enumerate(reader.listing(value, path))]


def _step(raw: dict[str, Any], path: str, reader: FieldReader) -> ScenarioStep:
    policies = []
    for i, item in enumerate(reader.listing(raw.get("policies"), f"{path}.policies")):
        entry = reader.mapping(item, f"{path}.policies[{i}]")
        policies.append(
            PolicyFile(
                reader.string(entry.get("file"), f"{path}.policies[{i}].file"),
                reader.string(entry.get("namespace"), f"{path}.policies[{i}].namespace") or None,
            )
        )
    return ScenarioStep(
        reader.string(raw.get("title"), f"{path}.title"),
        reader.string(raw.get("say"), f"{path}.say"),
        tuple(policies),
    )


def _probe(raw: dict[str, Any], path: str, reader: FieldReader) -> Probe:
    port = raw.get("port")
    return Probe(
        from_=reader.string(raw.get("from"), f"{path}.from"),
        to=reader.string(raw.get("to"), f"{path}.to"),
        port=port if isinstance(port, int | str) else None,
        protocol=_protocol(
            reader.string(raw.get("protocol"), f"{path}.protocol", "TCP"), path, reader
        ),
        resolve=reader.ip(raw.get("resolve"), f"{path}.resolve"),
        label=reader.string(raw.get("curl"), f"{path}.curl"),
    )


def _protocol(text: str, path: str, reader: FieldReader) -> Protocol:
    try:
        return Protocol(text.upper())
    except ValueError:
        reader.fail(
            f"{path}.protocol",
            f'Unsupported value: "{text}": supported values: "SCTP", "TCP", "UDP"',
        )
        return Protocol.TCP
