"""The network-policy-api conformance suite as truth tables (see npa_conformance/README.md).

Each file in ``npa_conformance/cases`` is one upstream ``t.Run`` subtest: release
v0.1.8 (AdminNetworkPolicy / BaselineAdminNetworkPolicy, cases 001-092) or v0.2.0
(ClusterNetworkPolicy tiers Admin and Baseline, cases 101-192), the policies as they
stand at that subtest, and for each probed protocol/port the whole 10x10 table over
the pods of ``npa_conformance/model.yaml``. ``checks`` lists the cells upstream itself
probes, with upstream's expectation.

What runs today needs nothing from netfence: the corpus is well-formed, every
upstream expectation holds in its table, the two releases agree, and the converter
to the pre-v0.2.0 ``ports`` schema and to EKS objects keeps every rule's meaning.
``replay(case, decide)`` turns any decide-callback into tables and diffs them; the
engine plugs in there once tier evaluation exists (see ``replay``'s docstring).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.corpus.npa_conformance.convert import (
    EKS_V1ALPHA1,
    UPSTREAM_V1ALPHA2,
    NotExpressible,
    eks_obstacle,
    from_eks,
    spellings,
    to_eks,
    to_ports_schema,
    to_protocols_schema,
)

from netfence.compile import compile_policies
from netfence.compile.compiled import CompiledPolicySet
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.parse import RawDocument, build_cluster

CORPUS = Path(__file__).parent / "npa_conformance"
CASES_DIR = CORPUS / "cases"
MODEL_FILE = CORPUS / "model.yaml"
CASE_FILES = sorted(CASES_DIR.glob("*.yaml"))

HOUSES = ("gryffindor", "slytherin", "hufflepuff", "ravenclaw", "forbidden-forrest")
STATEFULSETS = ("harry-potter", "draco-malfoy", "cedric-diggory", "luna-lovegood", "centaur")
NAMESPACES = tuple(f"network-policy-conformance-{house}" for house in HOUSES)
PODS = tuple(f"{sts}-{i}" for sts in STATEFULSETS for i in (0, 1))
HOST_NETWORK_PODS = ("centaur-0", "centaur-1")
PROTOCOLS = ("TCP", "UDP", "SCTP")
ALLOWED, DENIED = ".", "X"
RELEASES = {"v0.1.8": range(1, 93), "v0.2.0": range(101, 193)}
TESTS_PER_RELEASE = 24

CASE_KEYS = {
    "name", "upstream", "test", "release", "file", "manifest", "subtest", "step",
    "description", "policies", "probes",
}  # fmt: skip
REQUIRED_CASE_KEYS = CASE_KEYS - {"step"}
PROBE_KEYS = {"port", "protocol", "family", "extra", "checks", "reachability"}
FILE_NAME = re.compile(r"^(\d{3})-([a-z0-9]+(?:-[a-z0-9]+)*)\.yaml$")
CHECK = re.compile(r"^([a-z0-9-]+) -> ([a-z0-9-]+): ([.X])$")

V1ALPHA1 = "policy.networking.k8s.io/v1alpha1"
NETWORK_POLICY = "networking.k8s.io/v1"


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class Probe:
    port: int
    protocol: str
    family: int
    table: dict[str, str]  # FROM pod -> row of 10 cells, columns in PODS order
    checks: tuple[tuple[str, str, str], ...]  # (from, to, cell) that upstream probes

    def label(self) -> str:
        return f"{self.protocol}/{self.port} IPv{self.family}"


@cache
def load_case(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name}: a case is a mapping"
    return data


def parse_check(raw: object) -> tuple[str, str, str] | None:
    if isinstance(raw, dict) and len(raw) == 1:  # YAML reads "a -> b: X" as a mapping
        ((key, value),) = raw.items()
        raw = f"{key}: {value}"
    match = CHECK.match(raw) if isinstance(raw, str) else None
    return (match.group(1), match.group(2), match.group(3)) if match else None


def probes_of(case: dict[str, Any]) -> list[Probe]:
    return [
        Probe(
            port=raw["port"],
            protocol=raw["protocol"],
            family=raw["family"],
            table=dict(raw["reachability"]),
            checks=tuple(c for c in map(parse_check, raw.get("checks") or []) if c),
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
    if match is not None:
        if case["name"] != match.group(2):
            yield f"name {case['name']!r} differs from the file name's {match.group(2)!r}"
        if case["release"] in RELEASES and int(match.group(1)) not in RELEASES[case["release"]]:
            yield f"number {match.group(1)} is outside the range of release {case['release']}"
    if case["release"] not in RELEASES:
        yield f"release must be one of {', '.join(RELEASES)}"
    for key in ("upstream", "test", "description", "file", "manifest"):
        if not isinstance(case[key], str) or not case[key].strip():
            yield f"{key} must be a non-empty string"
    if not (isinstance(case["subtest"], int) and case["subtest"] >= 1):
        yield "subtest must be a positive number (the t.Run's place in its test)"
    yield from _policies_problems(case["policies"], case["release"])
    yield from _probe_problems(case["probes"])


def _policies_problems(policies: object, release: str) -> Iterator[str]:
    if not isinstance(policies, list) or not policies:
        yield "policies must be a non-empty list"
        return
    for index, policy in enumerate(policies):
        for problem in policy_problems(policy, release):
            yield f"policies[{index}]: {problem}"


# ---------------------------------------------------------------- policy objects


def policy_problems(policy: object, release: str) -> Iterator[str]:
    """A policy is a well-formed object of its kind, as the CRD of its release has it."""
    if not isinstance(policy, dict):
        yield "must be a mapping"
        return
    kind, api = policy.get("kind"), policy.get("apiVersion")
    meta = policy.get("metadata") or {}
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        yield "metadata.name is missing"
    spec = policy.get("spec")
    if not isinstance(spec, dict):
        yield "spec is missing"
        return
    if kind == "NetworkPolicy":
        if api != NETWORK_POLICY:
            yield f"apiVersion must be {NETWORK_POLICY}"
        if meta.get("namespace") not in NAMESPACES:
            yield "metadata.namespace must be one of the model's namespaces"
        if not isinstance(spec.get("podSelector"), dict):
            yield "spec.podSelector must be a selector"
        return
    if "namespace" in meta:
        yield f"a {kind} is cluster-scoped: no metadata.namespace"
    if kind in ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy"):
        if (api, release) != (V1ALPHA1, "v0.1.8"):
            yield f"{kind} is {V1ALPHA1}, in release v0.1.8"
        yield from _tier_spec_problems(spec, v1alpha1_kind=kind)
        if kind == "BaselineAdminNetworkPolicy" and meta.get("name") != "default":
            yield "a BaselineAdminNetworkPolicy must be named 'default'"
    elif kind == "ClusterNetworkPolicy":
        if (api, release) != (UPSTREAM_V1ALPHA2, "v0.2.0"):
            yield f"ClusterNetworkPolicy is {UPSTREAM_V1ALPHA2}, in release v0.2.0"
        yield from _tier_spec_problems(spec, v1alpha1_kind=None)
    else:
        yield f"unknown kind {kind!r}"


ACTIONS = {
    "AdminNetworkPolicy": {"Allow", "Deny", "Pass"},
    "BaselineAdminNetworkPolicy": {"Allow", "Deny"},
    None: {"Accept", "Deny", "Pass"},
}
PEERS = {"ingress": {"namespaces", "pods"}, "egress": {"namespaces", "pods", "nodes", "networks"}}


def _tier_spec_problems(spec: dict[str, Any], v1alpha1_kind: str | None) -> Iterator[str]:
    has_priority = v1alpha1_kind != "BaselineAdminNetworkPolicy"
    if has_priority != isinstance(spec.get("priority"), int):
        yield "spec.priority " + ("is required" if has_priority else "does not exist here")
    elif has_priority and not 0 <= spec["priority"] <= 1000:
        yield "spec.priority must be within 0..1000"
    if v1alpha1_kind is None and spec.get("tier") not in ("Admin", "Baseline"):
        yield "spec.tier must be Admin or Baseline"
    subject = spec.get("subject")
    if not isinstance(subject, dict) or len(subject) != 1 or set(subject) - {"namespaces", "pods"}:
        yield "spec.subject must set exactly one of namespaces, pods"
    max_rules = 100 if v1alpha1_kind else 25
    for direction in ("ingress", "egress"):
        rules = spec.get(direction) or []
        if len(rules) > max_rules:
            yield f"spec.{direction}: at most {max_rules} rules"
        for index, rule in enumerate(rules):
            where = f"spec.{direction}[{index}]"
            if rule.get("action") not in ACTIONS[v1alpha1_kind]:
                yield f"{where}.action must be one of {sorted(ACTIONS[v1alpha1_kind])}"
            peers = rule.get("to" if direction == "egress" else "from")
            if not isinstance(peers, list) or not peers:
                yield f"{where}: at least one peer"
                peers = []
            for p_index, peer in enumerate(peers):
                if not isinstance(peer, dict) or len(peer) != 1 or set(peer) - PEERS[direction]:
                    yield f"{where} peer {p_index}: exactly one of {sorted(PEERS[direction])}"
            yield from _rule_port_problems(rule, where, v1alpha1=v1alpha1_kind is not None)


def _rule_port_problems(rule: dict[str, Any], where: str, v1alpha1: bool) -> Iterator[str]:
    own, other = ("ports", "protocols") if v1alpha1 else ("protocols", "ports")
    if other in rule:
        yield f"{where}.{other} is not in this schema"
    for entry in rule.get(own) or []:
        if not isinstance(entry, dict) or len(entry) != 1:
            yield f"{where}.{own}: each entry sets exactly one field"
        elif v1alpha1 and next(iter(entry)) not in ("portNumber", "portRange", "namedPort"):
            yield f"{where}.ports: unknown entry {entry!r}"
        elif not v1alpha1 and next(iter(entry)) not in (
            "tcp",
            "udp",
            "sctp",
            "destinationNamedPort",
        ):
            yield f"{where}.protocols: unknown entry {entry!r}"


# ------------------------------------------------------------------------ probes


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
        port, protocol, family = raw.get("port"), raw.get("protocol"), raw.get("family")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            yield f"{where}.port must be a port number"
        if protocol not in PROTOCOLS:
            yield f"{where}.protocol must be one of {', '.join(PROTOCOLS)}"
        if family not in (4, 6):
            yield f"{where}.family must be 4 or 6"
        if (port, protocol, family) in seen:
            yield f"{where}: {protocol}/{port} IPv{family} is probed twice"
        seen.add((port, protocol, family))
        if ("extra" in raw) == ("checks" in raw):
            yield f"{where}: an upstream probe has checks, an extra probe has extra: (one of the two)"
        table = raw.get("reachability")
        yield from _table_problems(table, where)
        yield from _check_problems(raw.get("checks") or [], table, where)


def _table_problems(table: object, where: str) -> Iterator[str]:
    if not isinstance(table, dict):
        yield f"{where}.reachability must be a mapping of {len(PODS)} rows"
        return
    if list(table) != list(PODS):
        yield f"{where}.reachability rows must be exactly {' '.join(PODS)} in that order"
    for src, row in table.items():
        if not isinstance(row, str) or len(row) != len(PODS) or set(row) - {ALLOWED, DENIED}:
            yield f"{where}.reachability.{src}: {row!r} is not {len(PODS)} cells of '.' or 'X'"
            continue
        if src in PODS and row[PODS.index(src)] != ALLOWED:
            yield f"{where}.reachability.{src}: loopback {src} -> {src} must be allowed ('.')"


def _check_problems(checks: list[Any], table: object, where: str) -> Iterator[str]:
    for raw in checks:
        parsed = parse_check(raw)
        if parsed is None:
            yield f"{where}.checks: {raw!r} is not 'FROM -> TO: ./X'"
            continue
        src, dst, cell = parsed
        if src not in PODS or dst not in PODS:
            yield f"{where}.checks: unknown pod in {raw!r}"
        elif isinstance(table, dict) and isinstance(table.get(src), str):
            row = table[src]
            if len(row) == len(PODS) and row[PODS.index(dst)] != cell:
                yield (
                    f"{where}: upstream expects {src} -> {dst} {cell!r}, "
                    f"the table says {row[PODS.index(dst)]!r}"
                )


# ------------------------------------------------------------------------ model


def model_documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(MODEL_FILE.read_text()) if doc]


def model_pods() -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in model_documents() if d["kind"] == "Pod"}


def case_cluster(policies: list[dict[str, Any]]) -> tuple[Cluster, CompiledPolicySet]:
    """The model with a case's policies, read and compiled (they must be valid)."""
    objects = [*model_documents(), *policies]
    built = build_cluster([RawDocument(Source("case", i + 1), o) for i, o in enumerate(objects)])
    assert not built.errors, [d.format() for d in built.errors]
    cluster = built.cluster
    return cluster, compile_policies(cluster.policies, cluster.cluster_policies)


