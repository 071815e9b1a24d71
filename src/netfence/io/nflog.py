"""Packet events out of nftables: ``log group N`` (NFLOG) read by ulogd2.

ulogd2 (Debian packages ``ulogd2`` and ``ulogd2-json``) is netfilter's own
userspace logging daemon: its NFLOG input binds the group, its BASE plugin
decodes the IPv4/IPv6 and TCP/UDP/SCTP headers, and its JSON output writes one
object a line to a Unix socket this reader listens on. The agent starts it as a
child (``ulogd -c <generated config>``, in the agent's network namespace, with a
parent-death signal so it never outlives the agent) and reads its lines.

Also here: ``RecordFile`` (the audit records, JSON lines, size-capped with one
rotated file) and ``over_limit`` (the nft counter of events the rate limit left
out).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from netfence.errors import EnvironmentProblem

MAX_LINE = 65_536  # a ulogd JSON line is about 1 KiB; longer ones are cut off and skipped
MAX_QUEUED = 100_000  # lines read, not yet handled (about 100 MB at most)
NETLINK_BUFFER = 8 << 20  # bytes: several thousand events of ~300 bytes
PLUGINS = ("inppkt_NFLOG", "raw2packet_BASE", "filter_IP2STR", "output_JSON")


@dataclass(frozen=True, slots=True)
class NflogEvent:
    """One logged packet: the log prefix and the 5-tuple."""

    prefix: str
    protocol: int  # IANA number: 6 TCP, 17 UDP, 132 SCTP
    src: str
    dst: str
    src_port: int
    dst_port: int
    time: float  # unix seconds


def parse_ulogd_json(line: str) -> NflogEvent | None:
    """An event from one line of ulogd's JSON output (None: no prefix, addresses or
    protocol, or not readable). Ports ulogd did not decode are 0: ulogd 2.0.8's
    BASE decodes SCTP ports over IPv4 but not over IPv6."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    prefix, src, dst = obj.get("oob.prefix"), obj.get("src_ip"), obj.get("dest_ip")
    protocol = obj.get("ip.protocol")
    if not (isinstance(prefix, str) and isinstance(src, str) and isinstance(dst, str)):
        return None
    if not isinstance(protocol, int):
        return None
    sport, dport = (_port(obj.get(k)) for k in ("src_port", "dest_port"))
    return NflogEvent(prefix, protocol, src, dst, sport, dport, _time(obj))


def _port(value: object) -> int:
    return value if isinstance(value, int) and 0 <= value <= 65535 else 0


def _time(obj: dict[str, Any]) -> float:
    sec, usec = obj.get("oob.time.sec"), obj.get("oob.time.usec")
    if isinstance(sec, int) and isinstance(usec, int):
        return sec + usec / 1e6
    return time.time()


def plugin_dir() -> str:
    """Where ulogd2's plugins are (Debian: /usr/lib/<triplet>/ulogd)."""
    for pattern in ("/usr/lib/*/ulogd", "/usr/lib/ulogd", "/usr/lib64/ulogd"):
        for found in sorted(glob.glob(pattern)):
            if os.path.exists(os.path.join(found, "ulogd_inppkt_NFLOG.so")):
                return found
    raise EnvironmentProblem(
        "ulogd2 is not installed (apt-get install ulogd2 ulogd2-json): audit mode reads "
        "NFLOG through it"
    )


