"""The lab DNS (wire format, pure) and the in-pod servers (on 127.0.0.1 only)."""

from __future__ import annotations

import http.client
import socket
import struct
from collections.abc import Iterator

import pytest

from netfence.lab import servers
from netfence.lab.dns import (
    FORMERR,
    NOERROR,
    NOTIMP,
    NXDOMAIN,
    Zone,
    _read_name,
    describe,
    query_message,
    respond,
)

ZONE = Zone(
    {
        "catalog.catalog.svc.cluster.local": ("172.20.0.3",),
        "www.example.com": ("203.0.113.10",),
        "multi.default.svc.cluster.local": ("172.20.0.8", "172.20.0.9"),
        "dual.default.svc.cluster.local": ("172.20.0.7", "fd00:20::7"),
    }
)
AAAA = 28


def rcode(reply: bytes | None) -> int:
    assert reply is not None
    return reply[3] & 0xF


def answers(reply: bytes | None) -> list[str]:
    """The addresses of a reply whose answers are all ``pointer, A, IN, ttl, 4, ip``
    or ``pointer, AAAA, IN, ttl, 16, ip``."""
    assert reply is not None
    count = struct.unpack_from("!H", reply, 6)[0]
    end = reply.index(b"\x00", 12) + 5  # after the question
    found = []
    for _ in range(count):
        ptr, rtype, _cls, ttl, size = struct.unpack_from("!HHHIH", reply, end)
        assert (ptr, rtype, size, ttl) in ((0xC00C, 1, 4, 5), (0xC00C, AAAA, 16, 5))
        family = socket.AF_INET if rtype == 1 else socket.AF_INET6
        found.append(socket.inet_ntop(family, reply[end + 12 : end + 12 + size]))
        end += 12 + size
    return found


@pytest.mark.parametrize(
    ("name", "qtype", "code", "ips"),
    [
        ("catalog.catalog.svc.cluster.local", 1, NOERROR, ["172.20.0.3"]),
        ("CATALOG.Catalog.svc.cluster.local.", 1, NOERROR, ["172.20.0.3"]),
        ("www.example.com", 1, NOERROR, ["203.0.113.10"]),
        ("multi.default.svc.cluster.local", 1, NOERROR, ["172.20.0.8", "172.20.0.9"]),
        ("catalog.catalog.svc.cluster.local", AAAA, NOERROR, []),  # NODATA, at once
        ("dual.default.svc.cluster.local", 1, NOERROR, ["172.20.0.7"]),
        ("dual.default.svc.cluster.local", AAAA, NOERROR, ["fd00:20::7"]),
        ("dual.default.svc.cluster.local", 255, NOERROR, ["172.20.0.7", "fd00:20::7"]),
        ("catalog.catalog.ui.svc.cluster.local", 1, NXDOMAIN, []),  # the ndots:5 first try
        ("catalog.catalog.ui.svc.cluster.local", AAAA, NXDOMAIN, []),
        ("svc.cluster.local", 1, NOERROR, []),  # an empty non-terminal exists
        ("example.org", 1, NXDOMAIN, []),
    ],
)
def test_answers(name: str, qtype: int, code: int, ips: list[str]) -> None:
    reply = respond(query_message(name, qtype, ident=0xBEEF), ZONE)
    assert reply is not None
    ident, flags = struct.unpack_from("!HH", reply)
    assert ident == 0xBEEF and flags & 0x8000 and flags & 0x0400 and flags & 0x0100  # QR AA RD
    assert rcode(reply) == code
    assert answers(reply) == ips


def test_compressed_names() -> None:
    message = b"\x00" * 12 + b"\x07Example\x03com\x00" + b"\x03www\xc0\x0c"
    assert _read_name(message, 12) == ("example.com", 25)
    assert _read_name(message, 25) == ("www.example.com", 31)


@pytest.mark.parametrize(
    ("message", "result"),
    [
        (b"\x00" * 5, None),  # shorter than a header: ignored
        (query_message("a.b")[:2] + b"\x80\x00" + query_message("a.b")[4:], None),  # a response
        (query_message("a.b")[:-3], FORMERR),  # truncated question
        (query_message("a.b")[:4] + b"\x00\x02" + query_message("a.b")[6:], FORMERR),  # 2 qs
        (query_message("a.b")[:12] + b"\xc0\x0c" + b"\x00\x01\x00\x01", FORMERR),  # loop
        (query_message("a.b")[:2] + b"\x10\x00" + query_message("a.b")[4:], NOTIMP),  # IQUERY
    ],
)
def test_malformed_and_unsupported(message: bytes, result: int | None) -> None:
    reply = respond(message, ZONE)
    assert (reply if result is None else rcode(reply)) == result


