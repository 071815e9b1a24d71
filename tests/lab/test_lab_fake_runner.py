"""lab up / down / exec / status through the recording runner: the command sequences,
the lab's record of what it made, cleanup on failure, and that down removes only
what the record lists. No root, no namespaces."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netfence.errors import EnvironmentProblem, TargetError
from netfence.io import processes
from netfence.io.cluster import load_cluster
from netfence.io.netns import Call, Completed, RecordingRunner
from netfence.lab import enforce, lab
from netfence.lab.plan import LabPlan
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.parse.documents import RawDocument

SCENARIO = Path(__file__).resolve().parents[2] / "src" / "netfence" / "scenarios" / "eks-retail"


@pytest.fixture(scope="module")
def eks() -> Cluster:
    return load_cluster([], [str(SCENARIO / "cluster")]).cluster


class FakeHost:
    """``ip netns`` as a set: add (refused if it exists) and del batches change it;
    list prints it."""

    def __init__(self, existing: list[str] | None = None, fail_on: str | None = None) -> None:
        self.netns = set(existing or [])
        self.fail_on = fail_on

    def __call__(self, argv: tuple[str, ...], stdin: str | None) -> Completed | None:
        if self.fail_on and self.fail_on in " ".join(argv):
            return Completed(argv, 1, "", "Error: something went wrong")
        if argv == ("ip", "netns", "list"):
            return Completed(argv, 0, "".join(f"{n} (id: 1)\n" for n in sorted(self.netns)), "")
        if argv[:3] == ("ip", "netns", "add"):
            if argv[3] in self.netns:
                said = f'Cannot create namespace file "/run/netns/{argv[3]}": File exists'
                return Completed(argv, 1, "", said)
            self.netns.add(argv[3])
        if argv[:2] == ("ip", "-force"):
            for line in (stdin or "").splitlines():
                words = line.split()
                if words[:2] == ["netns", "del"]:
                    self.netns.discard(words[2])
        return None


def recording(host: FakeHost) -> RecordingRunner:
    return RecordingRunner(respond=host)


def kinds(runner: RecordingRunner) -> list[str]:
    return [c.kind for c in runner.calls]


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def make_user_files(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("user data\n")


def test_up_runs_the_plan_then_starts_and_awaits_servers(eks: Cluster, tmp_path: Path) -> None:
    host = FakeHost()
    runner = recording(host)
    plan = lab.up(eks, tmp_path / "lab", runner=runner, python="/py")
    lines = runner.commands()
    assert lines[0] == "run: ip netns list"  # choosing an id no namespace uses yet
    adds = [f"run: ip netns add {name}" for name in plan.netns_names()]
    assert lines[1 : 1 + len(adds)] == adds  # one at a time, each recorded first
    spawns = [c for c in runner.calls if c.kind == "spawn"]
    assert len(spawns) == 12  # 11 pods + the external host
    assert kinds(runner)[-1] == "wait_ready"
    assert host.netns == set(plan.netns_names())
    ui = next(c.argv for c in spawns if "ui/ui-0" in c.argv)
    assert ui[:5] == ("ip", "netns", "exec", plan.pod("ui/ui-0").netns, "/py")  # type: ignore[union-attr]
    assert ui[5:9] == ("-m", "netfence.lab.servers", "--lab", plan.lab_id)
    dns = next(c.argv for c in spawns if "kube-system/coredns-0" in c.argv)
    assert "--records" in dns and dns[-2:] == ("dns:53", "tcp:9153")
    nft = [c for c in runner.calls if c.argv[-3:] == ("nft", "-f", "-")]
    assert [c.argv[3] for c in nft] == [n.netns for n in plan.nodes]


def test_up_records_everything_it_makes(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "lab"
    plan = lab.up(eks, root, runner=recording(FakeHost()), python="/py")
    assert lab.load_plan(root) == plan
    resolv = root / "resolv" / f"{plan.pod('ui/ui-0').netns}.conf"  # type: ignore[union-attr]
    assert resolv.read_text().startswith("search ui.svc.cluster.local ")
    zone = json.loads((root / "dns.json").read_text())
    assert zone["records"]["catalog.catalog.svc.cluster.local"] == ["172.20.0.3"]
    record = lab.load_record(lab.LabPaths(root))
    assert record is not None and record.lab_id == plan.lab_id and record.interpreter == "/py"
    assert record.namespaces == plan.netns_names()
    assert len(record.processes) == 12
    assert all(plan.lab_id in p.marker and p.pid > 40000 for p in record.processes)
    assert all(p.start == 1000 + p.pid for p in record.processes)  # the runner's start time
    # logs and ready files: the (here fake) processes write them
    theirs = {f for f in record.files if f.endswith((".ready", ".ready.tmp", ".log"))}
    assert len(theirs) == 36
    assert files_under(root) == sorted({"lab.json", *record.files} - theirs)
    assert set(record.directories) == {"run", "resolv"}
    assert record.above == (str(root),)  # up made the lab directory, down removes it


def test_down_stops_recorded_then_namespace_processes_then_deletes(
    eks: Cluster, tmp_path: Path
) -> None:
    root = tmp_path / "lab"
    host = FakeHost()
    plan = lab.up(eks, root, runner=recording(host), python="/py")
    other_lab = ["zz99-ui.ui-0", "zz99_node-a", f"{plan.lab_id}-not-recorded"]
    host.netns |= set(other_lab)
    runner = recording(host)
    report = lab.down(root, runner=runner)
    order = kinds(runner)
    assert order[:12] == ["stop"] * 12  # recorded PIDs first, with their markers
    assert all(plan.lab_id in c.argv[1] for c in runner.calls[:12])
    assert ("run", ("ip", "netns", "pids", plan.nodes[0].netns)) in [
        (c.kind, c.argv) for c in runner.calls
    ]
    assert report.found and set(report.deleted) == set(plan.netns_names())
    assert host.netns == set(other_lab)  # only what the record lists, no sweep by prefix
    assert not root.exists()


def test_up_over_a_recorded_lab_takes_it_down_first(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "lab"
    host = FakeHost()
    first = lab.up(eks, root, runner=recording(host), python="/py")
    host.netns |= {"unrelated", "nf0000_node-a"}
    runner = recording(host)
    second = lab.up(eks, root, runner=runner, python="/py")
    first_delete = next(c for c in runner.calls if c.argv[:2] == ("ip", "-force"))
    assert first_delete.stdin == "".join(f"netns del {n}\n" for n in first.netns_names())
    assert second.lab_id != first.lab_id  # a new id per lab
    assert host.netns == {"unrelated", "nf0000_node-a", *second.netns_names()}


def test_a_failing_step_cleans_up_and_says_what_failed(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "lab"
    host = FakeHost(fail_on="nft -f -")
    with pytest.raises(EnvironmentProblem) as raised:
        lab.up(eks, root, runner=recording(host), python="/py")
    message = str(raised.value)
    assert "nft -f -" in message and "something went wrong" in message
    assert raised.value.exit_code == 3
    assert host.netns == set()
    assert not root.exists()


def test_a_failure_after_the_build_cleans_up_too(eks: Cluster, tmp_path: Path) -> None:
    """L3: ``after`` (the CLI starts the agents there) fails: everything goes."""
    root = tmp_path / "deep" / "lab"
    host = FakeHost()
    runner = recording(host)

    def agents_never_ready(plan: object) -> None:
        lab.start_in_node("node-a", "agent-node-a", ["/py", "-m", "netfence"], root, runner)
        raise EnvironmentProblem("node agent(s) node-a did not enforce in 20 s")

    with pytest.raises(EnvironmentProblem, match="did not enforce"):
        lab.up(eks, root, runner=runner, python="/py", after=agents_never_ready)
    stopped = [c.argv[1] for c in runner.calls if c.kind == "stop"]
    assert "-m netfence" in stopped  # the agent's marker: it was stopped too
    assert host.netns == set() and not (tmp_path / "deep").exists()


def test_root_is_required(eks: Cluster, tmp_path: Path) -> None:
    runner = RecordingRunner(root=False)
    for action in (
        lambda: lab.up(eks, tmp_path, runner=runner),
        lambda: lab.down(tmp_path, runner=runner),
        lambda: lab.exec_in("ui/ui-0", ["true"], tmp_path, runner=runner),
    ):
        with pytest.raises(EnvironmentProblem, match="needs root") as raised:
            action()
        assert raised.value.exit_code == 3
    assert runner.calls == []


@pytest.mark.parametrize(
    ("target", "netns_suffix"),
    [
        ("ui/ui-0", "-ui.ui-0"),
        ("ui/deployment/ui", "-ui.ui-0"),
        ("ui/Deployment/ui", "-ui.ui-0"),
        ("catalog/statefulset/catalog-mysql", "-catalog.catalog-mysql-0"),
        ("kube-system/deployment/coredns", "-kube-system.coredns-0"),  # the first pod
        ("node:node-b", "_node-b"),
        ("external", "-ext"),
    ],
)
def test_exec_targets(eks: Cluster, tmp_path: Path, target: str, netns_suffix: str) -> None:
    root = tmp_path / "lab"
    plan = lab.up(eks, root, runner=recording(FakeHost()), python="/py")
    runner = RecordingRunner()
    assert lab.exec_in(target, ["curl", "-s", "x"], root, runner=runner) == 0
    argv = runner.calls[0].argv
    netns = plan.lab_id + netns_suffix
    assert argv[:6] == ("ip", "netns", "exec", netns, "unshare", "-m")
    assert argv[-4:] == (str(root / "resolv" / f"{netns}.conf"), "curl", "-s", "x")


@pytest.mark.parametrize(
    "target", ["ui/nope", "ui/deployment/nope", "nope/ui-0", "a/b/c/d", "node:nope", "ui"]
)
def test_bad_exec_targets(eks: Cluster, tmp_path: Path, target: str) -> None:
    root = tmp_path / "lab"
    lab.up(eks, root, runner=recording(FakeHost()), python="/py")
    with pytest.raises(TargetError):
        lab.exec_in(target, ["true"], root, runner=RecordingRunner())


def test_no_lab_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="netfence lab up"):
        lab.exec_in("ui/ui-0", ["true"], tmp_path, runner=RecordingRunner())


def test_enforcement_seams(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "lab"
    host = FakeHost()
    plan = lab.up(eks, root, runner=recording(host), python="/py")
    runner = recording(host)
    lab.apply_ruleset("node-b", "table inet netfence {}\n", root, runner=runner)
    assert runner.calls[0].argv == ("ip", "netns", "exec", plan.nodes[1].netns, "nft", "-f", "-")
    assert runner.calls[0].stdin == "table inet netfence {}\n"
    pid = lab.start_in_node("node-a", "agent-node-a", ["netfence", "agent", "--x"], root, runner)
    assert runner.calls[-1].argv[:4] == ("ip", "netns", "exec", plan.nodes[0].netns)
    record = lab.load_record(lab.LabPaths(root))
    assert record is not None
    assert record.processes[-1] == lab.ProcessRecord("agent-node-a", pid, 1000 + pid, "agent --x")
    assert "run/agent-node-a.log" in record.files
    down = recording(host)
    lab.down(root, runner=down)
    assert ("stop", (str(pid), "agent --x")) in [(c.kind, c.argv) for c in down.calls]
    with pytest.raises(TargetError):
        lab.apply_ruleset("node-a", "", root, runner=RecordingRunner())  # the lab is gone


def test_status(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "lab"
    host = FakeHost()
    plan = lab.up(eks, root, runner=recording(host), python="/py")
    report = lab.status(root, runner=recording(host))
    assert report.healthy and report.plan == plan and len(report.processes) == 12
    host.netns.discard(plan.nodes[1].netns)
    report = lab.status(root, runner=recording(host))
    assert not report.healthy and report.missing == (plan.nodes[1].netns,)
    empty = lab.status(tmp_path / "none", runner=recording(FakeHost()))
    assert empty.plan is None and not empty.healthy


# --- the lab touches only what it made (issue 9 section 4) --------------------------------


def test_a_lab_id_is_random_and_never_a_prefix_in_use(
    eks: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old id was 4 hex digits of the path: two directories could share it. Now
    it is random, recorded, and skipped while any namespace starts with it."""
    ids = iter(["aaaaaa", "aaaaaa", "bbbbbb", "bbbbbb", "cccccc"])
    monkeypatch.setattr(lab.secrets, "token_hex", lambda n: next(ids))
    host = FakeHost(["nfaaaaaa_node-x"])  # someone's namespace with that prefix
    first = lab.up(eks, tmp_path / "one", runner=recording(host), python="/py")
    assert first.lab_id == "nfbbbbbb"
    second = lab.up(eks, tmp_path / "two", runner=recording(host), python="/py")
    assert second.lab_id == "nfcccccc"  # bbbbbb is the first lab's now
    assert not set(first.netns_names()) & set(second.netns_names())
    lab.down(tmp_path / "one", runner=recording(host))
    assert host.netns == {"nfaaaaaa_node-x", *second.netns_names()}


