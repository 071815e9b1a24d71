"""The upstream netpol e2e truth tables, replayed against the engine.

Each file in ``netpol_e2e/cases`` is one case (see ``netpol_e2e/README.md``): the
x/y/z x a/b/c model cluster of ``netpol_e2e/model.yaml``, optional label changes,
a set of NetworkPolicies, and for each probe (port, protocol, address family) the
whole 9x9 table of expected verdicts. The tables were written by hand from the
upstream tests' expectations, never by running netfence: they are an independent
oracle.

Two tests per case: ``test_case_is_well_formed`` checks the corpus itself and needs
nothing from netfence; ``test_case_matches_engine`` builds the cluster with the
loader and evaluates all 81 pairs of every probe.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

CORPUS = Path(__file__).parent / "netpol_e2e"
CASES_DIR = CORPUS / "cases"
MODEL_FILE = CORPUS / "model.yaml"
CASE_FILES = sorted(CASES_DIR.glob("*.yaml"))

NAMESPACES = ("x", "y", "z")
POD_NAMES = ("a", "b", "c")
PODS = tuple(f"{ns}/{pod}" for ns in NAMESPACES for pod in POD_NAMES)
PROTOCOLS = ("TCP", "UDP", "SCTP")
ALLOWED, DENIED = ".", "X"

CASE_KEYS = {
    "name", "upstream", "context", "variant", "step", "description",
    "pod_labels", "namespace_labels", "policies", "probes",
}  # fmt: skip
REQUIRED_CASE_KEYS = {"name", "upstream", "description", "policies", "probes"}
PROBE_KEYS = {"port", "protocol", "family", "extra", "reachability"}
FILE_NAME = re.compile(r"^(\d{3})-([a-z0-9]+(?:-[a-z0-9]+)*)\.yaml$")


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Probe:
    port: int
    protocol: str
    family: int
    table: dict[str, str]  # FROM pod -> row of 9 cells, columns in PODS order

    def label(self) -> str:
        return f"{self.protocol}/{self.port} IPv{self.family}"


@cache
def load_case(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name}: a case is a mapping"
    return data


def probes_of(case: dict[str, Any]) -> list[Probe]:
    return [
        Probe(
            port=raw["port"],
            protocol=raw.get("protocol", "TCP"),
            family=raw.get("family", 4),
            table=dict(raw["reachability"]),
        )
        for raw in case["probes"]
    ]


def case_problems(path: Path) -> Iterator[str]:
    """Everything wrong with one case file, as readable sentences."""
    match = FILE_NAME.match(path.name)
    if match is None:
        yield f"file name {path.name!r} is not NNN-short-name.yaml"
    case = load_case(path)
    if unknown := set(case) - CASE_KEYS:
        yield f"unknown top-level keys {sorted(unknown)}"
    if missing := REQUIRED_CASE_KEYS - set(case):
        yield f"missing top-level keys {sorted(missing)}"
        return
    if match is not None and case["name"] != match.group(2):
        yield f"name {case['name']!r} differs from the file name's {match.group(2)!r}"
    for key in ("upstream", "description"):
        if not isinstance(case[key], str) or not case[key].strip():
            yield f"{key} must be a non-empty string"
    yield from _label_problems(case.get("pod_labels"), "pod_labels", PODS)
    yield from _label_problems(case.get("namespace_labels"), "namespace_labels", NAMESPACES)
    yield from _policy_problems(case["policies"])
    yield from _probe_problems(case["probes"])


def _label_problems(raw: object, field: str, known: tuple[str, ...]) -> Iterator[str]:
    if raw is None:
        return
    if not isinstance(raw, dict):
        yield f"{field} must be a mapping"
        return
    for key, labels in raw.items():
        if key not in known:
            yield f"{field}: unknown {key!r} (known: {', '.join(known)})"
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            yield f"{field}.{key}: labels must map strings to strings"


def _policy_problems(policies: object) -> Iterator[str]:
    if not isinstance(policies, list):
        yield "policies must be a list"
        return
    for index, policy in enumerate(policies):
        where = f"policies[{index}]"
        if not isinstance(policy, dict):
            yield f"{where} must be a mapping"
            continue
        if policy.get("apiVersion") != "networking.k8s.io/v1":
            yield f"{where}.apiVersion must be networking.k8s.io/v1"
        if policy.get("kind") != "NetworkPolicy":
            yield f"{where}.kind must be NetworkPolicy"
        meta = policy.get("metadata") or {}
        if not meta.get("name"):
            yield f"{where}.metadata.name is missing"
        if meta.get("namespace") not in NAMESPACES:
            yield f"{where}.metadata.namespace must be one of {', '.join(NAMESPACES)}"


def _probe_problems(probes: object) -> Iterator[str]:
    if not isinstance(probes, list) or not probes:
        yield "probes must be a non-empty list"
        return
    seen: set[tuple[object, object, object]] = set()
    for index, raw in enumerate(probes):
        where = f"probes[{index}]"
        if not isinstance(raw, dict):
            yield f"{where} must be a mapping"
            continue
        if unknown := set(raw) - PROBE_KEYS:
            yield f"{where}: unknown keys {sorted(unknown)}"
        port, protocol, family = raw.get("port"), raw.get("protocol", "TCP"), raw.get("family", 4)
        if not isinstance(port, int) or not 1 <= port <= 65535:
            yield f"{where}.port must be a port number"
        if protocol not in PROTOCOLS:
            yield f"{where}.protocol must be one of {', '.join(PROTOCOLS)}"
        if family not in (4, 6):
            yield f"{where}.family must be 4 or 6"
        if (port, protocol, family) in seen:
            yield f"{where}: {protocol}/{port} IPv{family} is probed twice"
        seen.add((port, protocol, family))
        yield from _table_problems(raw.get("reachability"), where)


def _table_problems(table: object, where: str) -> Iterator[str]:
    if not isinstance(table, dict):
        yield f"{where}.reachability must be a mapping of 9 rows"
        return
    if list(table) != list(PODS):
        yield f"{where}.reachability rows must be exactly {' '.join(PODS)} in that order"
    for src, row in table.items():
        if not isinstance(row, str) or len(row) != len(PODS) or set(row) - {ALLOWED, DENIED}:
            yield f"{where}.reachability.{src}: {row!r} is not 9 cells of '.' or 'X'"
            continue
        if src in PODS and row[PODS.index(src)] != ALLOWED:
            yield f"{where}.reachability.{src}: loopback {src} -> {src} must be allowed ('.')"


# ------------------------------------------------------------------------ cluster


def model_documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(MODEL_FILE.read_text()) if doc]


def apply_overrides(docs: list[dict[str, Any]], case: dict[str, Any]) -> list[dict[str, Any]]:
    """The model with the case's pod and namespace labels (each replaces the model's)."""
    docs = copy.deepcopy(docs)
    pod_labels = case.get("pod_labels") or {}
    ns_labels = case.get("namespace_labels") or {}
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] == "Pod" and (key := f"{meta['namespace']}/{meta['name']}") in pod_labels:
            meta["labels"] = dict(pod_labels[key])
        elif doc["kind"] == "Namespace" and meta["name"] in ns_labels:
            meta["labels"] = dict(ns_labels[meta["name"]])
    return docs


@dataclass(frozen=True)
class Built:
    cluster: Any
    compiled: Any
    diagnostics: tuple[Any, ...]


def build(path: Path) -> Built:
    from netfence.compile import compile_policies
    from netfence.model.diagnostics import Source
    from netfence.parse import RawDocument, build_cluster, parse_documents
    from netfence.parse.documents import KubectlDumper

    case = load_case(path)
    model = apply_overrides(model_documents(), case)
    # The model goes through the real decoder; the case's policies are already objects.
    # (Written so that kubectl reads it back as is: namespace y is quoted.)
    text = yaml.dump_all(model, Dumper=KubectlDumper, sort_keys=False)
    docs = parse_documents(text, MODEL_FILE.name)
    docs += [
        RawDocument(Source(f"{path.name}#policies", index), policy)
        for index, policy in enumerate(case["policies"], start=1)
    ]
    result = build_cluster(docs, default_namespace=None)
    errors = [d for d in result.diagnostics if d.severity.value == "error"]
    assert not errors, f"{path.stem}: the loader rejected the case:\n" + "\n".join(
        "  " + d.format() for d in errors
    )
    compiled = compile_policies(result.cluster.policies)
    return Built(result.cluster, compiled, tuple(result.diagnostics))


def observe(built: Built, probe: Probe) -> tuple[dict[str, str], dict[tuple[str, str], Any]]:
    """The engine's table for ``probe``, and every Decision by (from, to)."""
    from netfence.engine import evaluate
    from netfence.model.ports import Protocol
    from netfence.model.traffic import Connection, Endpoint

    cluster = built.cluster
    endpoints = {}
    for key in PODS:
        ns, name = key.split("/")
        pod = cluster.pod(ns, name)
        assert pod is not None, f"the model pod {key} is missing from the cluster"
        ip = pod.ip_of_version(probe.family)
        assert ip is not None, f"{key} has no IPv{probe.family} address"
        endpoints[key] = Endpoint(ip, pod)
    table: dict[str, str] = {}
    decisions: dict[tuple[str, str], Any] = {}
    for src in PODS:
        row = ""
        for dst in PODS:
            conn = Connection(endpoints[src], endpoints[dst], probe.port, Protocol(probe.protocol))
            decision = evaluate(built.compiled, cluster, conn)
            decisions[(src, dst)] = decision
            row += ALLOWED if decision.allowed else DENIED
        table[src] = row
    return table, decisions