def test_log_line() -> None:
    query = query_message("nope.ui.svc.cluster.local")
    assert describe(query, respond(query, ZONE)) == "nope.ui.svc.cluster.local A NXDOMAIN 0 answers"


def test_zone_from_json() -> None:
    zone = Zone.from_json('{"ttl": 7, "records": {"A.Example.": ["192.0.2.1"]}}')
    assert zone.records == {"a.example": ("192.0.2.1",)} and zone.ttl == 7
    assert zone.exists("example") and not zone.exists("b.example")


# --- the servers, on loopback --------------------------------------------------------------


@pytest.fixture(scope="module")
def running() -> Iterator[dict[str, int]]:
    """http, tcp, udp and dns servers on 127.0.0.1, ephemeral ports."""
    started, _ = servers.serve(
        ["http:0", "tcp:0", "udp:0", "dns:0"], "ns/pod-0", ZONE, host="127.0.0.1"
    )
    ports = {}
    for server, kind in zip(started, ["http", "tcp", "udp", "dns-udp", "dns-tcp"], strict=True):
        ports[kind] = server.server_address[1]  # type: ignore[index]
    yield ports
    for server in started:
        server.shutdown()
        server.server_close()


def test_http_health_and_other_paths(running: dict[str, int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", running["http"], timeout=5)
    conn.request("GET", "/health")
    assert conn.getresponse().read() == b"OK"
    conn.request("GET", "/x")
    assert conn.getresponse().read() == b"netfence-lab ns/pod-0 0/TCP /x\n"


def test_tcp_greets_then_echoes(running: dict[str, int]) -> None:
    with socket.create_connection(("127.0.0.1", running["tcp"]), timeout=5) as sock:
        assert sock.recv(100) == b"netfence-lab ns/pod-0 0/TCP\r\n"
        sock.sendall(b"ping")
        assert sock.recv(100) == b"ping"


def test_udp_echo(running: dict[str, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(b"hello", ("127.0.0.1", running["udp"]))
        assert sock.recvfrom(100)[0] == b"hello"


def test_dns_over_udp_and_tcp(running: dict[str, int]) -> None:
    query = query_message("catalog.catalog.svc.cluster.local")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(query, ("127.0.0.1", running["dns-udp"]))
        assert answers(sock.recvfrom(512)[0]) == ["172.20.0.3"]
    assert running["dns-tcp"] == running["dns-udp"]
    with socket.create_connection(("127.0.0.1", running["dns-tcp"]), timeout=5) as sock:
        for _ in range(2):  # two queries on one connection
            sock.sendall(struct.pack("!H", len(query)) + query)
            size = struct.unpack("!H", sock.recv(2))[0]
            assert answers(sock.recv(size)) == ["172.20.0.3"]


def test_sctp_is_served_or_skipped_with_a_reason() -> None:
    started, skipped = servers.serve(["sctp:0"], "ns/pod-0", None, host="127.0.0.1")
    try:
        assert len(started) + len(skipped) == 1
        if skipped:
            assert skipped[0].startswith("sctp:0: ")
    finally:
        for server in started:
            server.server_close()


def test_unknown_kind_and_dns_without_records() -> None:
    with pytest.raises(SystemExit):
        servers.start("gopher:70", "n", None, host="127.0.0.1")
    with pytest.raises(SystemExit):
        servers.start("dns:0", "n", None, host="127.0.0.1")


def test_dual_stack_listeners_take_both_families() -> None:
    """``--ipv6``: one socket on :: answers IPv6 and IPv4 (skipped without IPv6)."""
    if not socket.has_dualstack_ipv6():
        pytest.skip("no dual-stack sockets here")
    started, _ = servers.serve(["tcp:0", "udp:0"], "ns/pod-0", None, ipv6=True)
    try:
        tcp, udp = (s.server_address[1] for s in started)  # type: ignore[index]
        for host, family in (("::1", socket.AF_INET6), ("127.0.0.1", socket.AF_INET)):
            with socket.create_connection((host, tcp), timeout=5) as sock:
                assert sock.recv(100).startswith(b"netfence-lab ns/pod-0")
            with socket.socket(family, socket.SOCK_DGRAM) as sock:
                sock.settimeout(5)
                sock.sendto(b"six", (host, udp))
                assert sock.recvfrom(100)[0] == b"six"
    finally:
        for server in started:
            server.shutdown()
            server.server_close()


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("tcp:10.0.0.1:80", ("tcp", "10.0.0.1", 80)),
        ("udp:[fd00::1]:53", ("udp", "fd00::1", 53)),
        ("tcp:[2001:db8::10]:8080", ("tcp", "2001:db8::10", 8080)),
    ],
)
def test_probe_specs(spec: str, parsed: tuple[str, str, int]) -> None:
    from netfence.lab.probe import parse_spec

    assert parse_spec(spec) == parsed