# ----------------------------------------------------------------------- replay

Decide = Callable[[list[dict[str, Any]], dict[str, Any], dict[str, Any], Probe], bool]
"""decide(policies, src_pod, dst_pod, probe) -> allowed?  The pods are the model's Pod
manifests; the probe gives protocol, port and address family (connect to the
destination's address of that family, from the source's)."""


@dataclass(frozen=True)
class Mismatch:
    probe: Probe
    src: str
    dst: str
    expected: str
    actual: str

    def __str__(self) -> str:
        return (
            f"{self.probe.label()} {self.src} -> {self.dst}: "
            f"expected {self.expected!r}, got {self.actual!r}"
        )


def observe(
    case: dict[str, Any], decide: Decide, policies: list[dict[str, Any]] | None = None
) -> list[tuple[Probe, dict[str, str]]]:
    """The table ``decide`` gives for every probe of ``case`` (loopback is always '.',
    as in the corpus: a pod reaching itself is not a policy question). Every call gets
    the same list of policies (one copy, so the cached case stays intact)."""
    pods = model_pods()
    chosen = copy.deepcopy(case["policies"] if policies is None else policies)
    tables: list[tuple[Probe, dict[str, str]]] = []
    for probe in probes_of(case):
        table = {
            src: "".join(
                ALLOWED if src == dst or decide(chosen, pods[src], pods[dst], probe) else DENIED
                for dst in PODS
            )
            for src in PODS
        }
        tables.append((probe, table))
    return tables


