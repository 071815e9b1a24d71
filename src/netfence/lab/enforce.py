"""Enforcement in the lab: one real node agent per node router, fed a directory.

``lab up`` writes the lab's cluster (as the agents must see it: same pods,
addresses, placement) into ``<lab>/desired/``, starts ``netfence agent`` inside
every node namespace on that directory, and waits until each has enforced it.
``lab apply`` / ``lab delete`` add or remove NetworkPolicy files there, as
``kubectl apply`` / ``delete`` would, and wait until every agent reports the
new version. Invalid policies are refused before anything is written.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from netfence.agent.sources import DirectorySource, version_digest
from netfence.errors import EnvironmentProblem, InvalidInputError
from netfence.io import netns as io
from netfence.lab.desired import cluster_manifests
from netfence.lab.lab import (
    LabPaths,
    default_lab_dir,
    lab_files,
    make_dirs,
    make_tree,
    python_argv,
    remove_file,
    start_in_node,
    write_file,
)
from netfence.lab.plan import LabPlan, safe_name, with_lab_nodes
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Severity, error
from netfence.model.tiers import TierKind
from netfence.parse.build import build_cluster
from netfence.parse.documents import KubectlDumper, RawDocument


def desired_dir(paths: LabPaths) -> Path:
    return paths.desired_dir


def status_file(paths: LabPaths, node: str) -> Path:
    return paths.agent_dir(node) / "status.json"


@dataclass(frozen=True)
class LabAudit:
    """Audit mode for the lab's agents (docs/agent.md, "Audit mode"): each writes
    would-be denies to ``audit_log(paths, node)``; candidates are staged in
    ``<lab>/candidates`` (``stage``)."""

    namespaces: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    rate: int = 1000

    def args(self, paths: LabPaths, node: str) -> list[str]:
        argv = ["--audit-log", str(audit_log(paths, node)), "--audit-rate", str(self.rate)]
        argv += ["--candidates", str(candidates_dir(paths))]
        for namespace in self.namespaces:
            argv += ["--audit-namespace", namespace]
        for policy in self.policies:
            argv += ["--audit-policy", policy]
        return argv


def audit_log(paths: LabPaths, node: str) -> Path:
    return paths.agent_dir(node) / "audit.jsonl"


def candidates_dir(paths: LabPaths) -> Path:
    return paths.root / "candidates"


def audit_enabled(lab_dir: Path | None = None) -> bool:
    """Were the lab's agents started in audit mode (``start(..., audit=...)`` makes
    the candidates directory)?"""
    return candidates_dir(LabPaths(lab_dir or default_lab_dir())).is_dir()


def audit_records(plan: LabPlan, lab_dir: Path | None = None) -> list[str]:
    """Every node agent's audit record lines (its rotated file's first), merged
    oldest first by their ``time``; lines without one come last, in their order."""
    paths = LabPaths(lab_dir or default_lab_dir())
    lines: list[str] = []
    for node in plan.nodes:
        log = audit_log(paths, node.name)
        for path in (log.with_name(log.name + ".1"), log):
            if path.is_file():
                lines += path.read_text(encoding="utf-8", errors="replace").splitlines()
    return sorted(lines, key=_record_time)


def _record_time(line: str) -> datetime.datetime:
    try:
        found = json.loads(line).get("time")
        return datetime.datetime.fromisoformat(found).astimezone(datetime.UTC)
    except (ValueError, TypeError, AttributeError):
        return _LATEST


_LATEST = datetime.datetime.max.replace(tzinfo=datetime.UTC)


def start(
    cluster: Cluster,
    plan: LabPlan,
    policies: Sequence[RawDocument] = (),
    lab_dir: Path | None = None,
    deny: str = "drop",
    *,
    runner: io.Runner | None = None,
    timeout: float = 20.0,
    audit: LabAudit | None = None,
) -> None:
    """Write the desired state, start one agent per node (with the lab's recorded
    interpreter), wait until all enforce it. The desired directory and each agent's
    own directory are new, the lab's: an agent reads all of the one and writes into
    the other."""
    paths = LabPaths(lab_dir or default_lab_dir())
    placed = with_lab_nodes(cluster, plan)
    listing = {"apiVersion": "v1", "kind": "List", "items": cluster_manifests(placed)}
    checked = _checked(policies)
    make_dirs(paths, desired_dir(paths), fresh=True)
    write_file(paths, desired_dir(paths) / "cluster.json", json.dumps(listing))
    _write_policies(paths, checked)
    if audit is not None:
        make_dirs(paths, candidates_dir(paths), fresh=True)
    for node in plan.nodes:
        make_tree(paths, paths.agent_dir(node.name))
        extra = audit.args(paths, node.name) if audit is not None else []
        argv = python_argv(
            "netfence", "agent", "--dir", str(desired_dir(paths)),
            "--node", node.name, "--deny", deny, "--poll", "0.1", "--min-interval", "0.05",
            "--status-file", str(status_file(paths, node.name)), *extra, lab_dir=paths.root,
        )  # fmt: skip
        start_in_node(node.name, f"agent-{safe_name(node.name)}", argv, paths.root, runner)
    wait_enforced(plan, paths, timeout)


def apply(documents: Sequence[RawDocument], plan: LabPlan, lab_dir: Path | None = None) -> int:
    """Add or replace NetworkPolicies; the number written."""
    paths = LabPaths(lab_dir or default_lab_dir())
    policies = _checked(documents)
    _write_policies(paths, policies)
    wait_enforced(plan, paths)
    return len(policies)


def delete(documents: Sequence[RawDocument], plan: LabPlan, lab_dir: Path | None = None) -> int:
    """Remove the NetworkPolicies these documents name; the number removed."""
    paths = LabPaths(lab_dir or default_lab_dir())
    removed = sum(remove_file(paths, _policy_path(paths, d)) for d in policy_documents(documents))
    wait_enforced(plan, paths)
    return removed


def replace_all(
    documents: Sequence[RawDocument], plan: LabPlan, lab_dir: Path | None = None
) -> int:
    """Make these the lab's only NetworkPolicies, in one change the agents see at once."""
    paths = LabPaths(lab_dir or default_lab_dir())
    policies = _checked(documents)
    for old in lab_files(paths, desired_dir(paths) / "policies"):
        remove_file(paths, old)
    _write_policies(paths, policies)
    wait_enforced(plan, paths)
    return len(policies)


