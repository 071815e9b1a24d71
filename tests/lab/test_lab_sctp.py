"""SCTP on raw sockets: the packet format, and a probe against a responder on loopback."""

from __future__ import annotations

import os
import socket

import pytest

from netfence.lab import sctp, servers


def test_crc32c_check_value() -> None:
    """RFC 3720 B.4 / the usual CRC-32C check value."""
    assert sctp.crc32c(b"123456789") == 0xE3069283


@pytest.mark.parametrize("kind", [sctp.INIT, sctp.INIT_ACK])
def test_encode_decode_round_trip(kind: int) -> None:
    packet = sctp.Packet(50000, 83, 0 if kind == sctp.INIT else 7, kind, 0xDEADBEEF)
    data = sctp.encode(packet)
    assert len(data) == 32 and sctp.decode(data) == packet


@pytest.mark.parametrize("damage", ["checksum", "short", "chunk type"])
def test_damaged_packets_are_not_decoded(damage: str) -> None:
    data = bytearray(sctp.encode(sctp.Packet(1, 2, 0, sctp.INIT, 3)))
    if damage == "checksum":
        data[-1] ^= 1
    elif damage == "short":
        del data[-4:]
    else:  # a DATA chunk with a correct checksum is still not an INIT
        data[12] = 0
        data[8:12] = sctp.crc32c(bytes(data[:8]) + b"\0" * 4 + bytes(data[12:])).to_bytes(
            4, "little"
        )
    assert sctp.decode(bytes(data)) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="raw sockets need root")
def test_probe_gets_init_ack_from_a_served_port_only() -> None:
    """Through servers.serve: without SCTP sockets the raw responder answers."""
    started, skipped = servers.serve(["sctp:9083"], "ns/pod-0", None, host="127.0.0.1")
    try:
        assert not skipped and len(started) == 1
        assert sctp.probe("127.0.0.1", 9083, 2.0)
        assert not sctp.probe("127.0.0.1", 9084, 0.3)
    finally:
        for server in started:
            server.shutdown()
            server.server_close()


def test_sctp_is_served_by_sockets_or_else_by_the_raw_responder() -> None:
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()
        native = True
    except OSError:
        native = False
    started, skipped = servers.serve(["sctp:0"], "n", None, host="127.0.0.1")
    try:
        if native:
            assert [type(s) for s in started] == [servers.SCTPServer] and not skipped
        elif os.geteuid() == 0:
            assert [type(s) for s in started] == [sctp.Responder] and not skipped
        else:
            assert not started and skipped == ["sctp:0: Operation not permitted"]
    finally:
        for server in started:
            server.server_close()
