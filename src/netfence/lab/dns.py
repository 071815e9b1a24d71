"""The lab's DNS server, standing in for CoreDNS in kube-system (RFC 1035 wire format).

It answers what the prototype's server answered (the prototype's notes):
``<svc>.<ns>.svc.cluster.local`` A → the ClusterIP, ``www.example.com`` →
203.0.113.10, "NXDOMAIN for anything else. For known names, AAAA gets NOERROR with
an empty answer" — unless the name has IPv6 addresses (a dual-stack lab), which
AAAA returns — promptly, because "the lab DNS must return NXDOMAIN and NODATA
promptly, or curl's timings stop matching the workshop" (prototype notes). With ``ndots:5``
a lookup of ``catalog.catalog`` first asks ``catalog.catalog.ui.svc.cluster.local``
(NXDOMAIN), then ``catalog.catalog.svc.cluster.local``.

A name that only has names below it (``svc.cluster.local``) exists with no data,
so it gets NOERROR/empty, not NXDOMAIN (RFC 8020). Responses are authoritative,
carry no EDNS (RFC 6891 allows a responder without it) and are built by the pure
function ``respond``; ``serve_udp`` / ``serve_tcp`` (2-byte length prefix, RFC
1035 §4.2.2) put it on sockets.
"""

from __future__ import annotations

import ipaddress
import json
import socketserver
import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

TYPE_A, TYPE_AAAA, TYPE_ANY, CLASS_IN, CLASS_ANY = 1, 28, 255, 1, 255
_VERSIONS = {TYPE_A: (4,), TYPE_AAAA: (6,), TYPE_ANY: (4, 6)}  # the addresses a type asks
NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 3, 4, 5
QR, AA, RD, RA = 0x8000, 0x0400, 0x0100, 0x0080
HEADER = struct.Struct("!HHHHHH")
UDP_LIMIT = 512
TCP_IDLE_SECONDS = 10.0


@dataclass(frozen=True)
class Zone:
    """Names (lowercase, no trailing dot) → IPv4 addresses."""

    records: Mapping[str, tuple[str, ...]]
    ttl: int = 5
    _existing: frozenset[str] = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        names = {_ancestor(name, i) for name in self.records for i in range(name.count(".") + 1)}
        object.__setattr__(self, "_existing", frozenset(names))

    @classmethod
    def from_json(cls, text: str) -> Zone:
        data = json.loads(text)
        records = {_normal(k): tuple(v) for k, v in data["records"].items()}
        return cls(records, int(data.get("ttl", 5)))

    def exists(self, name: str) -> bool:
        return name in self._existing


@dataclass(frozen=True, slots=True)
class Question:
    ident: int
    flags: int
    name: str
    qtype: int
    qclass: int
    raw: bytes  # the question section as received, echoed back


def respond(query: bytes, zone: Zone, limit: int | None = UDP_LIMIT) -> bytes | None:
    """The response to one query message, or None when it must be ignored."""
    if len(query) < HEADER.size:
        return None
    ident, flags, *_ = HEADER.unpack_from(query)
    if flags & QR:
        return None  # a response, not a query
    try:
        question = parse_question(query)
    except ValueError:
        return _message(ident, flags, FORMERR, b"", ())
    return _answer(question, zone, limit)


def parse_question(message: bytes) -> Question:
    ident, flags, qdcount, _an, _ns, _ar = HEADER.unpack_from(message)
    if qdcount != 1:
        raise ValueError(f"{qdcount} questions")
    name, end = _read_name(message, HEADER.size)
    if end + 4 > len(message):
        raise ValueError("truncated question")
    qtype, qclass = struct.unpack_from("!HH", message, end)
    return Question(ident, flags, name, qtype, qclass, message[HEADER.size : end + 4])


def _answer(q: Question, zone: Zone, limit: int | None) -> bytes:
    if (q.flags >> 11) & 0xF:
        return _message(q.ident, q.flags, NOTIMP, q.raw, ())
    if q.qclass not in (CLASS_IN, CLASS_ANY):
        return _message(q.ident, q.flags, REFUSED, q.raw, ())
    if not zone.exists(q.name):
        return _message(q.ident, q.flags, NXDOMAIN, q.raw, ())
    versions = _VERSIONS.get(q.qtype, ())
    addresses = [ipaddress.ip_address(ip) for ip in zone.records.get(q.name, ())]
    answers = tuple(_address_record(a, zone.ttl) for a in addresses if a.version in versions)
    response = _message(q.ident, q.flags, NOERROR, q.raw, answers)
    if limit is not None and len(response) > limit:  # TC: the client retries over TCP
        return _message(q.ident, q.flags | 0x0200, NOERROR, q.raw, ())
    return response


