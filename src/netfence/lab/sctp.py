"""SCTP on a kernel without SCTP sockets: the first packets of an association,
written and read on raw sockets.

The lab's kernel has netfilter's SCTP support (conntrack, ``meta l4proto sctp``)
but no SCTP protocol (``CONFIG_IP_SCTP`` unset: ``socket(..., IPPROTO_SCTP)``
fails with "Protocol not supported"). Raw sockets still send and receive
protocol 132, so a probe sends an INIT and a pod's responder answers INIT ACK,
as an SCTP endpoint would (RFC 9260 §5.1). Both cross the node routers like any
other packet: conntrack tracks the INIT as a new association and the INIT ACK
as its reply, and netfence's rules decide on the INIT. A probe succeeds when its
INIT ACK comes back.

RFC 9260 §3.1: the common header is source port, destination port, verification
tag and checksum (CRC32c over the packet with the checksum field zeroed,
Appendix A); §3.3.2: an INIT carries verification tag 0 and its own initiate
tag; §3.3.3: the INIT ACK carries the INIT's initiate tag as verification tag.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass

PROTOCOL = 132  # IPPROTO_SCTP
INIT, INIT_ACK = 1, 2
_HEADER = struct.Struct("!HHII")  # ports, verification tag, checksum
_INIT_CHUNK = struct.Struct("!BBHIIHHI")  # type, flags, length, tag, a_rwnd, streams, TSN


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class Packet:
    source_port: int
    destination_port: int
    verification_tag: int
    chunk_type: int
    initiate_tag: int


def encode(packet: Packet) -> bytes:
    """An SCTP packet holding one INIT or INIT ACK chunk, with its checksum."""
    chunk = _INIT_CHUNK.pack(packet.chunk_type, 0, 20, packet.initiate_tag, 65536, 1, 1, 1)
    head = (packet.source_port, packet.destination_port, packet.verification_tag)
    body = _HEADER.pack(*head, 0) + chunk
    checksum = crc32c(body)  # Appendix A: the CRC's bytes go out least significant first
    return body[:8] + struct.pack("<I", checksum) + body[12:]


def decode(data: bytes) -> Packet | None:
    """The packet, if it is an intact INIT or INIT ACK; None otherwise."""
    if len(data) < _HEADER.size + _INIT_CHUNK.size:
        return None
    source, destination, tag, _ = _HEADER.unpack_from(data)
    if struct.unpack_from("<I", data, 8)[0] != crc32c(data[:8] + b"\0\0\0\0" + data[12:]):
        return None
    kind, _, _, initiate, *_ = _INIT_CHUNK.unpack_from(data, _HEADER.size)
    if kind not in (INIT, INIT_ACK):
        return None
    return Packet(source, destination, tag, kind, initiate)


def raw_socket(family: int) -> socket.socket:
    return socket.socket(family, socket.SOCK_RAW, PROTOCOL)


def _payload(data: bytes, family: int) -> bytes:
    """IPv4 raw sockets hand over the IP header too; IPv6 ones do not."""
    return data[(data[0] & 0x0F) * 4 :] if family == socket.AF_INET else data


def probe(host: str, port: int, timeout: float) -> bool:
    """Send an INIT to host:port; True when the matching INIT ACK arrives in time."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    peer = socket.getaddrinfo(host, None, family)[0][4][0]  # the address as replies show it
    source_port, tag = random.randint(49152, 65535), random.randint(1, 0xFFFFFFFF)
    deadline = time.monotonic() + timeout
    with raw_socket(family) as sock:
        sock.sendto(encode(Packet(source_port, port, 0, INIT, tag)), (host, 0))
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                data, sender = sock.recvfrom(2048)
            except TimeoutError:
                return False
            reply = decode(_payload(data, family))
            if (
                reply is not None
                and sender[0] == peer
                and (reply.source_port, reply.destination_port) == (port, source_port)
                and (reply.chunk_type, reply.verification_tag) == (INIT_ACK, tag)
            ):
                return True
    return False


class Responder:
    """Answers INITs to ``ports`` with INIT ACK, on IPv4 (and IPv6 when asked)."""

    def __init__(self, ports: Collection[int], ipv6: bool = False) -> None:
        self.ports = frozenset(ports)
        families = (socket.AF_INET, socket.AF_INET6) if ipv6 else (socket.AF_INET,)
        self.sockets = [(raw_socket(f), f) for f in families]

    def serve_forever(self) -> None:
        threads = [
            threading.Thread(target=self._answer, args=pair, daemon=True) for pair in self.sockets
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def server_close(self) -> None:
        for sock, _ in self.sockets:
            sock.close()

    def shutdown(self) -> None:
        self.server_close()

    def _answer(self, sock: socket.socket, family: int) -> None:
        while True:
            try:
                data, sender = sock.recvfrom(2048)
            except OSError:
                return  # closed
            init = decode(_payload(data, family))
            if init is None or init.chunk_type != INIT or init.destination_port not in self.ports:
                continue
            tag = random.randint(1, 0xFFFFFFFF)
            reply = Packet(
                init.destination_port, init.source_port, init.initiate_tag, INIT_ACK, tag
            )
            sock.sendto(encode(reply), (sender[0], 0))
