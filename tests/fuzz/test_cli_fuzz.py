"""Fuzz the command line with hypothesis: no input crashes it or exhausts the machine.

Inputs are mutations of real manifests (the bundled eks-retail scenario, the
semantics cases, the upstream e2e model), of expectation files and of
kustomizations: values of the wrong type, nulls, huge and negative numbers,
deep nesting, strings with control characters, NUL, lone surrogates, invalid
IP addresses; dropped and duplicated keys; YAML tags, anchors and aliases;
bytes that are not UTF-8, truncation. Each input goes through the real entry
point (``netfence.cli.main:main``) for validate, check, matrix, lint and test,
in-process for speed; a sample also runs as a child process with an
address-space limit and a timeout, for the memory bound.

The contract, for every input and command (the CLI contract, not the wording):
exit code 0, 1, 2 or 3; no "internal error" (exit 70) and no traceback; at most
``SECONDS`` per command in-process; in a child process, at most ``MEMORY`` of
address space and ``SECONDS`` of wall time.

By default the examples are derandomized (the same inputs on every run, so CI
is stable); ``NETFENCE_FUZZ_EXAMPLES=N`` runs N random examples per test instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "src" / "netfence" / "scenarios" / "eks-retail"
SEMANTICS = ROOT / "tests" / "engine" / "semantics"
E2E = ROOT / "tests" / "corpus" / "netpol_e2e"

SECONDS = 5.0  # per command and input (typical: well under 0.5 s)
MEMORY = 2**30  # address space of a child process
ALLOWED_EXITS = {0, 1, 2, 3}

RANDOM_EXAMPLES = int(os.environ.get("NETFENCE_FUZZ_EXAMPLES", "0"))


def fuzz_settings(examples: int) -> Callable[[Any], Any]:
    return settings(
        max_examples=RANDOM_EXAMPLES or examples,
        derandomize=not RANDOM_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- seeds ---------------------------------------------------------------------


def _load_all(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


@dataclass(frozen=True)
class Seed:
    """A set of manifests and a connection that exists in it."""

    name: str
    documents: tuple[Any, ...]
    source: str
    destination: str
    port: str


def _scenario_documents() -> list[Any]:
    """The workshop cluster as its kustomization makes it, and three of its policies."""
    from netfence.io.manifests import load_manifests

    docs = [doc.obj for doc in load_manifests((), [str(SCENARIO / "cluster")]).documents]
    for name in ("default-deny.yaml", "allow-ui-egress.yaml", "allow-catalog-ingress-db.yaml"):
        for doc in _load_all(SCENARIO / "policies" / name):
            doc.setdefault("metadata", {}).setdefault("namespace", "ui")
            docs.append(doc)
    return docs


def _semantics_documents() -> list[Any]:
    cases = yaml.safe_load((SEMANTICS / "cases.yaml").read_text())
    policies = [p for case in cases[:12] for p in case.get("policies") or []]
    return _load_all(SEMANTICS / "base.yaml") + policies


def _e2e_documents() -> list[Any]:
    cases = sorted((E2E / "cases").glob("*.yaml"))[:10]
    policies = [p for case in cases for p in yaml.safe_load(case.read_text()).get("policies") or []]
    return _load_all(E2E / "model.yaml") + policies


SEEDS = (
    Seed("eks-retail", tuple(_scenario_documents()), "ui/ui-0", "catalog/catalog-0", "8080"),
    Seed("semantics", tuple(_semantics_documents()), "app/web", "db/pg", "5432"),
    Seed("netpol-e2e", tuple(_e2e_documents()), "x/a", "y/b", "80"),
)
EXPECTATIONS = tuple(_load_all(SCENARIO / "expectations.yaml")[0])


# --- mutations -------------------------------------------------------------------

NASTY_SCALARS: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    65536,
    2**31,
    -(2**63),
    2**64,
    10**30,
    1e308,
    float("inf"),
    float("nan"),
    0.5,
    "",
    " ",
    "=",
    "*",
    "<<",
    "~",
    "null",
    "yes",
    "0x1F",
    "2024-01-01",
    "a" * 300,
    "x" * 5000,
    "\x00",
    "10.0.0.1\x00",
    "fe80::1%eth0",
    "::",
    "0.0.0.0",
    "10.0.0.300",
    "10.0.0.0/33",
    "2001:db8::/129",
    "\x1b[31mred\x1b[0m",
    "\u202eevil",
    "\ud800",
    "a\udcffb",
    "café",
    "\t\r\n",
    "../../../../x/daemon",
    "<!--<script>",
    'a"b\\c',
    "TCP",
    "tcp",
    "ICMP",
    "In",
    "Exists",
    "DoesNotExist",
    "NotIn",
    "Ingress",
    "Egress",
    "http",
    "a-very-long-port-name",
]
NASTY_CONTAINERS: list[Any] = [
    {},
    [],
    [None],
    [None, "a"],
    {"": ""},
    {"a": None},
    [[[]]],
    {"matchLabels": None},
    {"matchExpressions": [{"key": "k", "operator": "In", "values": [None, "a"]}]},
    [{"port": None}],
    [{"from": None}],
    {"podSelector": None, "namespaceSelector": None},
]


def deep(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


nasty = st.one_of(
    st.sampled_from(NASTY_SCALARS),
    st.sampled_from(NASTY_CONTAINERS),
    st.integers(),
    st.text(max_size=20),
    st.builds(deep, st.sampled_from([30, 99, 100, 101, 150])),
)


# Fields netfence reads, to reach past the first type check more often than a random path.
FIELDS: list[tuple[Any, ...]] = [
    ("metadata", "name"),
    ("metadata", "namespace"),
    ("metadata", "labels"),
    ("metadata", "labels", "app"),
    ("metadata", "ownerReferences"),
    ("status", "podIP"),
    ("status", "podIPs"),
    ("status", "podIPs", 0, "ip"),
    ("status", "phase"),
    ("spec", "nodeName"),
    ("spec", "hostNetwork"),
    ("spec", "replicas"),
    ("spec", "parallelism"),
    ("spec", "selector"),
    ("spec", "selector", "matchLabels"),
    ("spec", "template", "metadata", "labels"),
    ("spec", "containers", 0, "ports", 0, "containerPort"),
    ("spec", "containers", 0, "ports", 0, "name"),
    ("spec", "containers", 0, "ports", 0, "protocol"),
    ("spec", "template", "spec", "containers", 0, "ports"),
    ("spec", "ports", 0, "port"),
    ("spec", "ports", 0, "targetPort"),
    ("spec", "ports", 0, "protocol"),
    ("spec", "clusterIP"),
    ("spec", "clusterIPs"),
    ("spec", "type"),
    ("spec", "externalName"),
    ("spec", "podSelector"),
    ("spec", "podSelector", "matchExpressions"),
    ("spec", "policyTypes"),
    ("spec", "ingress"),
    ("spec", "ingress", 0, "from"),
    ("spec", "ingress", 0, "from", 0, "ipBlock", "cidr"),
    ("spec", "egress", 0, "to", 0, "ipBlock", "except"),
    ("spec", "egress", 0, "to", 0, "namespaceSelector"),
    ("spec", "egress", 0, "ports", 0, "port"),
    ("spec", "egress", 0, "ports", 0, "endPort"),
    ("items",),
    ("kind",),
    ("apiVersion",),
]


def _inject(document: Any, path: tuple[Any, ...], value: Any) -> None:
    """Set ``path`` to ``value``, creating what is missing on the way."""
    if not isinstance(document, dict):
        return
    node = document
    for step, following in zip(path, [*path[1:], None], strict=True):
        if following is None:
            break
        fresh: Any = [] if isinstance(following, int) else {}
        if isinstance(node, dict):
            if not isinstance(node.get(step), type(fresh)):
                node[step] = fresh
            node = node[step]
        elif isinstance(node, list):
            while len(node) <= step:
                node.append(type(fresh)())
            if not isinstance(node[step], type(fresh)):
                node[step] = fresh
            node = node[step]
    last = path[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list):
        while len(node) <= last:
            node.append(None)
        node[last] = value


def _similar(value: Any) -> st.SearchStrategy[Any]:
    if isinstance(value, bool):
        return st.booleans()
    if isinstance(value, int):
        return st.one_of(st.integers(-2, 70000), st.sampled_from([2**31 - 1, 2**31, 10**6]))
    if isinstance(value, str):
        return st.one_of(
            st.sampled_from([s for s in NASTY_SCALARS if isinstance(s, str)]),
            st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,20}[a-z0-9])?", fullmatch=True),
        )
    if isinstance(value, list):
        return st.just(value + value)  # duplicated items (ports, rules, peers)
    return st.just(value)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*prefix, i))


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def mutate(data: st.DataObject, document: Any) -> Any:
    """One structural change somewhere in a copy of ``document``."""
    document = json.loads(json.dumps(document))  # a deep copy that is JSON
    if data.draw(st.booleans(), label="a field netfence reads"):
        field = data.draw(st.sampled_from(FIELDS), label="field")
        _inject(document, field, data.draw(nasty, label="value"))
        return document
    paths = list(_paths(document))
    path = data.draw(st.sampled_from(paths), label="path")
    op = data.draw(
        st.sampled_from(["replace", "similar", "drop", "null", "add-key", "retype", "wrap"]),
        label="op",
    )
    if not path:
        return data.draw(nasty, label="document") if op == "replace" else document
    parent, last = _get(document, path[:-1]), path[-1]
    current = parent[last]
    if op == "drop":
        del parent[last]
    elif op == "null":
        parent[last] = None
    elif op == "add-key" and isinstance(current, dict):
        current[data.draw(st.sampled_from(["x", "", "0", "kind", "namespace"]))] = data.draw(nasty)
    elif op == "retype":
        parent[last] = (
            [current] if not isinstance(current, list) else {"0": current[0] if current else None}
        )
    elif op == "wrap":
        parent[last] = {"k": current} if isinstance(current, list) else [current]
    elif op == "similar":  # a value of the same type: gets past type checks, deeper in
        parent[last] = data.draw(_similar(current), label="similar")
    else:
        parent[last] = data.draw(nasty, label="value")
    return document


def serialize(data: st.DataObject, documents: list[Any]) -> bytes:
    """YAML or JSON text, then perhaps a change at the text level."""
    style = data.draw(st.sampled_from(["yaml", "yaml-flow", "json", "json-list"]), label="style")
    if style.startswith("json"):
        value: Any = (
            {"apiVersion": "v1", "kind": "List", "items": documents}
            if style == "json-list" or len(documents) != 1
            else documents[0]
        )
        text = json.dumps(value, ensure_ascii=data.draw(st.booleans()), allow_nan=True)
    else:
        text = yaml.safe_dump_all(
            documents, allow_unicode=True, default_flow_style=style == "yaml-flow", width=10**6
        )
    raw = text.encode("utf-8", "surrogatepass")
    return text_mutation(data, raw)


TEXT_INSERTS = [
    b"!!int ",
    b"!!float ",
    b"!!timestamp ",
    b"!!binary ",
    b"!!bool ",
    b"!!null ",
    b"!!set ",
    b"!custom ",
    b"&anchor ",
    b"*anchor ",
    b"*nowhere ",
    b"\x00",
    b"\xff\xfe",
    b"\xe9",
    b"\xef\xbb\xbf",
    b"\x1b[2J",
    b"\t",
    b"'",
    b'"',
    b"{",
    b"[",
    b"]",
    b"- ",
    b": ",
    b"---\n",
    b"9" * 5000,
]


def text_mutation(data: st.DataObject, raw: bytes) -> bytes:
    op = data.draw(
        st.sampled_from(["none", "none", "insert", "duplicate-line", "truncate", "bomb"]),
        label="text op",
    )
    if op == "none" or not raw:
        return raw
    at = data.draw(st.integers(0, len(raw)), label="at")
    if op == "insert":
        return raw[:at] + data.draw(st.sampled_from(TEXT_INSERTS)) + raw[at:]
    if op == "truncate":
        return raw[:at]
    lines = raw.split(b"\n")
    if op == "duplicate-line":
        i = data.draw(st.integers(0, len(lines) - 1), label="line")
        return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    # an alias bomb appended to the first document (as an extra key)
    bomb = b"bomb0: &b0 [x, x, x, x, x, x, x, x, x]\n" + b"".join(
        b"bomb%d: &b%d [%s]\n" % (i, i, b", ".join([b"*b%d" % (i - 1)] * 9)) for i in range(1, 9)
    )
    return bomb + raw if not raw.lstrip().startswith((b"{", b"[")) else raw


# --- running the CLI -----------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str
    seconds: float


def run_in_process(args: list[str], cwd: Path) -> Outcome:
    from netfence.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    argv, old_cwd = sys.argv, Path.cwd()
    start = time.monotonic()
    code: Any = 0
    try:
        os.chdir(cwd)
        sys.argv = ["netfence", *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code
    finally:
        sys.argv = argv
        os.chdir(old_cwd)
    code = 0 if code is None else code if isinstance(code, int) else 1
    return Outcome(code, out.getvalue(), err.getvalue(), time.monotonic() - start)


def run_child(args: list[str], cwd: Path) -> Outcome:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("NETFENCE_DEBUG", None)
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "netfence", *args],
            capture_output=True,
            cwd=cwd,
            env=env,
            timeout=SECONDS * 4,
            preexec_fn=limit,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return Outcome(-1, "", f"timed out after {SECONDS * 4} s", time.monotonic() - start)
    return Outcome(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        time.monotonic() - start,
    )


def check_contract(outcome: Outcome, args: list[str], what: str) -> None:
    text = outcome.out + outcome.err
    context = f"{what}: netfence {' '.join(args)} → exit {outcome.code}\n{outcome.err[-2000:]}"
    assert outcome.code in ALLOWED_EXITS, context
    assert "internal error" not in text, context
    assert "Traceback" not in text, context
    assert outcome.seconds < SECONDS, f"{context}\ntook {outcome.seconds:.1f} s"


def commands(seed: Seed, files: list[str]) -> list[list[str]]:
    manifests = [arg for f in files for arg in ("-f", f)]
    return [
        ["validate", *manifests],
        ["check", seed.source, seed.destination, "-p", seed.port, *manifests],
        ["matrix", *manifests],
        ["lint", *manifests],
    ]


# --- the fuzz tests -----------------------------------------------------------------


def mutated_manifests(data: st.DataObject) -> tuple[Seed, bytes]:
    seed = data.draw(st.sampled_from(SEEDS), label="seed")
    documents = list(seed.documents)
    for _ in range(data.draw(st.integers(0, 3), label="mutations")):
        i = data.draw(st.integers(0, len(documents) - 1), label="document")
        documents[i] = mutate(data, documents[i])
    return seed, serialize(data, documents)


@fuzz_settings(40)
@given(st.data())
def test_mutated_manifests(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject) -> None:
    seed, raw = mutated_manifests(data)
    directory = tmp_path_factory.mktemp("manifests")
    (directory / "in.yaml").write_bytes(raw)
    for args in commands(seed, ["in.yaml"]):
        check_contract(run_in_process(args, directory), args, seed.name)
    if seed.name == "eks-retail":
        args = ["test", str(SCENARIO / "expectations.yaml"), "-f", "in.yaml"]
        check_contract(run_in_process(args, directory), args, seed.name)


@fuzz_settings(25)
@given(st.data())
def test_mutated_expectations(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    expectations: Any = list(EXPECTATIONS)
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        expectations = mutate(data, expectations)
    wrapped = data.draw(st.booleans(), label="under expectations:")
    raw = serialize(data, [{"expectations": expectations} if wrapped else expectations])
    directory = tmp_path_factory.mktemp("expectations")
    (directory / "e.yaml").write_bytes(raw)
    args = ["test", str(directory / "e.yaml"), "-k", "cluster"]
    args += ["-f", "policies/default-deny.yaml", "-n", "ui", "-f", "policies/allow-ui-egress.yaml"]
    check_contract(run_in_process(args, SCENARIO), args, "expectations")


KUSTOMIZATION = {
    "apiVersion": "kustomize.config.k8s.io/v1beta1",
    "kind": "Kustomization",
    "namespace": "shop",
    "resources": ["policy.yaml", "base"],
    "commonLabels": {"team": "a"},
}
RESOURCES = [
    "policy.yaml",
    "base",
    ".",
    "..",
    "/",
    "",
    "missing.yaml",
    "base/../policy.yaml",
    "https://example.com/x.yaml",
    "github.com/org/repo//deploy?ref=v1",
    "git@github.com:org/repo.git",
    "/dev/zero",
    "\x00",
]


@fuzz_settings(25)
@given(st.data())
def test_mutated_kustomizations(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    kustomization: Any = json.loads(json.dumps(KUSTOMIZATION))
    kustomization["resources"] = data.draw(
        st.lists(st.sampled_from(RESOURCES), max_size=5), label="resources"
    )
    for _ in range(data.draw(st.integers(0, 2), label="mutations")):
        kustomization = mutate(data, kustomization)
    base: Any = {"resources": data.draw(st.lists(st.sampled_from(RESOURCES), max_size=3))}
    directory = tmp_path_factory.mktemp("kustomize")
    (directory / "kustomization.yaml").write_bytes(serialize(data, [kustomization]))
    (directory / "base").mkdir()
    (directory / "base" / "kustomization.yaml").write_bytes(serialize(data, [base]))
    seed = SEEDS[0]
    policies = [d for d in seed.documents if d.get("kind") == "NetworkPolicy"]
    (directory / "policy.yaml").write_bytes(serialize(data, policies))
    for args in commands(seed, []):
        args = [*args, "-k", "."]
        check_contract(run_in_process(args, directory), args, "kustomization")


def text_mutation_bomb() -> bytes:
    return b"kind: Pod\nmetadata: {name: p}\n" + b"".join(
        b"a%d: &a%d [%s]\n" % (i, i, b", ".join([b"*a%d" % (i - 1)] * 9) if i else b"x")
        for i in range(12)
    )


@fuzz_settings(6)
@given(st.data())
def test_child_processes_stay_within_memory_and_time(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    seed, raw = mutated_manifests(data)
    directory = tmp_path_factory.mktemp("child")
    (directory / "in.yaml").write_bytes(raw)
    args = data.draw(st.sampled_from(commands(seed, ["in.yaml"])), label="command")
    check_contract(run_child(args, directory), args, f"{seed.name} (child process)")


@pytest.mark.parametrize(
    "raw",
    [
        text_mutation_bomb(),
        b"[" * 100_000 + b"]" * 100_000,
        b"a: " + b"[" * 100_000,
        b"kind: Pod\nn: " + b"9" * 1_000_000 + b"\n",
        b"- " * 50_000 + b"x\n",
    ],
    ids=["alias-bomb", "deep-json", "deep-yaml", "million-digits", "deep-block-list"],
)
def test_hostile_inputs_in_a_child_process(tmp_path: Path, raw: bytes) -> None:
    (tmp_path / "in.yaml").write_bytes(raw)
    for args in (["validate", "-f", "in.yaml"], ["matrix", "-f", "in.yaml"]):
        check_contract(run_child(args, tmp_path), args, "child process")
