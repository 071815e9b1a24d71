"""Build, tear down, enter and inspect a lab: plan (pure) + the io seam (``Runner``).

State lives in the lab directory (default /run/netfence/lab, or $NETFENCE_LAB_DIR).
``lab.json`` is the lab's record of everything it created: its id (random, so two
labs never share a namespace prefix), its namespaces, its processes (PID, start
time, command-line marker), the files and directories it made. Each entry is
written (atomically) before or together with the thing it names, and ``down``
removes what the record lists and nothing else: no globs, no sweep by name.
``plan.json`` holds the plan, ``dns.json`` the DNS zone, ``resolv/<netns>.conf``
each namespace's resolv.conf, ``run/<name>.{log,ready}`` the processes' output.
Every file name comes from the plan's sanitized names (``plan.safe_name``) and
every path is checked to lie inside the lab directory before it is written.

``up`` turns SIGTERM, SIGINT and SIGHUP into ``Interrupted`` while it builds, and
tears down whatever exists by then, as it does when any step fails, including the
steps after the build (``after``: the CLI starts the node agents there).

Policy enforcement is not here. Its seams: ``apply_ruleset`` loads an nft ruleset
into a node router, ``start_in_node`` runs a process (an agent) in a node router
and records it for ``down``, and ``plan.with_lab_nodes`` gives the cluster with
the lab's pod placement, from which an agent computes its own pods.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netfence.errors import EnvironmentProblem, TargetError
from netfence.io import netns as io
from netfence.io import processes
from netfence.io.processes import Interrupted as Interrupted  # for the CLI
from netfence.lab.plan import (
    LabPlan,
    PodPlan,
    ServerSpec,
    file_name,
    lab_prefixes,
    make_plan,
    resolv_conf,
    safe_name,
)
from netfence.lab.state import (
    LabRecord,
    ProcessRecord,
    plan_from_json,
    plan_to_json,
    record_from_json,
    record_to_json,
    records_to_json,
)
from netfence.lab.steps import (
    build_commands,
    delete_commands,
    in_netns,
    netns_add,
    nft_load,
    server_argv,
)
from netfence.model.cluster import Cluster

DEFAULT_LAB_DIR = Path("/run/netfence/lab")
ENV_LAB_DIR = "NETFENCE_LAB_DIR"
LAB_ID_TRIES = 100


def default_lab_dir() -> Path:
    return Path(os.environ.get(ENV_LAB_DIR) or DEFAULT_LAB_DIR)


@dataclass(frozen=True)
class LabPaths:
    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(os.path.abspath(self.root)))

    @property
    def record(self) -> Path:
        return self.root / "lab.json"

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
        return self.resolv_dir / f"{file_name(netns)}.conf"

    def log(self, name: str) -> Path:
        return self.run_dir / f"{file_name(name)}.log"

    def ready(self, name: str) -> Path:
        return self.run_dir / f"{file_name(name)}.ready"

    def agent_dir(self, node: str) -> Path:
        """A node agent's own directory (its status file and whatever it keeps)."""
        return self.run_dir / f"agent-{safe_name(node)}"

    def inside(self, path: Path) -> str:
        """``path`` relative to the lab directory (``.`` for itself), after resolving
        symbolic links and ``..``; EnvironmentProblem if it lies outside."""
        root = self.root.resolve()
        resolved = (self.root / path).resolve()
        if resolved != root and root not in resolved.parents:
            raise EnvironmentProblem(f"{path}: outside the lab directory {root}; not touched")
        return resolved.relative_to(root).as_posix()


def require_root(runner: io.Runner) -> None:
    if not runner.is_root():
        raise EnvironmentProblem(
            "netfence lab needs root (network namespaces, veths, nftables): run it as root"
        )


# --- the record ----------------------------------------------------------------------------


def load_record(paths: LabPaths, *, check: bool = True) -> LabRecord | None:
    """The lab's record, None if there is none; EnvironmentProblem if unreadable or
    (``check``) if it names anything that is not the lab's."""
    text = io.read_text(paths.record)
    if text is None:
        return None
    try:
        record = record_from_json(text)
    except ValueError as exc:
        raise EnvironmentProblem(f"{paths.record}: unreadable lab record ({exc})") from None
    if check:
        _check_record(paths, record)
    return record