def test_an_existing_namespace_is_refused_not_adopted(
    eks: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A namespace that appears with one of the lab's names after the id was chosen
    is someone else's: up fails, removes its own and leaves that one alone."""
    monkeypatch.setattr(lab.secrets, "token_hex", lambda n: "dddddd")
    host = FakeHost()
    taken = "nfdddddd-ui.ui-0"

    def respond(argv: tuple[str, ...], stdin: str | None) -> Completed | None:
        if argv == ("ip", "netns", "add", taken):
            host.netns.add(taken)  # created by another party just now
        return host(argv, stdin)

    root = tmp_path / "lab"
    with pytest.raises(EnvironmentProblem, match="already exists and is not this lab's"):
        lab.up(eks, root, runner=RecordingRunner(respond=respond), python="/py")
    assert host.netns == {taken}
    assert not root.exists()


OLD_GLOBS = [
    "run/build.log", "run/server.pid", "run/x.json", "run/a.ready", "run/b.tmp",
    "desired/cluster.json", "desired/policies/deny.yaml", "desired/policies/c.tmp",
    "resolv/home.conf", "plan.json", "dns.json",
]  # fmt: skip


def test_down_without_a_record_removes_nothing(tmp_path: Path) -> None:
    """L2: the old down deleted files matching its globs in any --lab-dir."""
    root = tmp_path / "mine"
    make_user_files(root, OLD_GLOBS)
    host = FakeHost(["nf1234_node-a", "unrelated"])
    runner = recording(host)
    report = lab.down(root, runner=runner)
    assert not report.found and report.deleted == () and report.stopped == 0
    assert files_under(root) == sorted(OLD_GLOBS)
    assert host.netns == {"nf1234_node-a", "unrelated"} and runner.calls == []


def test_up_and_down_in_a_directory_of_user_files_leave_them(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "mine"
    user_files = ["run/build.log", "run/other.pid", "resolv/home.conf", "notes.txt"]
    make_user_files(root, user_files)
    host = FakeHost()
    lab.up(eks, root, runner=recording(host), python="/py")
    lab.down(root, runner=recording(host))
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*")) == sorted(
        [*user_files, "run", "resolv"]
    )
    assert all((root / name).read_text() == "user data\n" for name in user_files)


def test_a_file_that_is_not_the_labs_is_never_overwritten(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "mine"
    make_user_files(root, ["plan.json"])
    host = FakeHost()
    with pytest.raises(EnvironmentProblem, match=r"plan\.json exists and is not the lab's"):
        lab.up(eks, root, runner=recording(host), python="/py")
    assert files_under(root) == ["plan.json"] and (root / "plan.json").read_text() == "user data\n"
    assert host.netns == set()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("files", "../outside.txt"),
        ("files", "/etc/hostname"),
        ("files", "."),
        ("trees", "run/../../outside.txt"),
        ("directories", "/tmp"),
        ("namespaces", "someone-elses"),
        ("above", "/etc"),
    ],
)
def test_a_record_naming_what_is_not_the_labs_removes_nothing(
    eks: Cluster, tmp_path: Path, field: str, value: str
) -> None:
    root = tmp_path / "lab"
    host = FakeHost(["someone-elses"])
    lab.up(eks, root, runner=recording(host), python="/py")
    record = json.loads((root / "lab.json").read_text())
    record["lab"][field].append(value)
    (root / "lab.json").write_text(json.dumps(record))
    (tmp_path / "outside.txt").write_text("keep\n")
    before, files = set(host.netns), files_under(root)
    with pytest.raises(EnvironmentProblem, match=r"outside the lab directory|not the lab's"):
        lab.down(root, runner=recording(host))
    assert host.netns == before and files_under(root) == files
    assert (tmp_path / "outside.txt").read_text() == "keep\n"


