"""Reading cluster-wide policies next to reading NetworkPolicies (issue 12, parse).

Builds ``--count`` ClusterNetworkPolicies (v0.2.0 ``protocols``; half Admin, half
Baseline; 3 ingress and 3 egress rules with selectors, networks, domain names and
ports) and, as the baseline measured in the same run, as many NetworkPolicies of
a similar size, each set in a fresh child process (``build_cluster`` on decoded
documents: validation and conversion, no file reading). Runs interleave
(baseline, tiers) ``--runs`` times; each child's CPU time, wall time and peak RSS
come from ``os.wait4``. Prints medians and the ratio tiers / NetworkPolicy.

    python bench/tiers_parse.py --count 5000 --runs 3
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import yaml

_CNP = """
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: cnp-I}
spec:
  tier: TIER
  priority: PRIORITY
  subject: {namespaces: {matchLabels: {team: tTEAM}}}
  ingress:
    - name: mon
      action: Accept
      from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
      protocols: [{tcp: {destinationPort: {number: 9090}}}]
    - action: Pass
      from:
        - pods:
            namespaceSelector: {matchLabels: {team: tTEAM}}
            podSelector: {matchLabels: {app: aAPP}}
    - {action: Deny, from: [{namespaces: {}}]}
  egress:
    - action: Accept
      to: [{domainNames: ["*.example.com", api.example.org]}]
      protocols: [{tcp: {destinationPort: {number: 443}}}]
    - action: Deny
      to: [{networks: [10.0.0.0/8, "2001:db8::/32"]}]
      protocols: [{udp: {destinationPort: {range: {start: 1000, end: 2000}}}}]
    - action: Pass
      to: [{pods: {podSelector: {matchLabels: {app: dns}}}}]
      protocols: [{destinationNamedPort: dns}]
"""
_NP = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np-I, namespace: tTEAM}
spec:
  podSelector: {matchLabels: {app: aAPP}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
      ports: [{port: 9090}]
    - from: [{namespaceSelector: {matchLabels: {team: x}}, podSelector: {matchLabels: {app: b}}}]
    - from: [{namespaceSelector: {}}]
  egress:
    - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8]}}]
      ports: [{port: 443}]
    - to: [{ipBlock: {cidr: 10.0.0.0/8}}]
      ports: [{protocol: UDP, port: 1000, endPort: 2000}]
    - to: [{podSelector: {matchLabels: {app: dns}}}]
      ports: [{port: dns}]
"""


def _make(template: str, i: int) -> dict[str, Any]:
    """The template's object for index ``i`` (YAML read once, each copy from JSON)."""
    text = _as_json(template).replace("-I", f"-{i}").replace("TEAM", str(i % 50))
    text = text.replace("APP", str(i % 7)).replace("TIER", "Admin" if i % 2 else "Baseline")
    obj: dict[str, Any] = json.loads(text.replace('"PRIORITY"', str(i % 1001)))
    return obj


@functools.cache
def _as_json(template: str) -> str:
    return json.dumps(yaml.safe_load(template))


def child(kind: str, count: int) -> None:
    from netfence.model.diagnostics import Source
    from netfence.parse import RawDocument, build_cluster

    template = _CNP if kind == "tiers" else _NP
    docs = [RawDocument(Source("b.yaml", i + 1), _make(template, i)) for i in range(count)]
    start = time.process_time()
    built = build_cluster(docs)
    read = len(built.cluster.cluster_policies) + len(built.cluster.policies)
    assert read == count and not built.errors, (read, built.errors[:3])
    print(f"{time.process_time() - start:.3f}")  # the build alone, without start-up


def run(kind: str, count: int) -> tuple[float, float, int, float]:
    """(process CPU, wall, peak RSS in KiB, CPU of the build alone)."""
    start = time.perf_counter()
    command = [sys.executable, __file__, "--child", kind, "--count", str(count)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"child {kind} failed: {status}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss, float(out)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=["tiers", "networkpolicy"])
    args = parser.parse_args()
    if args.child:
        child(args.child, args.count)
        return
    results: dict[str, list[tuple[float, float, int, float]]] = {"networkpolicy": [], "tiers": []}
    for _ in range(args.runs):
        for kind in results:
            results[kind].append(run(kind, args.count))
    cpu = {k: statistics.median(r[0] for r in v) for k, v in results.items()}
    build = {k: statistics.median(r[3] for r in v) for k, v in results.items()}
    for kind, runs in results.items():
        wall = statistics.median(r[1] for r in runs)
        rss = max(r[2] for r in runs) / 1024
        per = build[kind] / args.count * 1e6
        print(
            f"{kind:14} {args.count} objects: build CPU {build[kind]:.2f} s ({per:.0f} us each), "
            f"process CPU {cpu[kind]:.2f} s, wall {wall:.2f} s, peak RSS {rss:.0f} MB"
        )
    print(f"ratio tiers / networkpolicy: build CPU {build['tiers'] / build['networkpolicy']:.2f}, "
          f"process CPU {cpu['tiers'] / cpu['networkpolicy']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