def replay(
    case: dict[str, Any], decide: Decide, policies: list[dict[str, Any]] | None = None
) -> list[Mismatch]:
    """Every cell where ``decide`` disagrees with the case's tables (empty: it passes).

    ``policies`` replaces the case's own (e.g. one of ``convert.spellings``). To run
    the engine, write ``decide`` as: build the cluster from ``model.yaml`` plus
    ``policies`` once per case (cache on the policies' identity), then evaluate
    src_pod -> dst_pod's IPv``probe.family`` address on ``probe.protocol``/``probe.port``.
    """
    mismatches = []
    for probe, actual in observe(case, decide, policies):
        for src in PODS:
            for column, dst in enumerate(PODS):
                want, got = probe.table[src][column], actual[src][column]
                if want != got:
                    mismatches.append(Mismatch(probe, src, dst, want, got))
    return mismatches


def side_by_side(expected: dict[str, str], actual: dict[str, str]) -> str:
    lines = [f"  {'':<17} {'expected':<12} {'actual':<12} diff"]
    for src in PODS:
        want, got = expected[src], actual[src]
        diff = "".join("^" if w != g else " " for w, g in zip(want, got, strict=True))
        lines.append(f"  {src:<17} {want:<12} {got:<12} {diff.rstrip()}")
    return "\n".join(lines)