def test_down_checks_each_process_is_still_the_one_it_started(eks: Cluster, tmp_path: Path) -> None:
    """down passes the recorded start time and marker (processes.stop refuses a PID
    that now names another process)."""
    root = tmp_path / "lab"
    host = FakeHost()
    lab.up(eks, root, runner=recording(host), python="/py")
    record = lab.load_record(lab.LabPaths(root))
    assert record is not None

    class Stops(RecordingRunner):
        def stop(self, pid: int, marker: str | None, start: int | None = None) -> bool:
            self.calls.append(Call("stop", (str(pid), marker or "", str(start))))
            return True

    runner = Stops(respond=host)
    lab.down(root, runner=runner)
    stops = [c.argv for c in runner.calls if c.kind == "stop"]
    assert stops == [(str(p.pid), p.marker, str(p.start)) for p in record.processes]


# --- one interpreter for every program (issue 9 section 1) --------------------------------

INTERPRETER = re.compile(r"^python[0-9.]*$")  # the base name of an interpreter


def test_every_program_the_lab_runs_uses_the_recorded_interpreter(
    eks: Cluster, tmp_path: Path
) -> None:
    """A bare ``python3`` (tests/lab/test_lab_differential.py had one) runs whatever
    interpreter is on PATH, which may not have netfence: every command the lab plans
    must name the interpreter ``up`` was given (by default the one running netfence)."""
    root = tmp_path / "lab"
    python = "/opt/some-venv/bin/python3.12"
    runner = recording(FakeHost())

    def agents(plan: LabPlan) -> None:
        with pytest.raises(EnvironmentProblem, match="did not enforce"):
            enforce.start(eks, plan, (), root, runner=runner, timeout=0)

    lab.up(eks, root, runner=runner, python=python, after=agents)
    spawned = [c.argv for c in runner.calls if c.kind == "spawn"]
    assert len(spawned) == 14  # 12 servers and 2 node agents
    named = [arg for call in runner.calls for arg in call.argv if INTERPRETER.match(Path(arg).name)]
    assert named == [python] * 14
    assert lab.python_argv("netfence.lab.probe", "tcp:x:1", lab_dir=root) == (
        python, "-m", "netfence.lab.probe", "tcp:x:1",
    )  # fmt: skip
    record = lab.load_record(lab.LabPaths(root))
    assert record is not None and record.interpreter == python
    lab.down(root, runner=recording(FakeHost()))
    default = lab.up(eks, root, runner=recording(FakeHost()))  # no python given
    assert lab.python_argv("x", lab_dir=root)[0] == sys.executable and default.lab_id


