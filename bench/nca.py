"""Harness for IBM's network-config-analyzer (NCA), the baseline for whole-cluster analysis.

NCA (PyPI ``network-config-analyzer``, pinned in ``bench/nca-requirements.txt``) is
installed into its own virtual environment, ``bench/.venv-nca``, never into netfence's.
The harness runs its connectivity query on a file or directory of manifests, measures
wall time and peak memory of the child process, and parses NCA's per-pair output into
the shape netfence's answer can be compared with (see ``bench/NCA.md``)::

    {("ns/pod", "ns/pod"): frozenset({("TCP", 80, 81), ...}) | "All"}

    python bench/nca.py setup                       # create bench/.venv-nca (idempotent)
    python bench/nca.py run DIR_OR_FILE [--timeout 600] [--phases] [--dump-json F]
    python bench/nca.py run --synth 1000 100        # manifests from bench/synth.py
    python bench/nca.py corpus                      # NCA against the e2e truth tables
    python bench/nca.py compare A.json B.json       # two dumped answers, first 20 diffs
    python bench/nca.py counts NCA.json SUMMARY.json  # vs `netfence matrix --summary -o json`
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
REQUIREMENTS = BENCH_DIR / "nca-requirements.txt"
DEFAULT_VENV = BENCH_DIR / ".venv-nca"
E2E_CORPUS = REPO_DIR / "tests" / "corpus" / "netpol_e2e"
MARKER = ".nca-requirements.sha256"

PortRange: TypeAlias = tuple[str, int, int]  # (protocol, first port, last port), inclusive
Conn: TypeAlias = frozenset[PortRange] | Literal["All"]
Pair: TypeAlias = tuple[str, str]  # (source, destination)
Connections: TypeAlias = dict[Pair, Conn]
Endpoints: TypeAlias = Literal["pods", "deployments"]
ParseMode: TypeAlias = Literal["full", "count", "none"]

PORT_PROTOCOLS = ("TCP", "UDP", "SCTP")  # the protocols a NetworkPolicy port can name
MIN_PORT, MAX_PORT = 1, 65535
ALL_PORTS: tuple[tuple[int, int], ...] = ((MIN_PORT, MAX_PORT),)
ALL: Literal["All"] = "All"

# Run NCA's own entry point, timing its two phases around it without changing what it does.
_PHASES_DRIVER = """
import json, sys, time
from nca.NetworkConfig.NetworkConfig import NetworkConfig
from nca.NetworkConfig.ResourcesHandler import ResourcesHandler
from nca.nca_cli import nca_main
spent = {"load_s": 0.0, "connections_s": 0.0}
def timed(key, fn):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[key] += time.perf_counter() - start
    return wrapper
