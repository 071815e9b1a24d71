"""Build, tear down, enter and inspect a lab: plan (pure) + the io seam (``Runner``).

State lives in the lab directory (default /run/netfence/lab, or $NETFENCE_LAB_DIR):
``plan.json`` (written before anything is built, so ``down`` can always clean up),
``dns.json`` (the DNS zone), ``resolv/<netns>.conf`` and ``run/<name>.{pid,log,ready}``.
The lab id is derived from the directory, so two directories are two labs whose
namespaces never collide.

Policy enforcement is not here. Its seams: ``apply_ruleset`` loads an nft ruleset
into a node router, ``start_in_node`` runs a process (an agent) in a node router
and records it for ``down``, and ``plan.with_lab_nodes`` gives the cluster with
the lab's pod placement, from which an agent computes its own pods.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netfence.errors import EnvironmentProblem, TargetError
from netfence.io import netns as io
from netfence.lab.plan import LabPlan, PodPlan, ServerSpec, lab_prefixes, make_plan, resolv_conf
from netfence.lab.state import plan_from_json, plan_to_json, records_to_json
from netfence.lab.steps import build_commands, delete_commands, in_netns, nft_load, server_argv
from netfence.model.cluster import Cluster

DEFAULT_LAB_DIR = Path("/run/netfence/lab")
ENV_LAB_DIR = "NETFENCE_LAB_DIR"


def default_lab_dir() -> Path:
    return Path(os.environ.get(ENV_LAB_DIR) or DEFAULT_LAB_DIR)


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @property
    def plan(self) -> Path:
        return self.root / "plan.json"

    @property
    def zone(self) -> Path:
        return self.root / "dns.json"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def desired_dir(self) -> Path:
        """What the node agents enforce (lab/enforce.py writes it)."""
        return self.root / "desired"

    @property
    def resolv_dir(self) -> Path:
        return self.root / "resolv"

    def resolv(self, netns: str) -> Path:
        return self.resolv_dir / f"{netns}.conf"

    def pid(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.run_dir / f"{name}.log"

    def ready(self, name: str) -> Path:
        return self.run_dir / f"{name}.ready"


def lab_id_for(lab_dir: Path) -> str:
    """``nf`` + 4 hex digits of the directory's absolute path."""
    return "nf" + hashlib.sha256(os.path.abspath(lab_dir).encode()).hexdigest()[:4]


def require_root(runner: io.Runner) -> None:
    if not runner.is_root():
        raise EnvironmentProblem(
            "netfence lab needs root (network namespaces, veths, nftables): run it as root"
        )


# --- up ------------------------------------------------------------------------------------


def up(
    cluster: Cluster,
    lab_dir: Path | None = None,
    *,
    runner: io.Runner | None = None,
    python: str | None = None,
) -> LabPlan:
    """Build the lab of ``cluster`` (cleaning a stale lab of the same directory first);
    returns once every server listens. On failure everything built is removed."""
    runner = runner or io.SubprocessRunner()
    paths = LabPaths(lab_dir or default_lab_dir())
    require_root(runner)
    down(paths.root, runner=runner)
    plan = make_plan(cluster, lab_id_for(paths.root))
    io.write_text(paths.plan, plan_to_json(plan))
    try:
        _build(plan, paths, runner, python or sys.executable)
    except BaseException as exc:
        try:
            down(paths.root, runner=runner)
        except EnvironmentProblem as cleanup:
            exc.add_note(f"cleaning up after it failed too: {cleanup}")
        raise
    return plan


def _build(plan: LabPlan, paths: LabPaths, runner: io.Runner, python: str) -> None:
    for command in build_commands(plan):
        runner.run(command.argv, stdin=command.stdin)
    io.write_text(paths.zone, records_to_json(plan))
    for pod in plan.pods:
        io.write_text(paths.resolv(pod.netns), pod.resolv_conf)
    for name in (*(n.netns for n in plan.nodes), plan.external.netns):
        io.write_text(paths.resolv(name), _host_resolv(plan))
    ready: dict[int, Path] = {}
    for name, label, servers in _server_processes(plan):
        ready_file, zone = str(paths.ready(name)), str(paths.zone)
        inner = server_argv(python, plan.lab_id, label, servers, ready_file, zone, plan.dual_stack)
        pid = _spawn(runner, paths, name, in_netns(name, inner), inner)
        ready[pid] = paths.ready(name)
    runner.wait_ready(ready, {pid: paths.log(p.stem) for pid, p in ready.items()})


def _server_processes(plan: LabPlan) -> list[tuple[str, str, tuple[ServerSpec, ...]]]:
    """(netns, name for greetings, servers) of every process to start."""
    found = [(p.netns, p.key, p.servers) for p in plan.pods if p.servers]
    ext = plan.external
    return [*found, (ext.netns, ext.hostname, ext.servers)]


