"""lab up / down / exec / status through the recording runner: the command sequences,
the state files, cleanup on failure. No root, no namespaces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netfence.errors import EnvironmentProblem, TargetError
from netfence.io.cluster import load_cluster
from netfence.io.netns import Completed, RecordingRunner
from netfence.lab import lab
from netfence.model.cluster import Cluster

SCENARIO = Path(__file__).resolve().parents[2] / "src" / "netfence" / "scenarios" / "eks-retail"


@pytest.fixture(scope="module")
def eks() -> Cluster:
    return load_cluster([], [str(SCENARIO / "cluster")]).cluster


class FakeHost:
    """``ip netns`` as a dict: netns add/del batches change it; list prints it."""

    def __init__(self, existing: list[str] | None = None, fail_on: str | None = None) -> None:
        self.netns = set(existing or [])
        self.fail_on = fail_on

    def __call__(self, argv: tuple[str, ...], stdin: str | None) -> Completed | None:
        if self.fail_on and self.fail_on in " ".join(argv):
            return Completed(argv, 1, "", "Error: something went wrong")
        if argv == ("ip", "netns", "list"):
            return Completed(argv, 0, "".join(f"{n} (id: 1)\n" for n in sorted(self.netns)), "")
        if argv[:2] in (("ip", "-batch"), ("ip", "-force")):
            self._batch(stdin)
        return None

    def _batch(self, stdin: str | None) -> None:
        for line in (stdin or "").splitlines():
            words = line.split()
            if words[:2] == ["netns", "add"]:
                self.netns.add(words[2])
            elif words[:2] == ["netns", "del"]:
                self.netns.discard(words[2])


def recording(host: FakeHost) -> RecordingRunner:
    return RecordingRunner(respond=host)


def kinds(runner: RecordingRunner) -> list[str]:
    return [c.kind for c in runner.calls]


def test_up_runs_the_plan_then_starts_and_awaits_servers(eks: Cluster, tmp_path: Path) -> None:
    host = FakeHost()
    runner = recording(host)
    plan = lab.up(eks, tmp_path / "lab", runner=runner, python="/py")
    lines = runner.commands()
    assert lines[0] == "run: ip netns list"  # the stale-lab sweep comes first
    assert lines[1].startswith("run: ip -batch - << 'netns add ")
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


def test_up_writes_state_that_later_commands_read(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "lab"
    plan = lab.up(eks, root, runner=recording(FakeHost()), python="/py")
    assert lab.load_plan(root) == plan
    assert (
        (root / "resolv" / f"{plan.pod('ui/ui-0').netns}.conf")
        .read_text()
        .startswith(  # type: ignore[union-attr]
            "search ui.svc.cluster.local "
        )
    )
    zone = json.loads((root / "dns.json").read_text())
    assert zone["records"]["catalog.catalog.svc.cluster.local"] == ["172.20.0.3"]
    pids = sorted((root / "run").glob("*.pid"))
    assert len(pids) == 12
    record = json.loads(pids[0].read_text())
    assert plan.lab_id in record["marker"] and record["pid"] > 40000


def test_down_stops_recorded_then_namespace_processes_then_deletes(
    eks: Cluster, tmp_path: Path
) -> None:
    root = tmp_path / "lab"
    host = FakeHost()
    plan = lab.up(eks, root, runner=recording(host), python="/py")
    other_lab = ["zz99-ui.ui-0", "zz99_node-a"]
    host.netns |= set(other_lab)
    runner = recording(host)
    report = lab.down(root, runner=runner)
    order = kinds(runner)
    assert order[:12] == ["stop"] * 12  # recorded PIDs first, with their markers
    assert all(plan.lab_id in c.argv[1] for c in runner.calls[:12])
    assert ("run", ("ip", "netns", "pids", plan.nodes[0].netns)) in [
        (c.kind, c.argv) for c in runner.calls
    ]
    assert set(report.deleted) == set(plan.netns_names())
    assert host.netns == set(other_lab)  # another lab's namespaces are not touched
    assert not root.exists()


def test_up_over_a_stale_lab_sweeps_its_namespaces_first(eks: Cluster, tmp_path: Path) -> None:
    root = tmp_path / "lab"
    lab_id = lab.lab_id_for(root)
    host = FakeHost([f"{lab_id}-old.pod-0", f"{lab_id}_node-x", "unrelated"])
    runner = recording(host)
    lab.up(eks, root, runner=runner, python="/py")
    first_delete = next(c for c in runner.calls if c.argv[:2] == ("ip", "-force"))
    assert first_delete.stdin == f"netns del {lab_id}-old.pod-0\nnetns del {lab_id}_node-x\n"
    assert "unrelated" in host.netns and f"{lab_id}_node-x" not in host.netns


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
    record = json.loads((root / "run" / "agent-node-a.pid").read_text())
    assert record == {"pid": pid, "marker": "agent --x"}
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


def test_lab_ids_differ_per_directory(tmp_path: Path) -> None:
    assert lab.lab_id_for(tmp_path / "a") != lab.lab_id_for(tmp_path / "b")
    assert lab.lab_id_for(tmp_path / "a") == lab.lab_id_for(tmp_path / "x" / ".." / "a")