# ---------------------------------------------------------------------- reporting


def side_by_side(expected: dict[str, str], actual: dict[str, str]) -> str:
    header_ns = "".join(ns * len(POD_NAMES) for ns in NAMESPACES)
    header_pod = "".join(POD_NAMES) * len(NAMESPACES)
    lines = [
        f"       {'expected':<13}{'netfence':<13}diff ('^' marks a differing cell)",
        f"       {header_ns:<13}{header_ns:<13}{header_ns}",
        f"       {header_pod:<13}{header_pod:<13}{header_pod}",
    ]
    for src in PODS:
        want, got = expected[src], actual[src]
        diff = "".join("^" if w != g else " " for w, g in zip(want, got, strict=True))
        lines.append(f"  {src}  {want:<13}{got:<13}{diff.rstrip()}")
    return "\n".join(lines)


def explain(decision: Any) -> str:
    parts = []
    for verdict in (decision.egress, decision.ingress):
        text = f"{verdict.direction.value.lower()} {verdict.outcome.value}"
        if verdict.policies:
            text += f" [policies: {', '.join(verdict.policies)}]"
        for miss in verdict.misses[:3]:
            text += f"; {miss.policy}: {miss.reason}"
        for hit in verdict.matches[:1]:
            text += f"; matched {hit.peer_text} on {hit.port_text}"
        parts.append(text)
    return " | ".join(parts)


