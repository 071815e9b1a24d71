"""diff, report and the matrix grid as whole processes, against baselines measured
in the same run.

    python bench/diff.py [--sizes 1k,20k] [--runs 3] [--pairwise-runs 1] [--browser]

Clusters come from bench/synth.py (1k: 1,000 pods / 100 policies; 20k: 20,000 /
2,000; seed 1), written to a temporary directory with a change of two policies
(a namespace's DNS egress narrowed to UDP, a default deny of ingress added to
the largest namespace without one). Each command runs as a child process; its
CPU time (user + system), wall time and peak RSS come from ``os.wait4``. Runs are
interleaved (each round runs every command once) and medians are printed.

Bytecode is written first (an installed package has it), whatever
PYTHONDONTWRITEBYTECODE says in this shell: without it every child compiles the
modules it imports again (about 0.2 s of ``report``).

Baselines: ``netfence validate`` of the same input (the load floor: diff loads
two states, report one); and, where it finishes in reasonable time, the previous
path pod pair by pair in a child process of this script (``connectivity_diff``
for diff, ``pairwise_matrix`` for the matrix), whose answer is compared with the
command's. The matrix runs on a 1,000-replica Deployment. With ``--browser``,
the report page of each size is opened in headless chromium, and the page's own
script time (parse of its data, first draw, a click on a namespace pair) is read
back from the DOM.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIZES = {"1k": (1_000, 100), "20k": (20_000, 2_000)}
REPLICAS = 1_000
DEPLOYMENT = f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: d, namespace: a}}
spec:
  replicas: {REPLICAS}
  selector: {{matchLabels: {{app: d}}}}
  template:
    metadata: {{labels: {{app: d}}}}
    spec: {{containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}
"""


# the children's environment: bytecode written and read, as an installed package has it
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass(frozen=True)
class Run:
    cpu: float
    wall: float
    rss_mb: float
    out: str


def measure(command: list[str], cwd: Path) -> Run:
    """One child process: CPU (user + system), wall time, peak RSS, stdout."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.DEVNULL, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{' '.join(command)}: exit {os.waitstatus_to_exitcode(status)}")
    return Run(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, text)


def netfence(*args: str) -> list[str]:
    return [sys.executable, "-m", "netfence", *args]


def this(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", *args]


def write_inputs(directory: Path, size: str) -> tuple[str, str]:
    """The cluster and the change, as files in ``directory``."""
    from bench.synth import generate, write

    pods, policies = SIZES[size]
    objects = generate(pods, policies, 1)
    cluster = directory / f"{size}.json"
    write(objects, str(cluster), "json")
    change = directory / f"{size}-change.json"
    change.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": _change(objects)}))
    return cluster.name, change.name


def _change(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    dns = next(p for p in policies if p["metadata"]["name"] == "allow-dns-egress")
    narrowed = json.loads(json.dumps(dns))
    narrowed["spec"]["egress"][0]["ports"] = [{"protocol": "UDP", "port": 53}]
    denied = {p["metadata"]["namespace"] for p in policies if "deny" in p["metadata"]["name"]}
    pods: dict[str, int] = {}
    for o in objects:
        if o["kind"] == "Pod" and o["metadata"]["namespace"] not in denied:
            pods[o["metadata"]["namespace"]] = pods.get(o["metadata"]["namespace"], 0) + 1
    largest = max(sorted(pods), key=lambda n: pods[n])
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "bench-deny-ingress", "namespace": largest},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }
    return [narrowed, deny]


# --- children: the previous paths, pod pair by pair ------------------------------------


def child(kind: str, *files: str) -> None:
    """Load as the CLI does, answer pod pair by pair, print the CLI's JSON."""
    from netfence.cli.common import load

    if kind == "pairwise-diff":
        from netfence.analysis.diff import State, connectivity_diff
        from netfence.render.diff import diff_data

        cluster, change = files
        old, new = load((cluster,), (), None), load((cluster, change), (), None)
        found = connectivity_diff(
            State(old.cluster, old.compiled), State(new.cluster, new.compiled)
        )
        print(json.dumps(diff_data(found)))
    elif kind == "pairwise-matrix":
        from netfence.analysis.matrix import pairwise_matrix
        from netfence.render.data import matrix_data

        loaded = load(files, (), None)
        print(json.dumps(matrix_data(pairwise_matrix(loaded.compiled, loaded.cluster))))


def _same_diff(a: str, b: str) -> bool:
    """The same changes (the CLI adds the input block: compare the changes)."""
    return bool(json.loads(a)["changes"] == json.loads(b)["changes"])


def _same_matrix(a: str, b: str) -> bool:
    return bool(json.loads(a)["cells"] == json.loads(b)["cells"])


# --- the browser ---------------------------------------------------------------------

PROBE = """<script>
(function(){const t0=performance.now();
 const cells=document.querySelectorAll('#nsmatrix td.cell[data-embedded=yes]');
 if(cells.length)cells[0].click();
 document.body.dataset.clickMs=(performance.now()-t0).toFixed(1);
 document.body.dataset.readyMs=t0.toFixed(1);
 document.body.dataset.workloadCells=document.querySelectorAll('#matrix td.cell').length;})();
</script>"""


