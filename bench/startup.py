"""Start-up cost of `netfence check` on the bundled scenario.

Prints the median wall time of N runs of the real command next to a baseline
measured in the same run (the bare interpreter, `python -c pass`), and their
ratio. Target (issue 2): well under a second for `check`.

    python bench/startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCENARIO = Path(__file__).resolve().parent.parent / "src" / "netfence" / "scenarios" / "eks-retail"
CHECK = [
    sys.executable,
    "-m",
    "netfence",
    "check",
    "ui/deployment/ui",
    "catalog.catalog",
    "--port",
    "80",
    "-k",
    "cluster",
    "-f",
    "policies/default-deny.yaml",
    "-n",
    "ui",
    "-f",
    "policies/allow-ui-egress.yaml",
]


def median_seconds(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=SCENARIO, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    baseline = median_seconds([sys.executable, "-c", "pass"], runs)
    rows = [
        ("python -c pass (baseline)", baseline),
        ("netfence --help", median_seconds([sys.executable, "-m", "netfence", "--help"], runs)),
        ("netfence check (bundled scenario)", median_seconds(CHECK, runs)),
    ]
    print(f"{'command':<36} {'median s':>9} {'x baseline':>11}   ({runs} runs each)")
    for name, seconds in rows:
        print(f"{name:<36} {seconds:>9.3f} {seconds / baseline:>11.1f}")


if __name__ == "__main__":
    main()
