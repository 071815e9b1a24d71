"""explain-flows and generate as whole processes, against baselines measured in
the same run.

    python bench/flows.py --cluster DATA/20k.json [--flows 200000] [--runs 3] [--out-dir DIR]

The flows: ``--flows`` records in netfence's format (and the same traffic as VPC
Flow Logs, default format, requests and replies) between random pods of the
cluster (seed 1) on the destination's declared ports, each connection repeated
ten times with other source ports, as a log repeats them. Written to
``--out-dir`` (default: a temporary directory).

Each command runs as a child process; its CPU time (user + system), wall time and
peak RSS come from ``os.wait4``; runs are interleaved and medians printed.
Baselines: ``netfence validate`` of the cluster (the load floor every command
pays), and the oracle path of explain-flows (the engine asked for every flow,
``memo=False``) in a child process of this script, whose counts must equal the
command's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
REPEAT = 10

ORACLE = """
import json, sys
import netfence
from netfence.analysis.flows import AddressBook, Status, explain_flows
from netfence.io.manifests import read_text
from netfence.parse.flows import read_flows
loaded = netfence.load([sys.argv[1]])
flows = read_flows(read_text(sys.argv[2]), sys.argv[2]).flows
book = AddressBook(loaded.cluster)
memo = sys.argv[3] == "memo"
result = explain_flows(loaded.compiled, loaded.cluster, flows, book, memo=memo)
print(json.dumps({s.value: len(result.of(s)) for s in Status}))
"""


@dataclass(frozen=True)
class Run:
    cpu: float
    wall: float
    rss_mb: float
    out: Path  # stdout, on disk: held in memory, every later child would count it too


def measure(command: list[str], out_dir: Path, name: str) -> Run:
    """One child: CPU (user + system), wall, peak RSS. This process stays small: a
    forked child's ru_maxrss counts the parent's image before exec."""
    out = out_dir / f"out-{name.split()[0]}-{time.monotonic_ns()}.txt"
    start = time.perf_counter()
    with out.open("wb") as stream:
        proc = subprocess.Popen(command, stdout=stream, stderr=subprocess.DEVNULL, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{' '.join(command)}: exit {os.waitstatus_to_exitcode(status)}")
    return Run(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, out)


def write_flows(cluster: Path, count: int, out_dir: Path) -> tuple[Path, Path]:
    """Records between random pods on declared ports: netfence format and VPC."""
    import netfence

    loaded = netfence.load([str(cluster)])
    rng = random.Random(1)
    pods = [p for p in loaded.cluster.pods if p.ips]
    targets = [p for p in pods if p.ports]
    own, vpc = [], []
    for i in range(count // REPEAT):
        s, d = rng.choice(pods), rng.choice(targets)
        port = rng.choice(d.ports)
        for r in range(REPEAT):
            sport = 32768 + (i * REPEAT + r) % 28000
            own.append(json.dumps({
                "kind": "netfence.flow", "version": 1, "protocol": port.protocol.value,
                "src": {"ip": str(s.ips[0]), "port": sport, "pod": s.key},
                "dst": {"ip": str(d.ips[0]), "port": port.port, "pod": d.key},
                "reply": False, "verdict": "allowed"}))  # fmt: skip
            number = {"TCP": 6, "UDP": 17, "SCTP": 132}[port.protocol.value]
            vpc.append(f"2 123456789012 eni-1 {s.ips[0]} {d.ips[0]} {sport} {port.port} {number} "
                       "1 60 1795600800 1795600860 ACCEPT OK")  # fmt: skip
            vpc.append(f"2 123456789012 eni-2 {d.ips[0]} {s.ips[0]} {port.port} {sport} {number} "
                       "1 60 1795600800 1795600860 ACCEPT OK")  # fmt: skip
    own_path, vpc_path = out_dir / "flows.jsonl", out_dir / "flows.vpc.log"
    own_path.write_text("\n".join(own) + "\n")
    vpc_path.write_text("\n".join(vpc) + "\n")
    return own_path, vpc_path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cluster", type=Path, required=True)
    parser.add_argument("--flows", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out-dir", type=Path)
    parser.add_argument("--with-generate", action="store_true")
    parser.add_argument("--write-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="netfence-flows-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.write_only:
        write_flows(args.cluster, args.flows, out_dir)
        return
    # written by a child: a child forked from a process that holds the cluster would
    # count that memory in its own peak RSS (ru_maxrss includes the image before exec)
    subprocess.run([sys.executable, __file__, "--write-only", "--cluster", str(args.cluster),
                    "--flows", str(args.flows), "--out-dir", str(out_dir)], check=True)  # fmt: skip
    own, vpc = out_dir / "flows.jsonl", out_dir / "flows.vpc.log"
    nf = [sys.executable, "-m", "netfence"]
    cluster = ["-f", str(args.cluster)]
    library = [sys.executable, "-c", ORACLE, str(args.cluster), str(own)]
    commands = {
        "validate (load floor)": [*nf, "validate", *cluster],
        "explain-flows netfence records": [*nf, "explain-flows", str(own), *cluster, "-o", "json"],
        "explain-flows VPC (2x records)": [*nf, "explain-flows", str(vpc), *cluster, "-o", "json"],
        "library, fast path (memo)": [*library, "memo"],
        "library, oracle (every flow)": [*library, "every"],
    }
    if args.with_generate:
        commands["generate -o json"] = [*nf, "generate", str(own), *cluster, "-o", "json"]
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(args.runs):  # interleaved
        for name, command in commands.items():
            runs[name].append(measure(command, out_dir, name))
    fast = json.loads(runs["library, fast path (memo)"][0].out.read_text())
    slow = json.loads(runs["library, oracle (every flow)"][0].out.read_text())
    assert fast == slow, (fast, slow)
    command = json.loads(runs["explain-flows netfence records"][0].out.read_text())["counts"]
    assert command == fast, (command, fast)
    floor = statistics.median(r.cpu for r in runs["validate (load floor)"])
    oracle = statistics.median(r.cpu for r in runs["library, oracle (every flow)"])
    print(f"{args.flows:,} flows ({args.flows // REPEAT:,} connections) on {args.cluster.name}; "
          f"median of {args.runs}; counts {fast}")  # fmt: skip
    print(f"{'command':34} {'CPU s':>8} {'wall s':>8} {'RSS MB':>8} {'/floor':>7} {'/oracle':>8}")
    for name, rs in runs.items():
        cpu = statistics.median(r.cpu for r in rs)
        wall = statistics.median(r.wall for r in rs)
        rss = max(r.rss_mb for r in rs)
        print(f"{name:34} {cpu:8.2f} {wall:8.2f} {rss:8.0f} {cpu / floor:7.2f} {cpu / oracle:8.2f}")


if __name__ == "__main__":
    main()