# ------------------------------------------------------------------------ tests


def numbered() -> dict[int, dict[str, Any]]:
    return {int(p.name[:3]): load_case(p) for p in CASE_FILES if FILE_NAME.match(p.name)}


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case_is_well_formed(path: Path) -> None:
    problems = list(case_problems(path))
    assert not problems, f"{path.name}:\n" + "\n".join(f"  - {p}" for p in problems)


def test_every_upstream_subtest_is_a_case() -> None:
    """92 t.Run subtests per release, numbered without gaps in file order, each test's
    subtests 1..n in order, and every upstream probe (upstream: 289 PokeServer calls
    per release) written as a checked cell."""
    cases = numbered()
    for release, numbers in RELEASES.items():
        mine = [n for n, c in cases.items() if c["release"] == release]
        assert mine == list(numbers), f"{release}: cases must be numbered {numbers}"
        by_test: dict[str, list[int]] = {}
        for n in mine:
            by_test.setdefault(cases[n]["test"], []).append(cases[n]["subtest"])
        assert len(by_test) == TESTS_PER_RELEASE
        for test, subtests in by_test.items():
            assert subtests == list(range(1, len(subtests) + 1)), test
        for n in mine[1:]:  # upstream's patches carry over within a test: steps only grow
            previous, step = cases[n - 1], cases[n].get("step", "")
            if previous["test"] == cases[n]["test"]:
                assert step.startswith(previous.get("step", "")), f"{n:03d}: {step!r}"
        pokes = sum(len(p.checks) for n in mine for p in probes_of(cases[n]))
        assert pokes == 289, f"{release}: {pokes} checked cells"


