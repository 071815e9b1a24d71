"""Start-up cost of `netfence check` on the bundled scenario.

Runs, interleaved (so that a busy machine slows every command alike), N times
each: the baseline `python -c 'import yaml, click'` (what any click + PyYAML tool
pays), `python -c pass`, `netfence --help` and `netfence check` on the bundled EKS
scenario through the real entry point. Prints the median CPU time (user + system
of the child process) and wall time of each, and its ratio to the baseline.
Target (issue 11): `check` ≤ 2× the baseline.

Bytecode is written and warmed first (an installed package has it), whatever
PYTHONDONTWRITEBYTECODE says in this shell.

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent / "src" / "netfence" / "scenarios" / "eks-retail"
NETFENCE = [sys.executable, "-m", "netfence"]
CHECK_ARGS = [
    "check", "ui/deployment/ui", "catalog.catalog", "--port", "80", "-k", "cluster",
    "-f", "policies/default-deny.yaml", "-n", "ui", "-f", "policies/allow-ui-egress.yaml",
]  # fmt: skip
BASELINE = "python -c 'import yaml, click' (baseline)"
COMMANDS = {
    BASELINE: [sys.executable, "-c", "import yaml, click"],
    "python -c pass": [sys.executable, "-c", "pass"],
    "netfence --help": [*NETFENCE, "--help"],
    "netfence check (bundled scenario)": [*NETFENCE, *CHECK_ARGS],
}
TARGET = 2.0  # check ÷ baseline, CPU time


def run_once(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=SCENARIO, capture_output=True, check=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for command in COMMANDS.values():  # write and warm the bytecode
        run_once(command, env)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, command in COMMANDS.items():
            samples[name].append(run_once(command, env))
    cpu = {name: statistics.median(s[0] for s in runs_) for name, runs_ in samples.items()}
    wall = {name: statistics.median(s[1] for s in runs_) for name, runs_ in samples.items()}
    print(f"{'command':<46} {'CPU s':>7} {'× base':>7} {'wall s':>7} {'× base':>7}")
    for name in COMMANDS:
        print(
            f"{name:<46} {cpu[name]:>7.3f} {cpu[name] / cpu[BASELINE]:>7.2f} "
            f"{wall[name]:>7.3f} {wall[name] / wall[BASELINE]:>7.2f}"
        )
    ratio = cpu["netfence check (bundled scenario)"] / cpu[BASELINE]
    verdict = "met" if ratio <= TARGET else "missed"
    print(f"\ntarget: check ≤ {TARGET:.0f}× the baseline (CPU): {ratio:.2f}× — {verdict}")
    print(f"({runs} interleaved runs each; medians)")


if __name__ == "__main__":
    main()