def stage(documents: Sequence[RawDocument], plan: LabPlan, lab_dir: Path | None = None) -> int:
    """Make these the staged candidate policies (audit mode), and wait until every
    agent's audit table has them."""
    paths = LabPaths(lab_dir or default_lab_dir())
    policies = _checked(documents)
    folder = candidates_dir(paths)
    for old in lab_files(paths, folder):
        remove_file(paths, old)
    for doc in policies:
        text = yaml.dump(doc.obj, Dumper=KubectlDumper, sort_keys=False)
        write_file(paths, folder / _policy_path(paths, doc).name, text)
    expected = version_digest(DirectorySource(folder).snapshot().version)
    _wait_reported(plan, paths, expected, lambda n: audit_status(paths, n), 20.0)
    return len(policies)


def audit_status(paths: LabPaths, node: str) -> Path:
    """Where the agent says which candidates its audit table holds (agent/audit.py)."""
    log = audit_log(paths, node)
    return log.with_name(log.name + ".status.json")


def wait_enforced(plan: LabPlan, paths: LabPaths, timeout: float = 20.0) -> None:
    """Until every node's agent reports the version now in the directory."""
    expected = version_digest(DirectorySource(desired_dir(paths)).snapshot().version)
    _wait_reported(plan, paths, expected, lambda n: status_file(paths, n), timeout)


def _wait_reported(
    plan: LabPlan,
    paths: LabPaths,
    expected: str,
    where: Callable[[str], Path],
    timeout: float,
) -> None:
    deadline = time.monotonic() + timeout
    waiting = [n.name for n in plan.nodes]
    while waiting and time.monotonic() < deadline:
        waiting = [n for n in waiting if _reported(where(n)) != expected]
        if waiting:
            time.sleep(0.05)
    if waiting:
        log = (io.read_text(paths.log(f"agent-{safe_name(waiting[0])}")) or "")[-1500:]
        raise EnvironmentProblem(
            f"node agent(s) {', '.join(waiting)} did not enforce in {timeout:.0f} s:\n{log}"
        )


def _reported(path: Path) -> str | None:
    text = io.read_text(path)
    if not text:
        return None
    try:
        version = json.loads(text).get("version")
    except json.JSONDecodeError:
        return None
    return version if isinstance(version, str) else None


POLICY_KINDS = frozenset({"NetworkPolicy", *(k.kind for k in TierKind)})


def policy_documents(documents: Sequence[RawDocument]) -> list[RawDocument]:
    """NetworkPolicies and the cluster-wide policies (AdminNetworkPolicy,
    BaselineAdminNetworkPolicy, ClusterNetworkPolicy): what the agents enforce."""
    return [d for d in documents if d.kind in POLICY_KINDS]


def _checked(documents: Sequence[RawDocument]) -> list[RawDocument]:
    """Only policies, and only valid ones: the API server would refuse the rest,
    and nothing is written when anything is wrong."""
    others = [d for d in documents if d.kind not in POLICY_KINDS]
    problems = [
        error(
            "lab apply takes NetworkPolicies and cluster-wide policies; the cluster is "
            "fixed by lab up",
            d.source,
        )
        for d in others
    ]
    built = build_cluster(policy_documents(documents))
    problems.extend(d for d in built.diagnostics if d.severity is Severity.ERROR)
    if problems:
        raise InvalidInputError(problems)
    return policy_documents(documents)


def _policy_path(paths: LabPaths, doc: RawDocument) -> Path:
    """``<namespace>__<name>.yaml``, both through ``safe_name`` ("_" is in neither);
    for a cluster-wide policy ``<kind>.<group>__<name>.yaml`` (a namespace has no
    dot, so the two never meet)."""
    meta = doc.obj.get("metadata") or {}
    name = str(meta.get("name"))
    if doc.kind == "NetworkPolicy":
        scope = safe_name(str(meta.get("namespace", "default")), dots=False)
    else:
        group = str(doc.obj.get("apiVersion", "")).partition("/")[0]
        scope = f"{safe_name(doc.kind.lower())}.{safe_name(group)}"
    file = f"{scope}__{safe_name(name)}.yaml"
    return desired_dir(paths) / "policies" / file


def _write_policies(paths: LabPaths, documents: Sequence[RawDocument]) -> None:
    for doc in documents:
        text = yaml.dump(doc.obj, Dumper=KubectlDumper, sort_keys=False)
        write_file(paths, _policy_path(paths, doc), text)