def test_releases_agree() -> None:
    """v0.2.0 rewrote the same suite for ClusterNetworkPolicy: case 1xx is case 0xx in
    the new API (AdminNetworkPolicyX -> CNPAdminTierX, BaselineAdminNetworkPolicyX ->
    CNPBaselineTierX), with the same upstream probes and therefore the same tables."""
    cases = numbered()
    renames = {
        "AdminNetworkPolicy": "CNPAdminTier",
        "BaselineAdminNetworkPolicy": "CNPBaselineTier",
    }
    for n in RELEASES["v0.1.8"]:
        old, new = cases[n], cases[n + 100]
        prefix = next(
            k for k in sorted(renames, key=len, reverse=True) if old["test"].startswith(k)
        )
        assert new["test"] == renames[prefix] + old["test"][len(prefix) :], (n, new["test"])
        assert new["subtest"] == old["subtest"]
        assert probes_of(new) == probes_of(old), f"{n:03d} and {n + 100:03d} disagree"


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_every_probe_has_its_ipv6_twin(path: Path) -> None:
    """Each upstream (IPv4) probe is repeated over IPv6 as an extra. Only networks and
    nodes peers look at addresses: without them the two tables must be equal."""
    case = load_case(path)
    probes = probes_of(case)
    v4 = {(p.protocol, p.port): p for p in probes if p.family == 4}
    v6 = {(p.protocol, p.port): p for p in probes if p.family == 6}
    assert v4.keys() == v6.keys()
    assert all(p.checks for p in v4.values()) and not any(p.checks for p in v6.values())
    text = yaml.safe_dump(case["policies"])
    if "networks:" not in text and "nodes:" not in text:
        assert all(v4[key].table == v6[key].table for key in v4)


def test_model_is_the_upstream_base() -> None:
    docs = model_documents()
    namespaces = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Namespace"}
    assert sorted(namespaces) == sorted(NAMESPACES)
    for house, name in zip(HOUSES, NAMESPACES, strict=True):
        assert namespaces[name]["metadata"]["labels"] == {"conformance-house": house}
    nodes = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Node"}
    node_ips = {
        a["address"]
        for node in nodes.values()
        for a in node["status"]["addresses"]
        if a["type"] == "InternalIP"
    }
    assert all(n["metadata"]["labels"]["kubernetes.io/os"] == "linux" for n in nodes.values())
    pods = model_pods()
    assert list(pods) == list(PODS), "the model's pods are exactly the tables' rows and columns"
    seen: set[str] = set()
    for name, pod in pods.items():
        house = HOUSES[STATEFULSETS.index(name.rsplit("-", 1)[0])]
        assert pod["metadata"]["namespace"] == f"network-policy-conformance-{house}"
        assert pod["metadata"]["labels"]["conformance-house"] == house
        ips = [entry["ip"] for entry in pod["status"]["podIPs"]]
        assert ips[0] == pod["status"]["podIP"] and len(ips) == 2, name
        assert (":" in ips[0], ":" in ips[1]) == (False, True), f"{name}: IPv4 then IPv6"
        host = bool(pod["spec"].get("hostNetwork"))
        assert host == (name in HOST_NETWORK_PODS)
        if host:  # a host-networked pod has its node's addresses
            node = nodes[pod["spec"]["nodeName"]]
            assert set(ips) <= {a["address"] for a in node["status"]["addresses"]}
        else:
            assert not set(ips) & seen and not set(ips) & node_ips, name
        seen |= set(ips)