def ulogd_config(group: int, socket_path: str, log_path: str, plugins: str) -> str:
    """NFLOG group → BASE (headers) → IP2STR (addresses as text) → JSON (socket)."""
    lines = ["[global]", f'logfile="{log_path}"', "loglevel=5"]
    lines += [f'plugin="{plugins}/ulogd_{name}.so"' for name in PLUGINS]
    lines += [
        "stack=log1:NFLOG,base1:BASE,ip2str1:IP2STR,json1:JSON",
        "",
        "[log1]",
        f"group={group}",
        # room for a burst: the kernel drops what does not fit in the socket
        f"netlink_socket_buffer_size={NETLINK_BUFFER}",
        f"netlink_socket_buffer_maxsize={4 * NETLINK_BUFFER}",
        "",
        "[json1]",
        "sync=1",
        'mode="unix"',
        f'file="{socket_path}"',
        "",
    ]
    return "\n".join(lines)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """PR_SET_PDEATHSIG: the child gets SIGTERM when the agent dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)


class UlogdReader:
    """Runs ulogd2 on ``group`` and hands each event to ``on_event`` (in a thread).
    ulogd is started again (at most once a second) if it exits."""

    def __init__(
        self,
        group: int,
        workdir: Path,
        on_event: Callable[[NflogEvent], None],
        log: Callable[[str], None] = lambda line: None,
        netns: str | None = None,
    ) -> None:
        self.group, self.workdir, self.on_event, self.log = group, workdir, on_event, log
        self.netns = netns  # run ulogd there (ip netns exec); the socket is a path
        self.socket_path = str(workdir / "ulogd.sock")
        self._proc: subprocess.Popen[bytes] | None = None
        self._server: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.dropped = 0  # lines read but not handled: the queue was full

    def start(self) -> None:
        plugins = plugin_dir()
        self.workdir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.socket_path)
        server.listen(2)
        server.settimeout(0.5)
        self._server = server
        config = self.workdir / "ulogd.conf"
        log_path = str(self.workdir / "ulogd.log")
        config.write_text(ulogd_config(self.group, self.socket_path, log_path, plugins))
        self._spawn(config)
        for target in (self._accept, lambda: self._supervise(config)):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _spawn(self, config: Path) -> None:
        try:
            argv = ["ulogd", "-c", str(config)]
            if self.netns:
                argv = ["ip", "netns", "exec", self.netns, *argv]
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,  # (only prctl in the child)
            )
        except OSError as exc:
            raise EnvironmentProblem(f"cannot start ulogd: {exc}") from None

    def _supervise(self, config: Path) -> None:
        while not self._stop.wait(1.0):
            proc = self._proc
            if proc is not None and proc.poll() is not None:
                self.log(f"warning: audit: ulogd exited ({proc.returncode}); starting it again")
                with contextlib.suppress(EnvironmentProblem):
                    self._spawn(config)

    def _accept(self) -> None:
        assert self._server is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._read, args=(conn,), daemon=True)
            thread.start()

    def _read(self, conn: socket.socket) -> None:
        """Lines off the socket as fast as they come (ulogd drops what it cannot
        write); another thread decodes them and hands the events on."""
        lines: queue.Queue[bytes | None] = queue.Queue(maxsize=MAX_QUEUED)
        handler = threading.Thread(target=self._handle, args=(lines,), daemon=True)
        handler.start()
        buffer = b""
        with conn:
            conn.settimeout(0.5)
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(1 << 20)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                if len(buffer) > MAX_LINE:
                    buffer = b""  # no line is that long: drop it
                for line in complete:
                    try:
                        lines.put_nowait(line)
                    except queue.Full:
                        self.dropped += 1  # said in the agent's stats
        lines.put(None)

    def _handle(self, lines: queue.Queue[bytes | None]) -> None:
        while (line := lines.get()) is not None:
            event = parse_ulogd_json(line.decode("utf-8", "replace"))
            if event is not None:
                self.on_event(event)

    def stop(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=3)
        if self._server is not None:
            self._server.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)


class RecordFile:
    """JSON lines appended to ``path``; when it would pass ``max_bytes`` it is
    renamed to ``path.1`` (replacing the older one) and a new file is begun: at
    most twice ``max_bytes`` on disk. Thread-safe."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path, self.max_bytes = path, max_bytes
        self._lock = threading.Lock()
        self._out: BinaryIO | None = None
        self._size = 0
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, separators=(",", ":")) + "\n").encode()
        with self._lock:
            if self._out is None:
                self._out = self.path.open("ab")
                self._size = self._out.tell()
            if self._size and self._size + len(line) > self.max_bytes:
                self._out.close()
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
                self._out, self._size = self.path.open("ab"), 0
            self._out.write(line)
            self._out.flush()
            self._size += len(line)

    def close(self) -> None:
        with self._lock:
            if self._out is not None:
                self._out.close()
                self._out = None


def over_limit(table: str, counter: str, netns: str | None = None) -> int | None:
    """Packets the named counter has seen (None: it cannot be read)."""
    argv = ["nft", "-j", "list", "counter", "inet", table, counter]
    if netns:
        argv = ["ip", "netns", "exec", netns, *argv]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        items = json.loads(done.stdout).get("nftables", []) if done.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    for item in items:
        found = item.get("counter") if isinstance(item, dict) else None
        if isinstance(found, dict) and isinstance(found.get("packets"), int):
            return int(found["packets"])
    return None
