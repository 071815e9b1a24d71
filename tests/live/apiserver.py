"""A recorded-response Kubernetes API server on loopback, for the live reader's tests.

It answers GET requests from JSON files laid out like the API's paths
(``/apis/apps/v1/deployments`` → ``apis/apps/v1/deployments.json``, ``/apis`` →
``apis.json``; ``?continue=T`` → ``<resource>@T.json``). A path without a file
gets the 404 Status the API server sends. A file holding a ``Status`` is sent with
its ``code``. ``overrides`` (always) and ``once`` (for the next request only) answer
a path, or ``path?continue=T``, with another file. Requests without the
kubeconfig's bearer token get a 401. Every request is recorded.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TOKEN = "fixture-token"
NOT_FOUND = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "the server could not find the requested resource",
    "reason": "NotFound",
    "details": {},
    "code": 404,
}


@dataclass
class Recorded:
    root: Path
    overrides: dict[str, Path] = field(default_factory=dict)
    once: dict[str, Path] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(
        self, path: str, query: dict[str, str], authorization: str | None
    ) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append((path, query))
            key = f"{path}?continue={query['continue']}" if query.get("continue") else path
            file = self.once.pop(key, None) or self.overrides.get(key)
        if authorization != f"Bearer {TOKEN}":
            file = FIXTURES / "status" / "unauthorized.json"
        if file is None:
            name = path.strip("/") + (f"@{query['continue']}" if query.get("continue") else "")
            file = self.root / f"{name}.json"
        if not file.is_file():
            return 404, json.dumps(NOT_FOUND).encode()
        body = file.read_bytes()
        try:
            decoded = json.loads(body)
        except ValueError:  # a broken answer, sent as it is
            return 200, body
        code = decoded.get("code", 500) if decoded.get("kind") == "Status" else 200
        return code, body

    def lists(self, path: str) -> list[dict[str, str]]:
        """The queries of every request for ``path``, in order."""
        return [q for p, q in self.requests if p == path]


@dataclass
class ApiServer:
    recorded: Recorded
    url: str
    kubeconfig: Path


def _handler(recorded: Recorded) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            code, body = recorded.answer(parts.path, query, self.headers.get("Authorization"))
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler


def write_kubeconfig(path: Path, url: str, refused_url: str) -> None:
    """Contexts ``fixture`` (current, the recorded server) and ``refused`` (a loopback
    port where nothing listens)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "recorded", "cluster": {"server": url}},
            {"name": "refused", "cluster": {"server": refused_url}},
        ],
        "users": [{"name": "reader", "user": {"token": TOKEN}}],
        "contexts": [
            {"name": "fixture", "context": {"cluster": "recorded", "user": "reader"}},
            {"name": "refused", "context": {"cluster": "refused", "user": "reader"}},
        ],
        "current-context": "fixture",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")


@contextmanager
def serve(root: Path, directory: Path) -> Iterator[ApiServer]:
    """The server on 127.0.0.1 (a free port) and a kubeconfig for it; both gone after."""
    recorded = Recorded(root)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorded))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    refused = socket.socket()  # bound, never listening: connecting is refused
    try:
        refused.bind(("127.0.0.1", 0))
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        kubeconfig = directory / "kubeconfig"
        write_kubeconfig(kubeconfig, url, f"http://127.0.0.1:{refused.getsockname()[1]}")
        yield ApiServer(recorded, url, kubeconfig)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        refused.close()
