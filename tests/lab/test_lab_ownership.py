"""The lab touches only what it made (issue 9, section 4), with real namespaces and
processes. Root only (skipped otherwise, as test_lab_real.py says).

- L1: names from the cluster (node, namespace and pod names) never become paths
  outside the lab directory, however hostile.
- L2: ``lab down`` without a lab record removes nothing.
- L3: SIGTERM or SIGINT during ``lab up``, or a failure after the build, leaves
  nothing of the lab: no namespace, no process, no file.
- Two labs never share a namespace prefix; a namespace that exists is never adopted.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.lab.test_lab_real import REASON, leftovers

from netfence.errors import EnvironmentProblem
from netfence.io import processes
from netfence.lab import enforce, lab
from netfence.model.cluster import Cluster, Namespace, Pod
from netfence.model.labels import Labels
from netfence.model.ports import ContainerPort, Protocol

pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")

HOSTILE_NODES = (
    "../../../../x/daemon",  # the reproducer
    "/tmp/netfence-abs-node",
    "..",
    "nöde-ü\u2028",
    "n" * 300,
)


def small_cluster(
    nodes: tuple[str, ...] = (), pod_names: tuple[tuple[str, str], ...] = ()
) -> Cluster:
    """Model objects, not manifests: the lab must be safe whatever validation lets by."""
    names = pod_names or (("x", "a"), ("x", "b"))
    pods = tuple(
        Pod(
            namespace=ns,
            name=name,
            labels=Labels.of({"app": "t"}),
            ips=(ipaddress.ip_address(f"10.244.0.{10 + i}"),),
            ports=(ContainerPort(port=80, protocol=Protocol.TCP, name="http"),),
            node=nodes[i % len(nodes)] if nodes else None,
        )
        for i, (ns, name) in enumerate(names)
    )
    namespaces = tuple(Namespace(ns, Labels.of({})) for ns in sorted({ns for ns, _ in names}))
    return Cluster(namespaces=namespaces, pods=pods, services=(), nodes=(), policies=())


def all_files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def still_there(record: dict[str, Any]) -> list[str]:
    """Processes of a record that still run as the process that was started."""
    return [
        f"{p['name']} {p['pid']}"
        for p in record["lab"]["processes"]
        if processes.start_time(p["pid"]) == p["start"] and processes.alive(p["pid"])
    ]


# --- L1 ------------------------------------------------------------------------------------


def test_hostile_node_and_pod_names_stay_inside_the_lab_directory(tmp_path: Path) -> None:
    """``spec.nodeName: ../../../../x/daemon`` made ``lab up`` create and truncate
    x/daemon.json, .log and .pid outside the lab directory (L1)."""
    base = tmp_path / "a" / "b" / "c" / "d"
    base.mkdir(parents=True)
    lab_dir = base / "lab"
    pods = (
        ("x", "a"),
        ("x", "../../../../x/pod"),
        ("x", "/tmp/netfence-abs-pod"),
        ("x", "p" * 250),
        ("x", ".."),
    )
    cluster = small_cluster(HOSTILE_NODES, pods)
    record: dict[str, Any] = {}

    def agents(plan: Any) -> None:
        enforce.start(cluster, plan, (), lab_dir)
        record.update(json.loads((lab_dir / "lab.json").read_text()))

    try:
        plan = lab.up(cluster, lab_dir, after=agents)
        assert len(plan.nodes) == len(HOSTILE_NODES)
        assert all_files(tmp_path) == ["a", "a/b", "a/b/c", "a/b/c/d", "a/b/c/d/lab"] + [
            f"a/b/c/d/lab/{f}" for f in all_files(lab_dir)
        ]  # nothing beside the lab directory, nothing above it
        for name in record["lab"]["files"] + record["lab"]["trees"]:
            assert (lab_dir / name).resolve().is_relative_to(lab_dir.resolve()), name
            assert len(Path(name).name) <= 255
        assert not Path("/tmp/netfence-abs-node.json").exists()
        assert sum(p["name"].startswith("agent-") for p in record["lab"]["processes"]) == 5
    finally:
        lab.down(lab_dir)
    assert all_files(tmp_path) == ["a", "a/b", "a/b/c", "a/b/c/d"]
    assert leftovers(lab_dir, record["lab"]["lab_id"]) == [] and still_there(record) == []


# --- L2 ------------------------------------------------------------------------------------


def test_down_in_a_directory_without_a_lab_removes_nothing(tmp_path: Path) -> None:
    """``lab down --lab-dir DIR`` deleted user files matching its globs (L2)."""
    user = [
        "plan.json", "dns.json", "run/app.log", "run/app.pid", "run/app.ready", "run/x.json",
        "run/y.tmp", "resolv/a.conf", "desired/cluster.json", "desired/policies/p.yaml",
    ]  # fmt: skip
    for name in user:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("mine\n")
    done = subprocess.run(
        [sys.executable, "-m", "netfence", "lab", "down", "--lab-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "no lab recorded" in done.stdout and "nothing removed" in done.stdout
    assert [f for f in all_files(tmp_path) if (tmp_path / f).is_file()] == sorted(user)


# --- L3 ------------------------------------------------------------------------------------


def _recorded(lab_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((lab_dir / "lab.json").read_text())  # type: ignore[no-any-return]
    except (OSError, ValueError):
        return None


def _agents(record: dict[str, Any]) -> int:
    return sum(p["name"].startswith("agent-") for p in record["lab"]["processes"])


# each window lasts a few hundred milliseconds; the record is polled every 2 ms
POINTS: dict[str, Callable[[dict[str, Any]], bool]] = {
    "building namespaces": lambda r: bool(r["lab"]["namespaces"]) and not r["lab"]["processes"],
    "starting servers": lambda r: len(r["lab"]["processes"]) >= 3 and not _agents(r),
    "starting agents": lambda r: _agents(r) > 0,
}


@pytest.mark.parametrize(
    ("point", "sig"),
    [
        ("building namespaces", signal.SIGTERM),
        ("starting servers", signal.SIGTERM),
        ("starting agents", signal.SIGTERM),
        ("starting servers", signal.SIGINT),
    ],
)
def test_a_signal_during_up_leaves_nothing(tmp_path: Path, point: str, sig: signal.Signals) -> None:
    """SIGTERM during ``lab up`` left 14 namespaces and 12 processes (L3)."""
    lab_dir = tmp_path / "lab"
    env = {**os.environ, "NETFENCE_LAB_DIR": str(lab_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "netfence", "lab", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen: dict[str, Any] | None = None
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            record = _recorded(lab_dir)
            if record is not None:
                seen = record
                if POINTS[point](record):
                    proc.send_signal(sig)
                    break
            time.sleep(0.002)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if lab_dir.exists():
            lab.down(lab_dir)  # only if the test failed: never leave a lab behind
    assert seen is not None and POINTS[point](seen), f"never reached {point}: {seen}"
    assert proc.returncode == 128 + sig, (proc.returncode, out, err)
    assert f"interrupted by {sig.name}; removed everything it had built" in err
    left = sorted(str(f.relative_to(tmp_path)) for f in tmp_path.rglob("*"))
    assert left == [], left
    lab_id = seen["lab"]["lab_id"]
    assert leftovers(lab_dir, lab_id) == [] and still_there(seen) == []
    agents = [line for line in _cmdlines() if str(lab_dir) in line]
    assert agents == []


def _cmdlines() -> list[str]:
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
    return lines


def test_agents_that_never_become_ready_are_taken_down_with_the_lab(tmp_path: Path) -> None:
    """A failure after the build (here: no time for the agents to enforce) was
    outside the clean-up (L3)."""
    lab_dir = tmp_path / "lab"
    cluster = small_cluster()
    record: dict[str, Any] = {}

    def agents(plan: Any) -> None:
        try:
            enforce.start(cluster, plan, (), lab_dir, timeout=0)
        finally:
            record.update(json.loads((lab_dir / "lab.json").read_text()))

    with pytest.raises(EnvironmentProblem, match="did not enforce"):
        lab.up(cluster, lab_dir, after=agents)
    assert sum(p["name"].startswith("agent-") for p in record["lab"]["processes"]) == 2
    assert not lab_dir.exists()
    assert leftovers(lab_dir, record["lab"]["lab_id"]) == [] and still_there(record) == []


# --- prefixes ------------------------------------------------------------------------------


def test_two_labs_have_their_own_prefixes_and_down_of_one_keeps_the_other(
    tmp_path: Path,
) -> None:
    cluster = small_cluster()
    first_dir, second_dir = tmp_path / "one", tmp_path / "two"
    try:
        first = lab.up(cluster, first_dir)
        second = lab.up(cluster, second_dir)
        assert first.lab_id != second.lab_id
        assert not set(first.netns_names()) & set(second.netns_names())
        lab.down(second_dir)
        assert leftovers(second_dir, second.lab_id) == []
        assert lab.status(first_dir).healthy
        done = lab.run_in("x/a", ["curl", "-s", f"http://{first.pod('x/b').ip}/health"], first_dir)  # type: ignore[union-attr]
        assert done.stdout == "OK"
    finally:
        lab.down(first_dir)
        lab.down(second_dir)
    assert list(tmp_path.iterdir()) == []


def test_a_namespace_that_exists_is_refused_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced onto a prefix in use (up never chooses one itself), up must fail on the
    existing namespace, not adopt it, and not delete it."""
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    lab_id = next(
        i for i in ("nf" + secrets.token_hex(3) for _ in range(100)) if f"\n{i}" not in f"\n{names}"
    )
    theirs = f"{lab_id}-x.b"
    monkeypatch.setattr(lab, "_new_lab_id", lambda runner: lab_id)
    subprocess.run(["ip", "netns", "add", theirs], check=True)
    try:
        with pytest.raises(EnvironmentProblem, match="already exists and is not this lab's"):
            lab.up(small_cluster(), tmp_path / "lab")
        listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert [line.split()[0] for line in listing.splitlines() if lab_id in line] == [theirs]
        assert list(tmp_path.iterdir()) == []
    finally:
        subprocess.run(["ip", "netns", "del", theirs], check=False)
