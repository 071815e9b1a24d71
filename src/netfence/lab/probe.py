"""Probe many destinations at once from inside a lab pod: real sockets.

    python -m netfence.lab.probe --timeout 0.6 tcp:10.244.0.3:80 udp:[fd00::4]:82 ...

Prints one JSON object: {"tcp:10.244.0.3:80": true, ...}; IPv6 addresses are
written in brackets. TCP: the connection is accepted. UDP: the echo server
answers the datagram. DNS (``dns:HOST:PORT``): a query over UDP is answered
(the lab's DNS server, whatever the answer says). TCP to a port nothing
listens on (``tcp-any:HOST:PORT``): the SYN reached the pod if its kernel answers
with a reset (connection refused); a policy's drop times out, its reject is an
ICMP error, never a reset. SCTP: the INIT is answered with INIT ACK
(``netfence.lab.sctp``, raw sockets). Every probe runs in its own thread, so a
scenario's probes take about one timeout in all.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Sequence

from netfence.lab import sctp


def parse_spec(spec: str) -> tuple[str, str, int]:
    """``PROTO:HOST:PORT`` → (proto, host, port); HOST may be ``[IPv6]``."""
    protocol, _, rest = spec.partition(":")
    host, _, port = rest.rpartition(":")
    return protocol, host.removeprefix("[").removesuffix("]"), int(port)


def probe(spec: str, timeout: float) -> bool:
    protocol, host, port = parse_spec(spec)
    if protocol == "sctp":
        return sctp.probe(host, port, timeout)
    if protocol == "dns":
        return dns_probe(host, port, timeout)
    if protocol == "tcp-any":
        return tcp_reached(host, port, timeout)
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        try:
            if protocol == "tcp":
                sock.connect((host, port))
                return True
            sock.sendto(b"netfence-probe", (host, port))
            return sock.recvfrom(2048)[0] == b"netfence-probe"
        except OSError:
            return False


def tcp_reached(host: str, port: int, timeout: float) -> bool:
    """Accepted, or refused by the destination itself (a reset: nothing listens)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
        return True


def dns_probe(host: str, port: int, timeout: float) -> bool:
    """A UDP query (type A, class IN) for ``netfence-probe.``: any reply with its id."""
    from netfence.lab import dns  # only here: every prober imports this module

    ident = int.from_bytes(os.urandom(2), "big")
    query = dns.query_message("netfence-probe.", ident=ident)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(query, (host, port))
            reply = sock.recvfrom(4096)[0]
        except OSError:
            return False
    return len(reply) >= 2 and int.from_bytes(reply[:2], "big") == ident


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
