"""Probe many destinations at once from inside a lab pod: real sockets.

    python -m netfence.lab.probe --timeout 0.6 tcp:10.244.0.3:80 udp:10.244.0.4:82 ...

Prints one JSON object: {"tcp:10.244.0.3:80": true, ...}. TCP: the connection is
accepted. UDP: the echo server answers the datagram. Every probe runs in its own
thread, so a scenario's probes take about one timeout in all.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Sequence


def probe(spec: str, timeout: float) -> bool:
    protocol, host, port = spec.split(":")
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.settimeout(timeout)
        try:
            if protocol == "tcp":
                sock.connect((host, int(port)))
                return True
            sock.sendto(b"netfence-probe", (host, int(port)))
            return sock.recvfrom(2048)[0] == b"netfence-probe"
        except OSError:
            return False


def probe_all(specs: Sequence[str], timeout: float) -> dict[str, bool]:
    results: dict[str, bool] = {}

    def run(spec: str) -> None:
        results[spec] = probe(spec, timeout)

    threads = [threading.Thread(target=run, args=(s,)) for s in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main(argv: Sequence[str]) -> None:
    timeout = 0.6
    if len(argv) >= 2 and argv[0] == "--timeout":
        timeout, argv = float(argv[1]), argv[2:]
    print(json.dumps(probe_all(argv, timeout)))


if __name__ == "__main__":
    main(sys.argv[1:])