def mismatch_report(
    probe: Probe, actual: dict[str, str], decisions: dict[tuple[str, str], Any]
) -> str:
    cells = [
        (src, dst)
        for src in PODS
        for dst_index, dst in enumerate(PODS)
        if probe.table[src][dst_index] != actual[src][dst_index]
    ]
    lines = [
        f"probe {probe.label()}: {len(cells)} of 81 cells differ",
        side_by_side(probe.table, actual),
    ]
    for src, dst in cells:
        want = "allowed" if probe.table[src][PODS.index(dst)] == ALLOWED else "denied"
        lines.append(
            f"  {src} -> {dst}: expected {want}; netfence: {explain(decisions[(src, dst)])}"
        )
    return "\n".join(lines)


# -------------------------------------------------------------------------- tests


def test_corpus_has_enough_cases() -> None:
    assert len(CASE_FILES) >= 45
    numbers = [FILE_NAME.match(p.name).group(1) for p in CASE_FILES if FILE_NAME.match(p.name)]
    assert len(numbers) == len(set(numbers)), "case numbers must be unique"


def test_model_is_the_upstream_model() -> None:
    docs = model_documents()
    namespaces = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Namespace"}
    assert sorted(namespaces) == list(NAMESPACES)
    for name, ns in namespaces.items():
        assert ns["metadata"]["labels"] == {"ns": name}
    pods = {
        f"{d['metadata']['namespace']}/{d['metadata']['name']}": d
        for d in docs
        if d["kind"] == "Pod"
    }
    assert sorted(pods) == list(PODS)
    wanted_ports = {
        f"serve-{port}-{proto.lower()}": (port, proto) for port in (80, 81) for proto in PROTOCOLS
    }
    for key, pod in pods.items():
        ns, name = key.split("/")
        assert pod["metadata"]["labels"] == {"pod": name}
        ports = {
            p["name"]: (p["containerPort"], p["protocol"])
            for c in pod["spec"]["containers"]
            for p in c["ports"]
        }
        assert ports == wanted_ports, key
        n, m = NAMESPACES.index(ns) + 1, POD_NAMES.index(name) + 1
        status = pod["status"]
        assert status["podIP"] == f"10.{n}.0.{m}"
        assert [ip["ip"] for ip in status["podIPs"]] == [f"10.{n}.0.{m}", f"fd00:{n}::{m}"]


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_is_well_formed(path: Path) -> None:
    problems = list(case_problems(path))
    assert not problems, f"{path.name}:\n" + "\n".join(f"  - {p}" for p in problems)


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_matches_engine(path: Path) -> None:
    case = load_case(path)
    built = build(path)
    if len(built.cluster.policies) != len(case["policies"]):
        pytest.fail(
            f"{path.stem}: {len(case['policies'])} policies written, "
            f"{len(built.cluster.policies)} loaded; loader diagnostics:\n"
            + "\n".join(f"  {d.severity.value}: {d.format()}" for d in built.diagnostics),
            pytrace=False,
        )
    reports = []
    for probe in probes_of(case):
        actual, decisions = observe(built, probe)
        if actual != probe.table:
            reports.append(mismatch_report(probe, actual, decisions))
    if reports:
        notes = [d.format() for d in built.diagnostics]
        header = f"{path.stem} ({case['upstream']})"
        if notes:
            header += "\nloader diagnostics:\n" + "\n".join(f"  {n}" for n in notes)
        pytest.fail(header + "\n" + "\n\n".join(reports), pytrace=False)


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_matches_whole_cluster_analysis(path: Path) -> None:
    """The same tables through the vectorized class analysis (matrix --summary,
    diff --at-scale), which judges IPv4: every off-diagonal cell of every IPv4 probe."""
    from netfence.analysis.scale.summary import ClusterAnalysis
    from netfence.model.ports import Protocol

    built = build(path)
    analysis = ClusterAnalysis(built.cluster, built.compiled)
    class_of = {pod.key: c for c, members in enumerate(analysis.table.members) for pod in members}
    wrong = []
    for probe in probes_of(load_case(path)):
        if probe.family != 4:
            continue
        q = analysis.ports.class_of(Protocol(probe.protocol), probe.port)
        matrix = analysis.class_matrix(q)
        for src in PODS:
            for column, dst in enumerate(PODS):
                if src == dst:
                    continue
                allowed = bool(matrix[class_of[src], class_of[dst]])
                if allowed != (probe.table[src][column] == ALLOWED):
                    wrong.append(f"{probe.label()} {src} -> {dst}: analysis says {allowed}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_matches_the_nft_ruleset(path: Path) -> None:
    """The same tables through the nftables ruleset the agent would load (the
    whole cluster on one node, read by tests/nft/ruleset_interpreter.py): every
    off-diagonal cell of every probe, IPv4 and IPv6, null cases included. The lab's
    differential test checks the interpreter's reading against real packets."""
    from tests.nft.ruleset_interpreter import Interpreter, Packet

    from netfence.nft.compiler import node_ruleset

    built = build(path)
    interpreter = Interpreter(node_ruleset(built.compiled, built.cluster))
    wrong = []
    for probe in probes_of(load_case(path)):
        for src in PODS:
            for column, dst in enumerate(PODS):
                if src == dst:
                    continue
                source, destination = (
                    built.cluster.pod(*key.split("/")).ip_of_version(probe.family)  # type: ignore[union-attr]
                    for key in (src, dst)
                )
                assert source is not None and destination is not None
                packet = Packet(source, destination, probe.protocol.lower(), probe.port)
                allowed = interpreter.forward(packet)
                if allowed != (probe.table[src][column] == ALLOWED):
                    wrong.append(f"{probe.label()} {src} -> {dst}: the ruleset says {allowed}")
    assert not wrong, "\n".join(wrong)