# ------------------------------------------------------------------- converter

CNP_CASES = [p for p in CASE_FILES if load_case(p)["release"] == "v0.2.0"]


def cnp_policies(path: Path) -> list[dict[str, Any]]:
    return [p for p in load_case(path)["policies"] if p["kind"] == "ClusterNetworkPolicy"]


def port_meaning(rule: dict[str, Any], universe: list[int]) -> frozenset[object] | None:
    """What a rule's port part matches, written out: (protocol, port) pairs over
    ``universe`` and the named ports. None: no port part (matches every port)."""
    if "protocols" in rule:
        entries = [to_ports_schema_entry(e) for e in rule["protocols"]]
    elif "ports" in rule:
        entries = rule["ports"]
    else:
        return None
    meaning: set[object] = set()
    for entry in entries:
        if "namedPort" in entry:
            meaning.add(("named", entry["namedPort"]))
        elif "portNumber" in entry:
            meaning.add((entry["portNumber"].get("protocol", "TCP"), entry["portNumber"]["port"]))
        else:
            span = entry["portRange"]
            proto = span.get("protocol", "TCP")
            meaning |= {(proto, p) for p in universe if span["start"] <= p <= span["end"]}
    return frozenset(meaning)


def to_ports_schema_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """The v0.2.0 entry read directly (independently of convert.py)."""
    if "destinationNamedPort" in entry:
        return {"namedPort": entry["destinationNamedPort"]}
    ((key, body),) = entry.items()
    port = body["destinationPort"]
    if "number" in port:
        return {"portNumber": {"protocol": key.upper(), "port": port["number"]}}
    return {"portRange": {"protocol": key.upper(), **port["range"]}}


def port_universe(path: Path) -> list[int]:
    ports = {p.port for p in probes_of(load_case(path))}
    text = yaml.safe_dump(load_case(path)["policies"])
    ports |= {int(n) for n in re.findall(r"\b(?:number|port|start|end): (\d+)", text)}
    return sorted({q for p in ports for q in (p - 1, p, p + 1) if 1 <= q <= 65535})


@pytest.mark.parametrize("path", CNP_CASES, ids=[p.stem for p in CNP_CASES])
def test_ports_schema_keeps_every_rule(path: Path) -> None:
    universe = port_universe(path)
    for policy in cnp_policies(path):
        converted = to_ports_schema(policy)
        assert converted["apiVersion"] == UPSTREAM_V1ALPHA2
        assert to_protocols_schema(converted) == policy, "round trip"
        assert converted["metadata"] == policy["metadata"]
        for key in ("tier", "priority", "subject"):
            assert converted["spec"][key] == policy["spec"][key]
        for direction in ("ingress", "egress"):
            before, after = (
                policy["spec"].get(direction) or [],
                converted["spec"].get(direction) or [],
            )
            assert len(before) == len(after)
            for old, new in zip(before, after, strict=True):
                assert "protocols" not in new
                assert {k: v for k, v in old.items() if k != "protocols"} == {
                    k: v for k, v in new.items() if k != "ports"
                }
                assert port_meaning(old, universe) == port_meaning(new, universe), new
                for entry in new.get("ports") or []:  # pre-v0.2.0 CEL: start < end
                    if "portRange" in entry:
                        assert entry["portRange"]["start"] < entry["portRange"]["end"]
        assert list(policy_problems(to_protocols_schema(converted), "v0.2.0")) == []