def _host_resolv(plan: LabPlan) -> str:
    """Node routers and the external host: the lab DNS, without a namespace's search."""
    text = resolv_conf("default", plan.cluster_domain, plan.nameserver)
    return text.replace(f"search default.svc.{plan.cluster_domain} ", "search ")


def _spawn(
    runner: io.Runner, paths: LabPaths, name: str, argv: Sequence[str], inner: Sequence[str]
) -> int:
    """Start and record: the PID file names the process and how to recognise it."""
    pid = runner.spawn(argv, paths.log(name))
    marker = " ".join(inner[1:]) or inner[0]  # argv[0] may be rewritten (scripts)
    io.write_text(paths.pid(name), json.dumps({"pid": pid, "marker": marker}) + "\n")
    return pid


# --- down ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DownReport:
    stopped: int  # processes
    deleted: tuple[str, ...]  # namespaces
    unmounted: tuple[str, ...]


def down(lab_dir: Path | None = None, *, runner: io.Runner | None = None) -> DownReport:
    """Stop recorded processes, then every process in a lab namespace, delete the
    namespaces (those of the plan and any other with the lab's prefix), unmount
    leftovers and remove the lab's files. Safe to run on a missing or half-built lab."""
    runner = runner or io.SubprocessRunner()
    paths = LabPaths(lab_dir or default_lab_dir())
    require_root(runner)
    lab_id = _recorded_id(paths) or lab_id_for(paths.root)
    stopped = _stop_recorded(paths, runner)
    names = _lab_netns(runner, lab_id)
    for name in names:
        pids = runner.run(["ip", "netns", "pids", name], check=False).stdout.split()
        stopped += sum(runner.stop(int(pid), None) for pid in pids if pid.isdigit())
    for command in delete_commands(names):
        runner.run(command.argv, stdin=command.stdin, check=False)
    unmounted = _unmount(paths, runner, lab_id)
    left = _lab_netns(runner, lab_id) if names else []
    if left:
        raise EnvironmentProblem(f"could not delete network namespaces: {', '.join(left)}")
    _remove_files(paths)
    return DownReport(stopped, tuple(names), tuple(unmounted))


def _recorded_id(paths: LabPaths) -> str | None:
    text = io.read_text(paths.plan)
    if text is None:
        return None
    try:
        return plan_from_json(text).lab_id
    except (ValueError, KeyError, TypeError):
        return None


def _stop_recorded(paths: LabPaths, runner: io.Runner) -> int:
    stopped = 0
    for path in io.list_files(paths.run_dir, "*.pid"):
        try:
            record = json.loads(io.read_text(path) or "{}")
            pid, marker = int(record["pid"]), str(record["marker"])
        except (ValueError, KeyError, TypeError):
            continue
        stopped += runner.stop(pid, marker)
    return stopped


def _lab_netns(runner: io.Runner, lab_id: str) -> list[str]:
    """Namespaces with the lab's prefixes (``ip netns list`` prints ``NAME (id: N)``)."""
    listing = runner.run(["ip", "netns", "list"]).stdout
    names = [line.split()[0] for line in listing.splitlines() if line.strip()]
    return sorted(n for n in names if n.startswith(lab_prefixes(lab_id)))


def _unmount(paths: LabPaths, runner: io.Runner, lab_id: str) -> list[str]:
    """Leftover mounts of lab namespace files or under the lab directory (lazy)."""
    roots = tuple(f"/run/netns/{prefix}" for prefix in lab_prefixes(lab_id))
    mine = str(paths.root.absolute()) + "/"
    points = [m for m in runner.mount_points() if m.startswith(roots) or m.startswith(mine)]
    for point in sorted(points, reverse=True):
        runner.run(["umount", "-l", point], check=False)
    return points


def _remove_files(paths: LabPaths) -> None:
    files = [paths.plan, paths.zone, *io.list_files(paths.resolv_dir, "*.conf")]
    for pattern in ("*.pid", "*.log", "*.ready", "*.tmp", "*.json"):
        files += io.list_files(paths.run_dir, pattern)
    policies = paths.desired_dir / "policies"
    for directory, pattern in (
        (paths.desired_dir, "*.json"),
        (policies, "*.yaml"),
        (policies, "*.tmp"),
    ):
        files += io.list_files(directory, pattern)
    directories = [paths.run_dir, paths.resolv_dir, policies, paths.desired_dir, paths.root]
    if paths.root == DEFAULT_LAB_DIR:
        directories.append(DEFAULT_LAB_DIR.parent)
    io.remove_files(files, directories)


# --- exec and status -----------------------------------------------------------------------