def browser(page: Path) -> dict[str, Any] | None:
    """The page's own timings in headless chromium: ready, performance.now() when a
    script at the end of the page runs (from navigation start: parsing the page,
    its data, the first draw and its layout); and the time of one click on an
    embedded namespace pair (its workload grid drawn)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    probe = page.with_name(page.stem + "-probe.html")
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    start = time.perf_counter()
    dom = subprocess.run(
        [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom",
         probe.as_uri()],
        capture_output=True, text=True, timeout=300, check=False,
    ).stdout  # fmt: skip
    wall = time.perf_counter() - start
    found = {}
    for name in ("ready-ms", "click-ms", "workload-cells"):
        marker = f'data-{name}="'
        at = dom.find(marker)
        if at >= 0:
            found[name] = dom[at + len(marker) : dom.index('"', at + len(marker))]
    return {"page_mb": page.stat().st_size / 1e6, "chromium_wall_s": wall, **found}


# --- main ------------------------------------------------------------------------------


def median(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.cpu for r in runs),
        statistics.median(r.wall for r in runs),
        max(r.rss_mb for r in runs),
        runs[0].out,
    )


def line(name: str, run: Run, base: Run | None = None, label: str = "") -> str:
    ratio = f"   {run.cpu / base.cpu:6.2f}× {label} CPU" if base else ""
    return f"  {name:34} {run.cpu:7.2f} s CPU {run.wall:7.2f} s wall {run.rss_mb:7.0f} MB{ratio}"


def bench_size(size: str, tmp: Path, runs: int, pairwise_runs: int, pairwise: bool) -> None:
    cluster, change = write_inputs(tmp, size)
    commands = {
        "validate (load floor)": netfence("validate", "-f", cluster),
        "diff": netfence("diff", "-f", cluster, "--apply", change, "-o", "json"),
        "report": netfence("report", "-f", cluster, "-o", f"{size}.html"),
    }
    results: dict[str, list[Run]] = {name: [] for name in commands}
    slow = this("pairwise-diff", cluster, change)
    if pairwise:
        results["diff pod pair by pair (previous)"] = []
    for i in range(runs):
        for name, command in commands.items():
            results[name].append(measure(command, tmp))
        if pairwise and i < pairwise_runs:
            results["diff pod pair by pair (previous)"].append(measure(slow, tmp))
    m = {name: median(r) for name, r in results.items()}
    floor = m["validate (load floor)"]
    print(f"{size} ({SIZES[size][0]:,} pods / {SIZES[size][1]:,} policies), median of {runs}:")
    print(line("validate (load floor)", floor))
    print(line("diff", m["diff"], floor, "validate"))
    if pairwise:
        old = m["diff pod pair by pair (previous)"]
        print(line("diff pod pair by pair (previous)", old))
        same = _same_diff(m["diff"].out, old.out)
        ratio = old.cpu / m["diff"].cpu
        print(f"  diff: {ratio:.0f}× less CPU than pod pair by pair, same changes: {same}")
    print(f"  diff: {len(json.loads(m['diff'].out)['changes']):,} changes")
    print(line("report", m["report"], floor, "validate"))


def bench_matrix(tmp: Path, runs: int, pairwise_runs: int) -> None:
    (tmp / "replicas.yaml").write_text(DEPLOYMENT)
    grid = netfence("matrix", "-f", "replicas.yaml", "-o", "json")
    slow = this("pairwise-matrix", "replicas.yaml")
    fast, old = [], []
    for i in range(runs):
        fast.append(measure(grid, tmp))
        if i < pairwise_runs:
            old.append(measure(slow, tmp))
    a, b = median(fast), median(old)
    print(f"matrix of a {REPLICAS:,}-replica Deployment, median of {runs}:")
    print(line("matrix (grid by engine classes)", a))
    print(line("matrix pod pair by pair (previous)", b))
    print(f"  matrix: {b.cpu / a.cpu:.0f}× faster, same cells: {_same_matrix(a.out, b.out)}")


def write_bytecode() -> None:
    """Compile netfence's modules once, as installing the package does (the standard
    library and the dependencies have their bytecode already)."""
    import importlib.util

    spec = importlib.util.find_spec("netfence")
    assert spec is not None and spec.submodule_search_locations
    for folder in spec.submodule_search_locations:
        subprocess.run([sys.executable, "-m", "compileall", "-q", folder], env=ENV, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,20k")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pairwise-runs", type=int, default=1)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    write_bytecode()
    with tempfile.TemporaryDirectory(prefix="netfence-bench-diff-") as name:
        tmp = Path(name)
        for size in args.sizes.split(","):
            bench_size(size, tmp, args.runs, args.pairwise_runs, pairwise=size == "1k")
            if args.browser:
                print(f"  report page in headless chromium: {browser(tmp / f'{size}.html')}")
        bench_matrix(tmp, args.runs, args.pairwise_runs)


if __name__ == "__main__":
    main()