def test_converter_on_every_port_form() -> None:
    """The port forms the corpus does not all use, written out by hand."""
    policy = {
        "apiVersion": UPSTREAM_V1ALPHA2,
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": "forms"},
        "spec": {
            "tier": "Admin",
            "priority": 1,
            "subject": {"namespaces": {}},
            "egress": [
                {
                    "action": "Accept",
                    "to": [{"networks": ["10.0.0.0/8"]}],
                    "protocols": [
                        {"udp": {"destinationPort": {"range": {"start": 53, "end": 54}}}},
                        {"sctp": {"destinationPort": {"range": {"start": 7, "end": 7}}}},
                        {"tcp": {"destinationPort": {"number": 443}}},
                    ],
                },
                {"action": "Deny", "to": [{"domainNames": ["*.example.com"]}]},
            ],
            "ingress": [
                {
                    "action": "Pass",
                    "from": [{"namespaces": {}}],
                    "protocols": [{"destinationNamedPort": "web"}],
                }
            ],
        },
    }
    ports = to_ports_schema(policy)
    assert ports["spec"]["egress"][0]["ports"] == [
        {"portRange": {"protocol": "UDP", "start": 53, "end": 54}},
        {"portNumber": {"protocol": "SCTP", "port": 7}},  # start < end is required
        {"portNumber": {"protocol": "TCP", "port": 443}},
    ]
    assert "ports" not in ports["spec"]["egress"][1]
    assert ports["spec"]["ingress"][0]["ports"] == [{"namedPort": "web"}]
    assert "protocols" in policy["spec"]["ingress"][0], "the input is left alone"
    back = to_protocols_schema(ports)
    assert back["spec"]["egress"][0]["protocols"][1] == {"sctp": {"destinationPort": {"number": 7}}}
    eks = to_eks(policy)
    assert eks["apiVersion"] == EKS_V1ALPHA1 and eks["spec"] == ports["spec"]
    assert to_protocols_schema(
        {
            "apiVersion": EKS_V1ALPHA1,
            "spec": {"ingress": [{"ports": [{"portNumber": {"port": 80}}]}]},
        }
    )["spec"]["ingress"][0]["protocols"] == [{"tcp": {"destinationPort": {"number": 80}}}]
    with pytest.raises(ValueError, match="expected"):
        to_ports_schema({**policy, "apiVersion": EKS_V1ALPHA1})
    with pytest.raises(ValueError, match="expected"):
        from_eks(policy)


NODE_PEER_CASES = {p.stem for p in CNP_CASES if "nodes:" in yaml.safe_dump(cnp_policies(p))}


def test_eks_skips_exactly_the_node_peer_cases() -> None:
    """EKS's ClusterNetworkPolicy has no nodes peer: the two node-peer tests (5
    subtests) cannot be written for it; every other CNP case can."""
    assert {
        "102-cnp-admin-egress-node-peers-allow-egress",
        "103-cnp-admin-egress-node-peers-pass-egress",
        "104-cnp-admin-egress-node-peers-deny-egress",
        "160-cnp-baseline-egress-node-peers-allow-egress",
        "161-cnp-baseline-egress-node-peers-deny-egress",
    } == NODE_PEER_CASES
    for path in CNP_CASES:
        reasons = [eks_obstacle(p) for p in cnp_policies(path)]
        if path.stem in NODE_PEER_CASES:
            assert any(r and "nodes peer" in r for r in reasons)
            with pytest.raises(NotExpressible, match="nodes peer"):
                [to_eks(p) for p in cnp_policies(path)]
        else:
            assert reasons == [None] * len(reasons)