def _check_record(paths: LabPaths, record: LabRecord) -> None:
    """A record names only things of its own lab: paths inside the directory (or the
    directory and its parents, in ``above``), namespaces with the lab's prefix."""
    for rel in (*record.files, *record.directories, *record.trees):
        if paths.inside(Path(rel)) == ".":
            raise EnvironmentProblem(
                f"{paths.record}: lists the lab directory itself, which is not the lab's to remove"
            )
    allowed = {str(paths.root), *(str(p) for p in paths.root.parents)}
    strange = [a for a in record.above if a not in allowed]
    strange += [n for n in record.namespaces if not n.startswith(lab_prefixes(record.lab_id))]
    if strange:
        raise EnvironmentProblem(f"{paths.record}: names what is not the lab's: {strange[0]}")


def _require_record(paths: LabPaths) -> LabRecord:
    """The record while the lab adds to it (checked where it is acted on: ``down``)."""
    record = load_record(paths, check=False)
    if record is None:
        raise TargetError(f"no lab in {paths.root}: start one with `netfence lab up`")
    return record


def _update(paths: LabPaths, **added: tuple[object, ...]) -> LabRecord:
    """Add entries to the record's lists and write it (atomically)."""
    with processes.critical():  # a signal never cuts a write of the record short
        record = _require_record(paths)
        changes: dict[str, Any] = {f: (*getattr(record, f), *vs) for f, vs in added.items()}
        record = dataclasses.replace(record, **changes)
        io.write_text(paths.record, record_to_json(record))
    return record


def _forget(paths: LabPaths, field: str, values: Sequence[object]) -> None:
    with processes.critical():
        record = _require_record(paths)
        kept: dict[str, Any] = {field: tuple(v for v in getattr(record, field) if v not in values)}
        io.write_text(paths.record, record_to_json(dataclasses.replace(record, **kept)))


def make_dirs(paths: LabPaths, directory: Path, *, fresh: bool = False) -> None:
    """Create ``directory`` and its missing parents inside the lab, recording each one
    made. ``fresh``: it must be the lab's (made now or before), never adopted."""
    rel = paths.inside(directory)
    current = paths.root
    for part in Path(rel).parts:
        current = current / part
        with processes.critical():
            made = io.make_dir(current)
            if made:
                _update(paths, directories=(paths.inside(current),))
    if fresh and rel not in _require_record(paths).directories:
        raise EnvironmentProblem(
            f"{directory} exists and is not the lab's: use a new or empty --lab-dir"
        )


def claim_file(paths: LabPaths, path: Path) -> str:
    """Record ``path`` as the lab's file before anything writes it (a process's log or
    ready file); a file there that is not the lab's is refused, never overwritten."""
    rel = paths.inside(path)
    if rel in _require_record(paths).files:
        return rel
    make_dirs(paths, path.parent)
    with processes.critical():
        if io.exists(path):
            raise EnvironmentProblem(
                f"{path} exists and is not the lab's: use a new or empty --lab-dir"
            )
        _update(paths, files=(rel,))
    return rel


def write_file(paths: LabPaths, path: Path, text: str) -> None:
    """Write one of the lab's files (atomically), recording it first."""
    claim_file(paths, path)
    with processes.critical():
        io.write_text(path, text)


def remove_file(paths: LabPaths, path: Path) -> bool:
    """Remove a file the lab recorded; False (and nothing removed) for any other."""
    rel = paths.inside(path)
    if rel not in _require_record(paths).files:
        return False
    with processes.critical():
        io.remove_file(path)
        _forget(paths, "files", (rel,))
    return True


def lab_files(paths: LabPaths, directory: Path) -> list[Path]:
    """The lab's recorded files directly in ``directory``."""
    rel = paths.inside(directory)
    record = _require_record(paths)
    return [paths.root / f for f in record.files if Path(f).parent.as_posix() == rel]


def make_tree(paths: LabPaths, directory: Path) -> None:
    """A new directory for a lab process to fill as it likes: removed whole by down."""
    make_dirs(paths, directory, fresh=True)
    rel = paths.inside(directory)
    if rel not in _require_record(paths).trees:
        _update(paths, trees=(rel,))


def python_argv(module: str, *args: str, lab_dir: Path | None = None) -> tuple[str, ...]:
    """``<interpreter> -m module args``, with the interpreter the lab recorded: the
    one that runs netfence, never a bare ``python3`` that may not have it."""
    paths = LabPaths(lab_dir or default_lab_dir())
    return (_require_record(paths).interpreter, "-m", module, *args)