ResourcesHandler.get_network_config = timed("load_s", ResourcesHandler.get_network_config)
NetworkConfig.allowed_connections = timed("connections_s", NetworkConfig.allowed_connections)
start = time.perf_counter()
rc = nca_main(sys.argv[1:])
spent["total_s"] = time.perf_counter() - start
print("NCA_PHASES " + json.dumps(spent), file=sys.stderr, flush=True)
sys.exit(rc)
"""


# ------------------------------------------------------------------------------ venv


def _venv_bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if os.name == "nt" else "bin") / name


def _requirements_digest() -> str:
    text = REQUIREMENTS.read_bytes() + sys.version.encode()
    return hashlib.sha256(text).hexdigest()


def ensure_nca_venv(path: Path = DEFAULT_VENV) -> Path:
    """Create ``path`` as a venv with NCA installed from the pinned requirements.

    Idempotent: a marker records the digest of the requirements file (and this
    interpreter's version); when it matches and ``nca`` is there, nothing runs.
    Returns the venv directory.
    """
    path = path.resolve()
    marker = path / MARKER
    digest = _requirements_digest()
    nca = _venv_bin(path, "nca")
    if nca.exists() and marker.exists() and marker.read_text().strip() == digest:
        return path
    if not _venv_bin(path, "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    pip = [str(_venv_bin(path, "python")), "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    if not nca.exists():
        raise RuntimeError(f"{nca} missing after installing {REQUIREMENTS}")
    marker.write_text(digest + "\n")
    return path


# ------------------------------------------------------------------ port/protocol sets


Intervals: TypeAlias = tuple[tuple[int, int], ...]


def _merge(intervals: Iterable[tuple[int, int]]) -> Intervals:
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def _complement(intervals: Intervals) -> Intervals:
    out: list[tuple[int, int]] = []
    nxt = MIN_PORT
    for lo, hi in intervals:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = max(nxt, hi + 1)
    if nxt <= MAX_PORT:
        out.append((nxt, MAX_PORT))
    return tuple(out)


@dataclass(frozen=True)
class _Names:
    """A set of protocol names over a universe we need not list: ``names`` or all but them."""

    negated: bool
    names: frozenset[str]

    def __contains__(self, name: str) -> bool:
        return (name in self.names) != self.negated

    def union(self, other: _Names) -> _Names:
        if not self.negated and not other.negated:
            return _Names(False, self.names | other.names)
        if self.negated and other.negated:
            return _Names(True, self.names & other.names)
        neg, pos = (self, other) if self.negated else (other, self)
        return _Names(True, neg.names - pos.names)

    def complement(self) -> _Names:
        return _Names(not self.negated, self.names)

    def without(self, names: Iterable[str]) -> _Names:
        drop = frozenset(names)
        return (
            _Names(self.negated, self.names | drop)
            if self.negated
            else _Names(False, self.names - drop)
        )

    @property
    def all_others(self) -> bool:
        """Every protocol but (perhaps) TCP, UDP and SCTP."""
        return self.negated and self.names <= frozenset(PORT_PROTOCOLS)


_NO_NAMES = _Names(False, frozenset())


@dataclass(frozen=True)
class _ConnSet:
    """Allowed traffic: port intervals per port protocol, and the other protocols (no ports)."""

    ports: tuple[Intervals, Intervals, Intervals] = ((), (), ())  # TCP, UDP, SCTP
    others: _Names = _NO_NAMES

    def union(self, other: _ConnSet) -> _ConnSet:
        ports = tuple(_merge(a + b) for a, b in zip(self.ports, other.ports, strict=True))
        return _ConnSet(ports, self.others.union(other.others))  # type: ignore[arg-type]

    def complement(self) -> _ConnSet:
        ports = tuple(_complement(p) for p in self.ports)
        return _ConnSet(ports, self.others.complement().without(PORT_PROTOCOLS))  # type: ignore[arg-type]

    def to_conn(self) -> Conn:
        if self.others.all_others and all(p == ALL_PORTS for p in self.ports):
            return ALL
        return frozenset(
            (proto, lo, hi)
            for proto, intervals in zip(PORT_PROTOCOLS, self.ports, strict=True)
            for lo, hi in intervals
        )


_EVERYTHING = _ConnSet((ALL_PORTS, ALL_PORTS, ALL_PORTS), _Names(True, frozenset(PORT_PROTOCOLS)))
_DIMENSION = re.compile(r"(?:^|,)([a-z_]+):")
_CUBE = re.compile(r"\{([^{}]*)\}")


class NcaParseError(ValueError):
    """A line of NCA output this parser does not understand."""


def _parse_protocols(text: str) -> _Names:
    text = text.strip()
    if text == "*":
        return _Names(True, frozenset())
    negated = text.startswith("all but ")
    if negated:
        text = text[len("all but ") :]
    return _Names(negated, frozenset(n.strip() for n in text.split(",") if n.strip()))


def _parse_ports(text: str) -> Intervals:
    out: list[tuple[int, int]] = []
    for item in text.split(","):
        lo, _, hi = item.strip().partition("-")
        out.append((int(lo), int(hi or lo)))
    return _merge(out)


def _parse_cube(body: str) -> _ConnSet:
    """``protocols:TCP, UDP,dst_ports:80,8080-8081`` (a missing dimension is everything)."""
    keys = list(_DIMENSION.finditer(body))
    values = {
        m.group(1): body[m.end() : keys[i + 1].start() if i + 1 < len(keys) else len(body)]
        for i, m in enumerate(keys)
    }
    unknown = set(values) - {"protocols", "dst_ports"}
    if unknown:
        raise NcaParseError(f"unsupported dimension(s) {sorted(unknown)} in {{{body}}}")
    protocols = _parse_protocols(values.get("protocols", "*"))
    ports = _parse_ports(values["dst_ports"]) if "dst_ports" in values else ALL_PORTS
    per_proto = tuple(ports if p in protocols else () for p in PORT_PROTOCOLS)
    others = protocols.without(PORT_PROTOCOLS) if ports == ALL_PORTS else _NO_NAMES
    return _ConnSet(per_proto, others)  # type: ignore[arg-type]


def _parse_conn_set(text: str) -> _ConnSet:
    text = text.strip()
    if text == "All connections":
        return _EVERYTHING
    if text == "No connections":
        return _ConnSet()
    negate = text.startswith("All but ")
    if negate:
        text = text[len("All but ") :]
    cubes = _CUBE.findall(text)
    if not cubes or _CUBE.sub("", text).strip(", ") != "":
        raise NcaParseError(f"cannot parse connection set {text!r}")
    result = _ConnSet()
    for body in cubes:
        result = result.union(_parse_cube(body))
    return result.complement() if negate else result


def parse_conn(text: str) -> Conn:
    """One connection string of NCA's ``txt_no_fw_rules`` output, normalised."""
    return _parse_conn_set(text).to_conn()


# --------------------------------------------------------------------- output parsing

_LINE = re.compile(r"^(?P<src>\S.*?) => (?P<dst>\S.*?) : (?P<conn>.+)$")
_WORKLOAD = re.compile(r"^(?P<ns>[^/]+)/(?P<name>.+)\[(?P<kind>[A-Za-z-]+)\]$")
_ENDPOINTS_LINE = re.compile(r"cluster has (\d+) unique endpoints, (\d+) namespaces")
_TOTAL_LINE = re.compile(r"Total run time:\s*([0-9.]+) seconds")


def normalise_endpoint(name: str) -> str:
    """``ns/pod`` stays; ``ns/web[Deployment]`` becomes netfence's ``ns/deployment/web``."""
    match = _WORKLOAD.match(name)
    if match is None:
        return name
    kind = match.group("kind").lower()
    if kind == "deployment-statefulset":  # a ReplicaSet's pods whose owner name has a hash
        kind = "deployment"
    return f"{match.group('ns')}/{kind}/{match.group('name')}"


def is_ip_endpoint(name: str) -> bool:
    """NCA prints an ipBlock as a range ``a-b`` or one address: never with a ``/``."""
    return "/" not in name


@dataclass
class ParsedOutput:
    connections: Connections = field(default_factory=dict)  # both ends in the cluster
    external: Connections = field(default_factory=dict)  # one end an ipBlock range
    livesim: int = 0  # lines naming NCA's invented kube-dns/ingress pods (dropped)
    lines: int = 0  # connection lines read
    pairs: int = 0  # distinct cluster pairs (also counted in "count" mode)
    values: dict[str, int] = field(default_factory=dict)  # connection string -> lines


def parse_txt_no_fw_rules(lines: Iterable[str], mode: ParseMode = "full") -> ParsedOutput:
    """Parse ``nca --connectivity -o txt_no_fw_rules``: one ``SRC => DST : CONN`` per line.

    A pair may appear on several lines (one per cube NCA split it into); their
    connections are united. ``count`` keeps only the counts (for outputs too big to
    hold), ``none`` reads nothing.
    """
    out = ParsedOutput()
    if mode == "none":
        return out
    cache: dict[str, _ConnSet] = {}
    names: dict[str, str] = {}
    sets: dict[Pair, _ConnSet] = {}
    external: dict[Pair, _ConnSet] = {}
    seen: set[Pair] = set()
    for raw in lines:
        match = _LINE.match(raw.rstrip("\n"))
        if match is None:
            continue
        out.lines += 1
        src, dst, text = match.group("src"), match.group("dst"), match.group("conn")
        out.values[text] = out.values.get(text, 0) + 1
        if src.endswith("-livesim") or dst.endswith("-livesim"):
            out.livesim += 1
            continue
        conn = cache.get(text)
        if conn is None:
            conn = cache[text] = _parse_conn_set(text)
        src = names.setdefault(src, normalise_endpoint(src))
        dst = names.setdefault(dst, normalise_endpoint(dst))
        pair = (src, dst)
        target = external if is_ip_endpoint(src) or is_ip_endpoint(dst) else sets
        if target is sets and mode == "count":
            seen.add(pair)
            continue
        previous = target.get(pair)
        target[pair] = conn if previous is None else previous.union(conn)
    out.connections = {pair: conn.to_conn() for pair, conn in sets.items()}
    out.external = {pair: conn.to_conn() for pair, conn in external.items()}
    out.pairs = len(seen) if mode == "count" else len(out.connections)
    return out


# ------------------------------------------------------------------------- running


@dataclass
class NcaResult:
    command: list[str]  # the plain ``nca`` command (with phases=True, run through a timing shim)
    wall_s: float
    peak_rss_bytes: int | None
    exit_status: int | None  # None when killed at the timeout; negative: killed by a signal
    timed_out: bool
    output_path: Path  # NCA's answer (-f)
    log_path: Path  # NCA's stdout and stderr
    output_bytes: int
    endpoints: int | None  # NCA's "cluster has N unique endpoints"
    nca_total_s: float | None  # NCA's own "Total run time"
    phases: dict[str, float] | None  # with phases=True: load_s, connections_s, total_s
    parsed: ParsedOutput
    cpu_s: float = 0.0  # the child's user + system CPU time

    @property
    def connections(self) -> Connections:
        return self.parsed.connections

    @property
    def ok(self) -> bool:
        return self.exit_status == 0 and not self.timed_out

    def summary(self) -> str:
        rss = f"{self.peak_rss_bytes / 2**20:.0f} MiB" if self.peak_rss_bytes else "?"
        state = "timeout" if self.timed_out else f"exit {self.exit_status}"
        text = (
            f"NCA {state}: wall {self.wall_s:.2f} s, peak RSS {rss}, endpoints {self.endpoints}, "
            f"output {self.output_bytes / 2**20:.1f} MiB / {self.parsed.lines} lines, "
            f"cluster pairs {self.parsed.pairs}, external pairs {len(self.parsed.external)}"
        )
        if self.phases:
            p = self.phases
            render = p["total_s"] - p["load_s"] - p["connections_s"]
            text += (
                f"\n  phases: load {p['load_s']:.2f} s, connections {p['connections_s']:.2f} s, "
                f"output {render:.2f} s (in-process total {p['total_s']:.2f} s)"
            )
        return text


def nca_command(
    venv: Path,
    manifests: Path,
    output: Path,
    endpoints: Endpoints = "pods",
    phases: bool = False,
    output_format: str = "txt_no_fw_rules",
) -> list[str]:
    """The NCA command line: every kind (Namespace, Pod, workload, policy) from one ``-r``.
    ``output_format``: ``txt_no_fw_rules`` (pairs, parsed here) or one of NCA's
    minimised firewall-rule formats (``csv``, ``txt``: its full command)."""
    args = [
        "--connectivity",
        "--resource_list",
        str(manifests),
        "--output_format",
        output_format,
        "--output_endpoints",
        endpoints,
        "--file_out",
        str(output),
    ]
    if phases:
        return [str(_venv_bin(venv, "python")), "-c", _PHASES_DRIVER, *args]
    return [str(_venv_bin(venv, "nca")), *args]


def _run_measured(
    command: list[str], log: Path, timeout_s: float
) -> tuple[float, int | None, int | None, bool, float]:
    """Run ``command``; return wall seconds, peak RSS bytes, exit status, timed-out
    and the child's CPU seconds (user + system)."""
    with log.open("wb") as sink:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        expired = threading.Event()

        def kill() -> None:
            expired.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    timed_out = expired.is_set()
    cpu = usage.ru_utime + usage.ru_stime
    return wall, peak, None if timed_out else proc.returncode, timed_out, cpu


def run_nca_connectivity(
    manifests: Path | str,
    timeout_s: float = 600.0,
    *,
    venv: Path = DEFAULT_VENV,
    out_dir: Path | None = None,
    endpoints: Endpoints = "pods",
    phases: bool = False,
    parse: ParseMode = "full",
    output_format: str = "txt_no_fw_rules",
) -> NcaResult:
    """Run NCA's connectivity map on a manifest file or directory, measured and parsed
    (parsed only in the ``txt_no_fw_rules`` format: pairs)."""
    manifests = Path(manifests).resolve()
    venv = ensure_nca_venv(venv)
    out_dir = Path(tempfile.mkdtemp(prefix="nca-")) if out_dir is None else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    output, log = out_dir / "nca-connectivity.txt", out_dir / "nca-log.txt"
    output.unlink(missing_ok=True)
    command = nca_command(venv, manifests, output, endpoints, output_format=output_format)
    argv = (
        nca_command(venv, manifests, output, endpoints, phases, output_format)
        if phases
        else command
    )
    wall, peak, status, timed_out, cpu = _run_measured(argv, log, timeout_s)
    log_text = log.read_text(errors="replace")
    endpoints_match = _ENDPOINTS_LINE.search(log_text)
    total_match = _TOTAL_LINE.search(log_text)
    phase_data: dict[str, float] | None = None
    for line in log_text.splitlines():
        if line.startswith("NCA_PHASES "):
            phase_data = {k: float(v) for k, v in json.loads(line[len("NCA_PHASES ") :]).items()}
    parsed = ParsedOutput()
    if output.exists() and status == 0 and output_format == "txt_no_fw_rules":
        with output.open(errors="replace") as lines:
            parsed = parse_txt_no_fw_rules(lines, parse)
    return NcaResult(
        command=command,
        wall_s=wall,
        peak_rss_bytes=peak,
        exit_status=status,
        timed_out=timed_out,
        output_path=output,
        log_path=log,
        output_bytes=output.stat().st_size if output.exists() else 0,
        endpoints=int(endpoints_match.group(1)) if endpoints_match else None,
        nca_total_s=float(total_match.group(1)) if total_match else None,
        phases=phase_data,
        parsed=parsed,
        cpu_s=cpu,
    )


# ------------------------------------------------------------------------ comparing


def canonical(conn: Conn | Iterable[PortRange]) -> frozenset[PortRange]:
    """Merged port ranges per protocol; "All" is every port of TCP, UDP and SCTP.

    NetworkPolicy ports only name TCP, UDP and SCTP, so other protocols (ICMP, ...)
    are left out of the comparison.
    """
    if conn == ALL:
        return frozenset((p, MIN_PORT, MAX_PORT) for p in PORT_PROTOCOLS)
    by_proto: dict[str, list[tuple[int, int]]] = {}
    for proto, lo, hi in conn:
        by_proto.setdefault(proto.upper(), []).append((int(lo), int(hi)))
    return frozenset(
        (proto, lo, hi) for proto, items in by_proto.items() for lo, hi in _merge(items)
    )


def covers(conn: Conn, protocol: str, port: int) -> bool:
    return any(p == protocol and lo <= port <= hi for p, lo, hi in canonical(conn))


@dataclass
class Comparison:
    left_name: str
    right_name: str
    pairs_left: int
    pairs_right: int
    agree: int
    only_left: list[tuple[Pair, frozenset[PortRange]]]
    only_right: list[tuple[Pair, frozenset[PortRange]]]
    different: list[tuple[Pair, frozenset[PortRange], frozenset[PortRange]]]
    endpoints_only_left: list[str]
    endpoints_only_right: list[str]

    @property
    def equal(self) -> bool:
        return not (self.only_left or self.only_right or self.different)

    def report(self, limit: int = 20) -> str:
        lines = [
            f"{self.left_name}: {self.pairs_left} allowed pairs, "
            f"{self.right_name}: {self.pairs_right}; same answer on {self.agree}; "
            f"only {self.left_name}: {len(self.only_left)}, only {self.right_name}: "
            f"{len(self.only_right)}, different ports: {len(self.different)}"
        ]
        for side, names in (
            (self.left_name, self.endpoints_only_left),
            (self.right_name, self.endpoints_only_right),
        ):
            if names:
                lines.append(f"endpoints only in {side} ({len(names)}): {', '.join(names[:limit])}")
        shown = 0
        for pair, conn in self.only_left:
            if shown < limit:
                lines.append(f"  only {self.left_name}: {pair[0]} -> {pair[1]}: {_show(conn)}")
                shown += 1
        for pair, conn in self.only_right:
            if shown < limit:
                lines.append(f"  only {self.right_name}: {pair[0]} -> {pair[1]}: {_show(conn)}")
                shown += 1
        for pair, left, right in self.different:
            if shown < limit:
                lines.append(
                    f"  differ: {pair[0]} -> {pair[1]}: {self.left_name} {_show(left)}"
                    f" / {self.right_name} {_show(right)}"
                )
                shown += 1
        return "\n".join(lines)


def _show(conn: frozenset[PortRange]) -> str:
    if conn == canonical(ALL):
        return "All"
    return ",".join(f"{p}/{lo}" if lo == hi else f"{p}/{lo}-{hi}" for p, lo, hi in sorted(conn))


def _canonical_map(
    conns: Mapping[Pair, Conn], ignore_self: bool
) -> dict[Pair, frozenset[PortRange]]:
    out: dict[Pair, frozenset[PortRange]] = {}
    for pair, conn in conns.items():
        if ignore_self and pair[0] == pair[1]:
            continue
        value = canonical(conn)
        if value:
            out[pair] = value
    return out


def compare_connections(
    left: Mapping[Pair, Conn],
    right: Mapping[Pair, Conn],
    *,
    left_name: str = "nca",
    right_name: str = "netfence",
    ignore_self: bool = True,
    endpoints: Iterable[str] | None = None,
) -> Comparison:
    """Compare two answers of the same shape; the lists hold every difference, sorted.

    ``ignore_self`` drops src == dst (NCA never prints a pod or workload to itself).
    ``endpoints``, when given, restricts both sides to pairs among those names (use it to
    leave out pods NCA drops as isomorphic copies, or workloads one side lacks).
    """
    a, b = _canonical_map(left, ignore_self), _canonical_map(right, ignore_self)
    if endpoints is not None:
        keep = set(endpoints)
        a = {p: c for p, c in a.items() if p[0] in keep and p[1] in keep}
        b = {p: c for p, c in b.items() if p[0] in keep and p[1] in keep}
    names_a = {n for pair in a for n in pair}
    names_b = {n for pair in b for n in pair}
    return Comparison(
        left_name=left_name,
        right_name=right_name,
        pairs_left=len(a),
        pairs_right=len(b),
        agree=sum(1 for p, c in a.items() if b.get(p) == c),
        only_left=sorted((p, c) for p, c in a.items() if p not in b),
        only_right=sorted((p, c) for p, c in b.items() if p not in a),
        different=sorted((p, c, b[p]) for p, c in a.items() if p in b and b[p] != c),
        endpoints_only_left=sorted(names_a - names_b),
        endpoints_only_right=sorted(names_b - names_a),
    )


@dataclass(frozen=True)
class ClassCount:
    protocol: str
    ranges: tuple[tuple[int, int], ...]
    netfence: int
    nca: int


def compare_port_class_counts(
    conns: Mapping[Pair, Conn], netfence_summary: Mapping[str, Any]
) -> list[ClassCount]:
    """Per port class of ``netfence matrix --summary -o json``: allowed ordered pod pairs.

    A port class is a set of ports every policy treats alike, so NCA's answer is read
    at its first port. Self pairs are not counted (netfence counts n·(n−1) pairs).
    """
    rows: list[ClassCount] = []
    for item in netfence_summary["port_classes"]:
        protocol = str(item["protocol"]).upper()
        ranges = tuple((int(lo), int(hi)) for lo, hi in item["ranges"])
        first = ranges[0][0]
        count = sum(1 for (s, d), c in conns.items() if s != d and covers(c, protocol, first))
        rows.append(ClassCount(protocol, ranges, int(item["allowed_pairs"]), count))
    return rows


def dump_connections(conns: Mapping[Pair, Conn], path: Path) -> None:
    """JSON lines ``{"src", "dst", "conn": "All" | [[proto, lo, hi], ...]}``."""
    with path.open("w") as sink:
        for (src, dst), conn in sorted(conns.items()):
            value: Any = conn if conn == ALL else sorted(conn)
            sink.write(json.dumps({"src": src, "dst": dst, "conn": value}) + "\n")


def load_connections(path: Path) -> Connections:
    """Read what :func:`dump_connections` wrote (or netfence's answer in the same form)."""
    out: Connections = {}
    with path.open() as source:
        for line in source:
            if not line.strip():
                continue
            row = json.loads(line)
            raw = row["conn"]
            conn: Conn = (
                ALL if raw == ALL else frozenset((str(p), int(lo), int(hi)) for p, lo, hi in raw)
            )
            out[(row["src"], row["dst"])] = conn
    return out


# -------------------------------------------------------------------- e2e corpus


_E2E_PODS = tuple(f"{ns}/{pod}" for ns in "xyz" for pod in "abc")


def _e2e_cases() -> Iterator[tuple[str, dict[str, Any]]]:
    import yaml  # only the corpus command needs it

    for path in sorted((E2E_CORPUS / "cases").glob("*.yaml")):
        yield path.stem, yaml.safe_load(path.read_text())


def _e2e_manifests(case: dict[str, Any]) -> list[dict[str, Any]]:
    import yaml

    docs = [d for d in yaml.safe_load_all((E2E_CORPUS / "model.yaml").read_text()) if d]
    pod_labels = case.get("pod_labels") or {}
    ns_labels = case.get("namespace_labels") or {}
    for doc in docs:
        meta = doc["metadata"]
        if doc["kind"] == "Pod" and f"{meta['namespace']}/{meta['name']}" in pod_labels:
            meta["labels"] = dict(pod_labels[f"{meta['namespace']}/{meta['name']}"])
        elif doc["kind"] == "Namespace" and meta["name"] in ns_labels:
            meta["labels"] = dict(ns_labels[meta["name"]])
    return [*docs, *case["policies"]]


def run_e2e_corpus(timeout_s: float = 120.0, venv: Path = DEFAULT_VENV) -> list[str]:
    """Run NCA on every netpol e2e case; one line per case, off-diagonal cells only."""
    report: list[str] = []
    totals = [0, 0]
    with tempfile.TemporaryDirectory(prefix="nca-e2e-") as tmp:
        for name, case in _e2e_cases():
            case_dir = Path(tmp) / name
            case_dir.mkdir()
            (case_dir / "cluster.json").write_text(
                json.dumps({"apiVersion": "v1", "kind": "List", "items": _e2e_manifests(case)})
            )
            result = run_nca_connectivity(
                case_dir / "cluster.json", timeout_s, venv=venv, out_dir=case_dir
            )
            if not result.ok:
                report.append(f"{name}: NCA failed ({result.summary()})")
                continue
            wrong: list[str] = []
            cells = 0
            for probe in case["probes"]:
                proto, port = probe.get("protocol", "TCP"), probe["port"]
                label = f"{proto}/{port}/v{probe.get('family', 4)}"
                for src, row in probe["reachability"].items():
                    for dst, cell in zip(_E2E_PODS, row, strict=True):
                        if src == dst:
                            continue
                        cells += 1
                        conn = result.connections.get((src, dst), frozenset())
                        if covers(conn, proto, port) != (cell == "."):
                            wrong.append(f"{label} {src}->{dst} expected {cell}")
            totals[0] += cells
            totals[1] += len(wrong)
            verdict = (
                "ok"
                if not wrong
                else f"{len(wrong)} of {cells} cells differ: " + "; ".join(wrong[:4])
            )
            report.append(f"{name}: {verdict}")
    report.append(f"total: {totals[1]} of {totals[0]} off-diagonal cells differ")
    return report


# ---------------------------------------------------------------------------- CLI


def _documents(path: Path) -> Iterator[Any]:
    if path.is_dir():
        for child in sorted(path.rglob("*")):
            if child.suffix in {".json", ".yaml", ".yml"}:
                yield from _documents(child)
        return
    if path.suffix == ".json":
        yield json.loads(path.read_text())
        return
    import yaml

    yield from (d for d in yaml.safe_load_all(path.read_text()) if d)


def strip_owner_references(manifests: Path, out: Path) -> Path:
    """Write ``manifests`` as one ``List`` JSON without ``metadata.ownerReferences``.

    NCA keeps at most two pods per (namespace, owner, labels) and drops the rest as
    isomorphic copies; without owners every pod is its own workload and is analysed,
    as netfence does. Owners play no part in NetworkPolicy semantics.
    """
    items: list[Any] = []
    for doc in _documents(manifests):
        for obj in doc.get("items", []) if doc.get("kind", "").endswith("List") else [doc]:
            if isinstance(obj, dict):
                obj.get("metadata", {}).pop("ownerReferences", None)
            items.append(obj)
    out.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    return out


def _synth_manifests(pods: int, policies: int, seed: int, out_dir: Path) -> Path:
    sys.path.insert(0, str(BENCH_DIR))
    import synth  # type: ignore[import-not-found]  # bench/synth.py, written separately

    generated = synth.generate(pods, policies, seed)
    if isinstance(generated, dict):
        document = generated
    else:
        document = {"apiVersion": "v1", "kind": "List", "items": list(generated)}
    path = out_dir / f"synth-{pods}-{policies}-{seed}.json"
    path.write_text(json.dumps(document))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="create the NCA venv (idempotent)")
    run = sub.add_parser("run", help="time NCA's connectivity map on manifests")
    run.add_argument("manifests", nargs="?", type=Path)
    run.add_argument("--synth", nargs=2, type=int, metavar=("PODS", "POLICIES"))
    run.add_argument("--seed", type=int, default=1)
    run.add_argument(
        "--strip-owners", action="store_true", help="analyse every pod (no NCA dedup by owner)"
    )
    run.add_argument("--timeout", type=float, default=600.0)
    run.add_argument("--endpoints", choices=["pods", "deployments"], default="pods")
    run.add_argument("--phases", action="store_true", help="also time NCA's load/compute/output")
    run.add_argument("--parse", choices=["full", "count", "none"], default="full")
    run.add_argument("--out-dir", type=Path)
    run.add_argument("--dump-json", type=Path, help="write the parsed pairs as JSON lines")
    sub.add_parser("corpus", help="NCA against tests/corpus/netpol_e2e truth tables")
    cmp = sub.add_parser("compare", help="compare two JSON-lines answers")
    cmp.add_argument("left", type=Path)
    cmp.add_argument("right", type=Path)
    cmp.add_argument("--limit", type=int, default=20)
    counts = sub.add_parser(
        "counts", help="NCA's pairs per port class of `netfence matrix --summary -o json`"
    )
    counts.add_argument("nca_jsonl", type=Path, help="from `run --dump-json`")
    counts.add_argument("netfence_summary", type=Path)
    args = parser.parse_args(argv)

    if args.command == "setup":
        print(ensure_nca_venv(args.venv))
        return 0
    if args.command == "corpus":
        ensure_nca_venv(args.venv)
        print("\n".join(run_e2e_corpus(venv=args.venv)))
        return 0
    if args.command == "compare":
        comparison = compare_connections(
            load_connections(args.left),
            load_connections(args.right),
            left_name=args.left.name,
            right_name=args.right.name,
        )
        print(comparison.report(args.limit))
        return 0 if comparison.equal else 1
    if args.command == "counts":
        rows = compare_port_class_counts(
            load_connections(args.nca_jsonl), json.loads(args.netfence_summary.read_text())
        )
        for row in rows:
            ports = ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in row.ranges[:4])
            mark = "" if row.netfence == row.nca else "   <-- differs"
            print(f"{row.protocol} {ports:<32} netfence {row.netfence:>10} nca {row.nca:>10}{mark}")
        differ = sum(1 for row in rows if row.netfence != row.nca)
        print(f"{len(rows)} port classes, {differ} differ")
        return 0 if differ == 0 else 1
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="nca-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.synth:
        manifests = _synth_manifests(args.synth[0], args.synth[1], args.seed, out_dir)
    elif args.manifests:
        manifests = args.manifests
    else:
        parser.error("run needs MANIFESTS or --synth PODS POLICIES")
    if args.strip_owners:
        manifests = strip_owner_references(manifests, out_dir / "no-owners.json")
    result = run_nca_connectivity(
        manifests,
        args.timeout,
        venv=args.venv,
        out_dir=out_dir,
        endpoints=args.endpoints,
        phases=args.phases,
        parse=args.parse,
    )
    print("$ " + shlex.join(result.command))
    print(result.summary())
    print(f"output: {result.output_path}\nlog:    {result.log_path}")
    if args.dump_json:
        dump_connections(result.connections, args.dump_json)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