@pytest.mark.parametrize("path", CNP_CASES, ids=[p.stem for p in CNP_CASES])
def test_eks_objects_keep_every_rule(path: Path) -> None:
    if path.stem in NODE_PEER_CASES:
        pytest.skip("EKS has no nodes peer (see test_eks_skips_exactly_the_node_peer_cases)")
    for policy in cnp_policies(path):
        eks = to_eks(policy)
        assert (eks["apiVersion"], eks["kind"]) == (EKS_V1ALPHA1, "ClusterNetworkPolicy")
        assert eks["spec"] == to_ports_schema(policy)["spec"], "EKS uses the ports schema"
        assert from_eks(eks) == policy, "round trip"


@pytest.mark.parametrize("path", CNP_CASES, ids=[p.stem for p in CNP_CASES])
def test_spellings_of_a_case(path: Path) -> None:
    case = load_case(path)
    spelled = spellings(case["policies"])
    assert spelled["protocols"] == case["policies"]
    ports = spelled["ports"]
    assert isinstance(ports, list) and len(ports) == len(case["policies"])
    assert not any("protocols" in yaml.safe_dump(p) for p in ports)
    if path.stem in NODE_PEER_CASES:
        assert isinstance(spelled["eks"], str) and "nodes peer" in spelled["eks"]
    else:
        eks = spelled["eks"]
        assert isinstance(eks, list) and len(eks) == len(case["policies"])
        kinds = {(p["apiVersion"], p["kind"]) for p in eks}
        assert (UPSTREAM_V1ALPHA2, "ClusterNetworkPolicy") not in kinds


# ---------------------------------------------------------------------- replay

PRIORITY_CASE = CASES_DIR / "156-cnp-admin-priority-deny-from-slytherin.yaml"


def house(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["namespace"]).removeprefix("network-policy-conformance-")


def deny_between_gryffindor_and_slytherin(
    policies: list[dict[str, Any]], src: dict[str, Any], dst: dict[str, Any], probe: Probe
) -> bool:
    """Case 156 by hand: priority-50 denies gryffindor <-> slytherin both ways, the
    priority-60 Pass comes later, nothing else applies (the baseline only accepts)."""
    return {house(src), house(dst)} != {"gryffindor", "slytherin"}


def test_replay_passes_a_correct_decide() -> None:
    case = load_case(PRIORITY_CASE)
    assert replay(case, deny_between_gryffindor_and_slytherin) == []


def test_replay_reports_each_wrong_cell() -> None:
    case = load_case(PRIORITY_CASE)

    def wrong_once(
        policies: list[dict[str, Any]], src: dict[str, Any], dst: dict[str, Any], probe: Probe
    ) -> bool:
        flip = (src["metadata"]["name"], dst["metadata"]["name"], probe.port, probe.family) == (
            "luna-lovegood-1",
            "centaur-0",
            8080,
            6,
        )
        return deny_between_gryffindor_and_slytherin(policies, src, dst, probe) != flip

    mismatches = replay(case, wrong_once)
    assert [(m.src, m.dst, m.probe.port, m.expected, m.actual) for m in mismatches] == [
        ("luna-lovegood-1", "centaur-0", 8080, ".", "X")
    ]
    assert "TCP/8080 IPv6 luna-lovegood-1 -> centaur-0" in str(mismatches[0])

    def allow_all(*_: object) -> bool:
        return True

    denied = sum(row.count(DENIED) for p in probes_of(case) for row in p.table.values())
    assert denied > 0 and len(replay(case, allow_all)) == denied


def test_replay_hands_decide_the_chosen_spelling() -> None:
    case = load_case(PRIORITY_CASE)
    seen: set[str] = set()
    lists: set[int] = set()

    def record(
        policies: list[dict[str, Any]], src: dict[str, Any], dst: dict[str, Any], probe: Probe
    ) -> bool:
        seen.update(p["apiVersion"] for p in policies)
        lists.add(id(policies))  # one object per replay: a decide may cache on it
        return deny_between_gryffindor_and_slytherin(policies, src, dst, probe)

    eks = spellings(case["policies"])["eks"]
    assert isinstance(eks, list)
    assert replay(case, record, eks) == []
    assert seen == {EKS_V1ALPHA1} and len(lists) == 1
    _, table = observe(case, deny_between_gryffindor_and_slytherin)[0]
    assert "^" not in side_by_side(table, table)
