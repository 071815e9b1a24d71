"""The servers of one lab pod: ``python -m netfence.lab.servers [options] SPEC...``.

One process per pod serves all its ports, one thread per listener (and per
connection). SPEC is ``KIND:PORT`` (``netfence.lab.plan.ServerSpec``):

- ``http:PORT``: HTTP/1.1; ``GET /health`` → ``OK`` (the workshop's catalog
  answer), any other path → one line naming the pod and port.
- ``tcp:PORT``: sends a greeting line (``netfence-lab NAME PORT/TCP``, e.g. for
  mysql), then echoes what it receives until the client closes (or 30 s idle).
- ``udp:PORT``: echoes each datagram.
- ``sctp:PORT``: as tcp, over SCTP; when the kernel has no SCTP sockets
  ("Protocol not supported"), a raw-socket responder answers INIT with INIT ACK
  instead (``netfence.lab.sctp``); skipped with a note on stderr when raw
  sockets fail too.
- ``dns:PORT``: the lab DNS (``netfence.lab.dns``) on UDP and TCP, with --records.

With ``--ipv6`` (a dual-stack lab) the HTTP, TCP, UDP and SCTP listeners take
IPv6 and IPv4 on one socket (``::`` with ``IPV6_V6ONLY`` off); the DNS stays IPv4.

Every listener is bound before ``--ready FILE`` is written (atomically), so the
lab starts probing only when all ports listen. SIGTERM ends the process. The
``--lab ID`` argument marks the process as its lab's, for cleanup.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import signal
import socket
import socketserver
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from netfence.lab import sctp
from netfence.lab.dns import DNSTCPServer, DNSUDPServer, Zone

IDLE_SECONDS = 30.0
ANY = "0.0.0.0"  # inside the pod's namespace: its own address and lo, nothing else
ANY6 = "::"  # the same, IPv6 and IPv4 (dual stack)


class _Named:
    """Mixin: what the handlers say about themselves; and a real listen backlog.
    socketserver's default of 5 overflows under a burst of connects (the kernel
    then drops the SYN and the client retries after 1 s, which a probe with a
    shorter timeout reads as "denied"; bench/iperf.py measured 15 % of sequential
    connects stalled that way)."""

    pod_name = "?"
    port = 0
    request_queue_size = 1024


class _HTTPHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "netfence-lab"
    sys_version = ""

    def do_GET(self) -> None:
        self._reply(head=False)

    def do_HEAD(self) -> None:
        self._reply(head=True)

    def _reply(self, head: bool) -> None:
        server: _Named = self.server  # type: ignore[assignment]
        if self.path.split("?")[0] == "/health":
            body = b"OK"
        else:
            body = f"netfence-lab {server.pod_name} {server.port}/TCP {self.path}\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"http {self.client_address[0]} {format % args}\n")


class _GreetingHandler(socketserver.StreamRequestHandler):
    timeout = IDLE_SECONDS

    def handle(self) -> None:
        server: _Named = self.server  # type: ignore[assignment]
        proto = getattr(self.server, "proto_name", "TCP")
        self.wfile.write(f"netfence-lab {server.pod_name} {server.port}/{proto}\r\n".encode())
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except (TimeoutError, ConnectionError):
            return


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(data, self.client_address)


class HTTPServer(_Named, http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class TCPServer(_Named, socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proto_name = "TCP"


class SCTPServer(TCPServer):
    """A one-to-one (SOCK_STREAM) SCTP socket behaves like TCP for a server."""

    proto_name = "SCTP"

    def __init__(self, address: tuple[str, int], handler: type[_GreetingHandler]) -> None:
        super().__init__(address, handler, bind_and_activate=False)
        self.socket.close()
        self.socket = socket.socket(self.address_family, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server_bind()
        self.server_activate()


class UDPServer(_Named, socketserver.UDPServer):
    pass


def _named(server: _Named, name: str, port: int) -> None:
    server.pod_name, server.port = name, port


S = TypeVar("S", bound=socketserver.BaseServer)


def dual_stack(cls: type[S]) -> type[S]:
    """``cls`` on one IPv6 socket that takes IPv4 as well (IPV6_V6ONLY off)."""

    class DualStack(cls):  # type: ignore[valid-type,misc]
        address_family = socket.AF_INET6

        def server_bind(self) -> None:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            if isinstance(self, http.server.HTTPServer):  # skip its getfqdn("::")
                socketserver.TCPServer.server_bind(self)
                self.server_name, self.server_port = "netfence-lab", self.server_address[1]
            else:
                super().server_bind()

    DualStack.__name__ = f"DualStack{cls.__name__}"
    return DualStack


def start(
    spec: str, name: str, zone: Zone | None, host: str = ANY, ipv6: bool = False
) -> list[socketserver.BaseServer]:
    """Bind the listeners of one SPEC (not yet serving); ``ipv6``: dual stack."""
    kind, _, text = spec.partition(":")
    address = (ANY6 if ipv6 and host == ANY else host, int(text))
    http_server, tcp_server, sctp_server, udp_server = (
        (dual_stack(c) if ipv6 else c) for c in (HTTPServer, TCPServer, SCTPServer, UDPServer)
    )
    factories: dict[str, Callable[[], list[socketserver.BaseServer]]] = {
        "http": lambda: [http_server(address, _HTTPHandler)],
        "tcp": lambda: [tcp_server(address, _GreetingHandler)],
        "sctp": lambda: [sctp_server(address, _GreetingHandler)],
        "udp": lambda: [udp_server(address, _EchoHandler)],
        "dns": lambda: _dns((host, int(text)), zone),
    }
    if kind not in factories:
        raise SystemExit(f"unknown server kind {kind!r} in {spec!r}")
    servers = factories[kind]()
    for server in servers:
        if isinstance(server, _Named):
            _named(server, name, int(text))
    return servers


def _dns(address: tuple[str, int], zone: Zone | None) -> list[socketserver.BaseServer]:
    if zone is None:
        raise SystemExit("dns:PORT needs --records FILE")
    udp = DNSUDPServer(address, zone)
    return [udp, DNSTCPServer((address[0], udp.server_address[1]), zone)]


class Listener(Protocol):
    def serve_forever(self) -> None: ...
    def shutdown(self) -> None: ...
    def server_close(self) -> None: ...


def serve(
    specs: Sequence[str], name: str, zone: Zone | None, host: str = ANY, ipv6: bool = False
) -> tuple[list[Listener], list[str]]:
    """Bind every spec and serve each in a daemon thread: (servers, skipped with reason)."""
    running: list[Listener] = []
    raw_sctp: list[int] = []  # SCTP ports the kernel cannot serve with SCTP sockets
    for spec in specs:
        try:
            servers = start(spec, name, zone, host, ipv6)
        except OSError:
            if not spec.startswith("sctp:"):
                raise
            raw_sctp.append(int(spec.partition(":")[2]))
            continue
        running += servers
    skipped: list[str] = []
    if raw_sctp:
        try:
            running.append(sctp.Responder(raw_sctp, ipv6))
        except OSError as exc:
            skipped += [f"sctp:{port}: {exc.strerror or exc}" for port in raw_sctp]
    for server in running:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return running, skipped


def _write_ready(path: Path, served: list[str], skipped: list[str]) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps({"pid": os.getpid(), "served": served, "skipped": skipped}))
    partial.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netfence.lab.servers")
    parser.add_argument("--lab", required=True, help="the lab id (marks the process)")
    parser.add_argument("--name", required=True, help="NS/POD, for greetings and logs")
    parser.add_argument("--ready", type=Path, help="written once every listener is bound")
    parser.add_argument("--records", type=Path, help="DNS zone (JSON) for dns:PORT")
    parser.add_argument("--ipv6", action="store_true", help="listen on IPv6 and IPv4")
    parser.add_argument("specs", nargs="+", metavar="KIND:PORT")
    args = parser.parse_args(argv)
    zone = Zone.from_json(args.records.read_text()) if args.records else None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    running, skipped = serve(args.specs, args.name, zone, ipv6=args.ipv6)
    served = [s for s in args.specs if not any(note.startswith(f"{s}:") for note in skipped)]
    for note in skipped:
        print(f"{args.name}: not served: {note}", file=sys.stderr, flush=True)
    if args.ready:
        _write_ready(args.ready, served, skipped)
    print(f"{args.name}: serving {' '.join(served)}", file=sys.stderr, flush=True)
    while not stop.wait(1.0):
        pass
    for server in running:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