# --- up ------------------------------------------------------------------------------------


def up(
    cluster: Cluster,
    lab_dir: Path | None = None,
    *,
    runner: io.Runner | None = None,
    python: str | None = None,
    after: Callable[[LabPlan], object] | None = None,
) -> LabPlan:
    """Build the lab of ``cluster`` (taking down a lab recorded in the same directory
    first); returns once every server listens and ``after(plan)`` (e.g. starting the
    node agents) has returned. If anything fails or a signal arrives (``Interrupted``),
    everything recorded so far is removed before the exception goes on."""
    runner = runner or io.SubprocessRunner()
    paths = LabPaths(lab_dir or default_lab_dir())
    require_root(runner)
    with processes.interruptible():
        down(paths.root, runner=runner)
        try:
            _begin(paths, runner, python or sys.executable)
            record = _require_record(paths)
            plan = make_plan(cluster, record.lab_id)
            write_file(paths, paths.plan, plan_to_json(plan))
            _build(plan, paths, runner, record.interpreter)
            if after is not None:
                after(plan)
        except BaseException as exc:
            with processes.critical():  # a second signal must not stop the clean-up
                try:
                    if io.exists(paths.record):
                        down(paths.root, runner=runner)
                except EnvironmentProblem as cleanup:
                    exc.add_note(f"cleaning up after it failed too: {cleanup}")
            raise
    return plan


def _begin(paths: LabPaths, runner: io.Runner, python: str) -> None:
    """Create the lab directory (recording which directories up made) and the record
    with a new lab id that no network namespace uses as a prefix yet."""
    with processes.critical():
        above = _make_root(paths.root)
        record = LabRecord(_new_lab_id(runner), python, above=tuple(str(p) for p in above))
        io.write_text(paths.record, record_to_json(record))


def _make_root(root: Path) -> list[Path]:
    missing = [p for p in (root, *root.parents) if not io.exists(p)]
    made = []
    for directory in reversed(missing):
        if io.make_dir(directory):
            made.append(directory)
    return made


def _new_lab_id(runner: io.Runner) -> str:
    """``nf`` + 6 random hex digits, unused as a prefix by any network namespace."""
    names = _netns_names(runner)
    for _ in range(LAB_ID_TRIES):
        lab_id = "nf" + secrets.token_hex(3)
        if not any(n.startswith(lab_prefixes(lab_id)) for n in names):
            return lab_id
    raise EnvironmentProblem("no unused lab id found")  # pragma: no cover - 16M ids


def _build(plan: LabPlan, paths: LabPaths, runner: io.Runner, python: str) -> None:
    for name in plan.netns_names():
        _add_netns(paths, runner, plan.lab_id, name)
    for command in build_commands(plan):
        runner.run(command.argv, stdin=command.stdin)
    write_file(paths, paths.zone, records_to_json(plan))
    for pod in plan.pods:
        write_file(paths, paths.resolv(pod.netns), pod.resolv_conf)
    for name in (*(n.netns for n in plan.nodes), plan.external.netns):
        write_file(paths, paths.resolv(name), _host_resolv(plan))
    waiting: dict[int, Path] = {}
    for name, label, servers in _server_processes(plan):
        ready = paths.ready(name)
        for claimed in (ready, ready.with_name(ready.name + ".tmp")):  # the server writes both
            claim_file(paths, claimed)
        zone = str(paths.zone)
        inner = server_argv(python, plan.lab_id, label, servers, str(ready), zone, plan.dual_stack)
        pid = _spawn(runner, paths, name, in_netns(name, inner), inner)
        waiting[pid] = ready
    runner.wait_ready(waiting, {pid: paths.log(p.stem) for pid, p in waiting.items()})