def test_no_bare_interpreter_in_the_lab_or_its_tests() -> None:
    """The same mistake in code that builds argv by hand: a quoted interpreter name."""
    repo = Path(__file__).resolve().parents[2]
    quoted = re.compile(r"""["']python[0-9.]*["']""")
    sources = [
        *sorted((repo / "src" / "netfence" / "lab").glob("*.py")),
        repo / "src" / "netfence" / "cli" / "lab.py",
        *sorted((repo / "tests" / "lab").glob("*.py")),
    ]
    found = [
        f"{path.relative_to(repo)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if quoted.search(line)
    ]
    assert found == []


# --- processes: who is stopped, and signals during up -------------------------------------


def test_a_spawned_process_shows_its_command_line_at_once(tmp_path: Path) -> None:
    # Popen returns before the kernel has set up the new argument area: under load
    # /proc/PID/cmdline read right after it was empty 139 times in 300, and a stop()
    # made then would have said the lab's own process was not its own.
    busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(2)]
    try:
        for round_ in range(40):
            pid = processes.spawn_detached(["sleep", "30"], tmp_path / f"sleep{round_}.log")
            try:
                assert processes.cmdline(pid) == "sleep 30"
            finally:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()


def test_stop_spares_a_process_that_is_not_the_one_recorded(tmp_path: Path) -> None:
    pid = processes.spawn_detached(["sleep", "30"], tmp_path / "sleep.log")
    try:
        start = processes.start_time(pid)
        assert start is not None and processes.alive(pid)
        assert not processes.stop(pid, "sleep 30", start + 1)  # a reused PID: not ours
        assert not processes.stop(pid, "other marker", start)
        assert processes.alive(pid)
        assert processes.stop(pid, "sleep 30", start)
        assert not processes.alive(pid) and processes.start_time(pid) is None
    finally:
        if processes.alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_signals_become_interrupted_but_wait_for_a_critical_step() -> None:
    before = signal.getsignal(signal.SIGTERM)
    steps = []
    with pytest.raises(processes.Interrupted) as raised, processes.interruptible():
        with processes.critical():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("step and record both done")
        steps.append("never here")
    assert raised.value.signum == signal.SIGTERM and steps == ["step and record both done"]
    with pytest.raises(processes.Interrupted) as raised, processes.interruptible():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)  # the handler raises at once
    assert raised.value.name == "SIGINT"
    with processes.interruptible():  # a second signal during the clean-up is only noted
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        except processes.Interrupted:
            with processes.critical():
                os.kill(os.getpid(), signal.SIGTERM)
                steps.append("clean-up finished")
    assert steps[-1] == "clean-up finished"
    assert signal.getsignal(signal.SIGTERM) == before  # handlers restored


def test_policy_file_names_stay_in_the_policy_directory(tmp_path: Path) -> None:
    """``lab apply`` names a file after each policy's namespace and name: whatever
    validation lets by, the file is in desired/policies and two policies never share one."""
    paths = lab.LabPaths(tmp_path / "lab")
    hostile = ["../../../../x/daemon", "/etc/cron.d/x", "..", "a_b", "A", "nöde", "p" * 300, ""]
    pairs = [(ns, name) for ns in ["default", "../..", "a.b", *hostile] for name in hostile]
    files = set()
    for ns, name in pairs:
        doc = RawDocument(
            Source("t", 1), {"kind": "NetworkPolicy", "metadata": {"namespace": ns, "name": name}}
        )
        path = enforce._policy_path(paths, doc)
        assert path.parent == paths.desired_dir / "policies" and path.name.endswith(".yaml")
        assert paths.inside(path).startswith("desired/policies/") and len(path.name) < 255
        files.add(path.name)
    assert len(files) == len(pairs)