def load_plan(lab_dir: Path | None = None) -> LabPlan:
    root = lab_dir or default_lab_dir()
    text = io.read_text(LabPaths(root).plan)
    if text is None:
        raise TargetError(f"no lab in {root}: start one with `netfence lab up`")
    try:
        return plan_from_json(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise EnvironmentProblem(f"{root}/plan.json: unreadable lab state ({exc})") from None


def target_netns(plan: LabPlan, target: str) -> str:
    """``NS/POD``, ``NS/KIND/NAME`` (the workload's first pod), ``node:NAME``, ``external``."""
    if target == "external":
        return plan.external.netns
    if target.startswith("node:"):
        node = plan.node(target.removeprefix("node:"))
        if node is None:
            names = ", ".join(n.name for n in plan.nodes)
            raise TargetError(f"no node {target[5:]!r} in the lab (nodes: {names})")
        return node.netns
    return target_pod(plan, target).netns


def target_pod(plan: LabPlan, target: str) -> PodPlan:
    parts = target.split("/")
    if len(parts) == 2:
        pod = plan.pod(target)
        if pod is not None:
            return pod
    elif len(parts) == 3:
        workload = f"{parts[1].lower()}/{parts[2]}"
        pods = [p for p in plan.pods if p.namespace == parts[0] and p.workload == workload]
        if pods:
            return min(pods, key=lambda p: p.name)
    else:
        raise TargetError(f"{target!r}: expected NS/POD, NS/KIND/NAME, node:NAME or external")
    raise TargetError(f"{target!r}: no such pod in the lab (see `netfence lab status`)")


def exec_argv(lab_dir: Path, plan: LabPlan, target: str, argv: Sequence[str]) -> tuple[str, ...]:
    name = target_netns(plan, target)
    return in_netns(name, argv, str(LabPaths(lab_dir).resolv(name)))


def exec_in(
    target: str, argv: Sequence[str], lab_dir: Path | None = None, runner: io.Runner | None = None
) -> int:
    """Run ``argv`` in the target's namespace with its resolv.conf, on this terminal."""
    runner = runner or io.SubprocessRunner()
    require_root(runner)
    root = lab_dir or default_lab_dir()
    return runner.interactive(exec_argv(root, load_plan(root), target, argv))


def run_in(
    target: str,
    argv: Sequence[str],
    lab_dir: Path | None = None,
    runner: io.Runner | None = None,
    timeout: float = 60.0,
) -> io.Completed:
    """As ``exec_in``, capturing the output (never raises on the command's failure)."""
    runner = runner or io.SubprocessRunner()
    require_root(runner)
    root = lab_dir or default_lab_dir()
    return runner.run(exec_argv(root, load_plan(root), target, argv), check=False, timeout=timeout)


@dataclass(frozen=True)
class ProcessStatus:
    name: str
    pid: int
    alive: bool


@dataclass(frozen=True)
class LabStatus:
    lab_dir: Path
    lab_id: str
    plan: LabPlan | None
    processes: tuple[ProcessStatus, ...]
    present: tuple[str, ...]  # lab namespaces that exist
    missing: tuple[str, ...]  # namespaces of the plan that do not

    @property
    def healthy(self) -> bool:
        return self.plan is not None and not self.missing and all(p.alive for p in self.processes)


def status(lab_dir: Path | None = None, *, runner: io.Runner | None = None) -> LabStatus:
    runner = runner or io.SubprocessRunner()
    paths = LabPaths(lab_dir or default_lab_dir())
    text = io.read_text(paths.plan)
    plan = plan_from_json(text) if text else None
    lab_id = plan.lab_id if plan else lab_id_for(paths.root)
    present = _lab_netns(runner, lab_id)
    missing = [n for n in plan.netns_names() if n not in present] if plan else []
    processes = []
    for path in io.list_files(paths.run_dir, "*.pid"):
        pid = int(json.loads(io.read_text(path) or '{"pid": 0}')["pid"])
        processes.append(ProcessStatus(path.stem, pid, runner.alive(pid)))
    return LabStatus(paths.root, lab_id, plan, tuple(processes), tuple(present), tuple(missing))


# --- seams for enforcement -----------------------------------------------------------------


def node_netns(node: str, lab_dir: Path | None = None) -> str:
    return target_netns(load_plan(lab_dir), f"node:{node}")


def apply_ruleset(
    node: str, ruleset_text: str, lab_dir: Path | None = None, runner: io.Runner | None = None
) -> None:
    """Load an nft ruleset into ``node``'s router namespace (``nft -f -``, one transaction)."""
    runner = runner or io.SubprocessRunner()
    require_root(runner)
    command = nft_load(node_netns(node, lab_dir), ruleset_text)
    runner.run(command.argv, stdin=command.stdin)


def start_in_node(
    node: str,
    name: str,
    argv: Sequence[str],
    lab_dir: Path | None = None,
    runner: io.Runner | None = None,
) -> int:
    """Start ``argv`` (e.g. the node agent) in ``node``'s router namespace, in the
    background; ``down`` stops it. Its output goes to ``run/<name>.log``."""
    runner = runner or io.SubprocessRunner()
    require_root(runner)
    paths = LabPaths(lab_dir or default_lab_dir())
    return _spawn(runner, paths, name, in_netns(node_netns(node, paths.root), argv), argv)
