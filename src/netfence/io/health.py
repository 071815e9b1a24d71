"""A small HTTP server for probes and metrics, on the standard library's http.server
in a daemon thread: ``GET <path>`` answers what the handler for that path says."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from netfence.errors import EnvironmentProblem

# path → () → (HTTP status, content type, body)
Handler = Callable[[], tuple[int, str, str]]


class HealthServer:
    def __init__(self, host: str, port: int, handlers: Mapping[str, Handler]) -> None:
        routes = dict(handlers)

        class _Request(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                handler = routes.get(self.path.partition("?")[0])
                if handler is None:
                    status, kind, body = 404, "text/plain", "not found\n"
                else:
                    try:
                        status, kind, body = handler()
                    except Exception as exc:  # a probe must answer, whatever happened
                        status, kind, body = 500, "text/plain", f"{exc!r}\n"
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass  # probes every few seconds would flood the agent's log

        server_class = _Server6 if ":" in host else ThreadingHTTPServer
        try:
            self._server = server_class((host, port), _Request)
        except OSError as exc:
            raise EnvironmentProblem(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="health", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) → (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r}: expected HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)