def _add_netns(paths: LabPaths, runner: io.Runner, lab_id: str, name: str) -> None:
    """Record, then create: ``ip netns add`` fails on a name that exists, which is
    then not the lab's and leaves the record again. (After any other failure it
    stays: ``ip`` may have been killed after making it; deleting a name that is not
    there does no harm.)"""
    if not name.startswith(lab_prefixes(lab_id)):
        raise ValueError(f"namespace {name!r} lacks the lab's prefix")  # a bug in plan
    command = netns_add(name)
    with processes.critical():
        _update(paths, namespaces=(name,))
        done = runner.run(command.argv, check=False)
        if done.returncode != 0:
            if "exists" in done.stderr:
                _forget(paths, "namespaces", (name,))
                raise EnvironmentProblem(
                    f"network namespace {name} already exists and is not this lab's: "
                    "the lab never adopts one"
                )
            raise io.failed(done)


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
    """Start and record: the PID, its start time and a command-line marker name the
    process for good (``ip netns exec`` execs, so the PID is the program's own)."""
    log = paths.log(name)
    claim_file(paths, log)
    marker = " ".join(inner[1:]) or inner[0]  # argv[0] may be rewritten (scripts)
    with processes.critical():
        pid = runner.spawn(argv, log)
        start = runner.start_time(pid)
        _update(paths, processes=(ProcessRecord(file_name(name), pid, start, marker),))
    return pid


# --- down ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DownReport:
    found: bool  # False: no lab record in the directory, nothing was touched
    stopped: int  # processes
    deleted: tuple[str, ...]  # namespaces
    unmounted: tuple[str, ...]


def down(lab_dir: Path | None = None, *, runner: io.Runner | None = None) -> DownReport:
    """Remove what the lab's record lists: stop its processes (each only while it is
    still the process that was started), then any process left inside its
    namespaces, delete its namespaces, unmount what is left of them, and remove its
    files and the directories it made (if empty). Without a record: nothing."""
    runner = runner or io.SubprocessRunner()
    paths = LabPaths(lab_dir or default_lab_dir())
    require_root(runner)
    record = load_record(paths)
    if record is None:
        return DownReport(False, 0, (), ())
    stopped = sum(runner.stop(p.pid, p.marker, p.start) for p in record.processes)
    present = [n for n in record.namespaces if n in set(_netns_names(runner))]
    for name in present:  # "deleting a netns does not stop its processes"
        pids = runner.run(["ip", "netns", "pids", name], check=False).stdout.split()
        stopped += sum(runner.stop(int(pid), None) for pid in pids if pid.isdigit())
    for command in delete_commands(present):
        runner.run(command.argv, stdin=command.stdin, check=False)
    unmounted = _unmount(runner, record)
    left = [n for n in record.namespaces if n in set(_netns_names(runner))] if present else []
    if left:
        raise EnvironmentProblem(f"could not delete network namespaces: {', '.join(left)}")
    _remove_files(paths, record)
    return DownReport(True, stopped, tuple(present), tuple(unmounted))


def _netns_names(runner: io.Runner) -> list[str]:
    """``ip netns list`` prints ``NAME (id: N)`` or ``NAME``."""
    listing = runner.run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def _unmount(runner: io.Runner, record: LabRecord) -> list[str]:
    """Leftover mounts of the lab's namespace files (lazy)."""
    files = {f"/run/netns/{name}" for name in record.namespaces}
    points = [m for m in runner.mount_points() if m in files]
    for point in sorted(points, reverse=True):
        runner.run(["umount", "-l", point], check=False)
    return points


def _remove_files(paths: LabPaths, record: LabRecord) -> None:
    """The record's trees and files, its directories if empty (deepest first), the
    record itself, then the lab directory and parents up made, if empty."""
    for rel in record.trees:
        io.remove_tree(paths.root / rel)
    for rel in record.files:
        io.remove_file(paths.root / rel)
    for rel in sorted(record.directories, key=lambda d: -len(Path(d).parts)):
        io.remove_empty_dir(paths.root / rel)
    io.remove_file(paths.record)
    for directory in sorted(record.above, key=lambda d: -len(Path(d).parts)):
        io.remove_empty_dir(Path(directory))


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
    record = load_record(paths)
    if record is None:
        return LabStatus(paths.root, "", None, (), (), ())
    plan = load_plan(paths.root) if io.exists(paths.plan) else None
    existing = set(_netns_names(runner))
    present = [n for n in record.namespaces if n in existing]
    missing = [n for n in plan.netns_names() if n not in existing] if plan else []
    processes = [
        ProcessStatus(p.name, p.pid, runner.alive(p.pid) and runner.start_time(p.pid) == p.start)
        for p in record.processes
    ]
    return LabStatus(
        paths.root, record.lab_id, plan, tuple(processes), tuple(present), tuple(missing)
    )


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