def _message(
    ident: int, qflags: int, rcode: int, question: bytes, answers: Sequence[bytes]
) -> bytes:
    flags = QR | AA | RA | (qflags & (0x7800 | RD | 0x0200)) | rcode
    header = HEADER.pack(ident, flags, 1 if question else 0, len(answers), 0, 0)
    return header + question + b"".join(answers)


def _address_record(address: ipaddress.IPv4Address | ipaddress.IPv6Address, ttl: int) -> bytes:
    """An A or AAAA record; the owner name is a pointer to the question's name at
    offset 12."""
    kind = TYPE_A if address.version == 4 else TYPE_AAAA
    packed = address.packed
    return struct.pack("!HHHIH", 0xC00C, kind, CLASS_IN, ttl, len(packed)) + packed


def _read_name(message: bytes, offset: int) -> tuple[str, int]:
    """A (possibly compressed) name → (lowercase dotted name, offset after it)."""
    labels: list[str] = []
    end: int | None = None
    for _ in range(128):  # guards against pointer loops
        if offset >= len(message):
            raise ValueError("name runs past the message")
        length = message[offset]
        if length == 0:
            return ".".join(labels), (offset + 1 if end is None else end)
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(message):
                raise ValueError("truncated pointer")
            end = offset + 2 if end is None else end
            offset = ((length & 0x3F) << 8) | message[offset + 1]
            continue
        if length & 0xC0 or offset + 1 + length > len(message):
            raise ValueError("bad label")
        labels.append(message[offset + 1 : offset + 1 + length].decode("ascii", "replace").lower())
        offset += 1 + length
    raise ValueError("name too long")


def _normal(name: str) -> str:
    return name.lower().rstrip(".")


def _ancestor(name: str, dots: int) -> str:
    return name.split(".", dots)[-1] if dots else name


# --- sockets -------------------------------------------------------------------------------


RCODES = {NOERROR: "NOERROR", FORMERR: "FORMERR", NXDOMAIN: "NXDOMAIN", NOTIMP: "NOTIMP"}


def describe(query: bytes, reply: bytes | None) -> str:
    """One log line: ``catalog.catalog.ui.svc.cluster.local A NXDOMAIN 0 answers``."""
    try:
        q = parse_question(query)
        asked = f"{q.name or '.'} {_TYPES.get(q.qtype, q.qtype)}"
    except (ValueError, struct.error):
        asked = "(malformed)"
    if reply is None:
        return f"{asked} ignored"
    rcode, answers = reply[3] & 0xF, int.from_bytes(reply[6:8], "big")
    return f"{asked} {RCODES.get(rcode, rcode)} {answers} answers"


_TYPES = {TYPE_A: "A", TYPE_AAAA: "AAAA", TYPE_ANY: "ANY", 12: "PTR", 33: "SRV", 5: "CNAME"}


def _log(transport: str, client: tuple[str, int], query: bytes, reply: bytes | None) -> None:
    sys.stderr.write(f"dns/{transport} {client[0]} {describe(query, reply)}\n")


class _UDPHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        reply = respond(data, self.server.zone)  # type: ignore[attr-defined]
        _log("udp", self.client_address, data, reply)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _TCPHandler(socketserver.StreamRequestHandler):
    timeout = TCP_IDLE_SECONDS

    def handle(self) -> None:
        while True:
            size = self.rfile.read(2)
            if len(size) < 2:
                return
            query = self.rfile.read(struct.unpack("!H", size)[0])
            reply = respond(query, self.server.zone, limit=None)  # type: ignore[attr-defined]
            _log("tcp", self.client_address, query, reply)
            if reply is None:
                return
            self.wfile.write(struct.pack("!H", len(reply)) + reply)


class DNSUDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], zone: Zone) -> None:
        self.zone = zone
        super().__init__(address, _UDPHandler)


class DNSTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # as the lab's servers: a batch of probes connects at once

    def __init__(self, address: tuple[str, int], zone: Zone) -> None:
        self.zone = zone
        super().__init__(address, _TCPHandler)


def query_message(name: str, qtype: int = TYPE_A, ident: int = 0x1234) -> bytes:
    """A one-question query (recursion desired), for tests and probes."""
    labels = b"".join(bytes([len(p)]) + p.encode() for p in _normal(name).split(".") if p)
    return HEADER.pack(ident, RD, 1, 0, 0, 0) + labels + b"\x00" + struct.pack("!HH", qtype, 1)
