"""What every flow format's parser shares: located line errors, skips, addresses,
ports and protocols read the same way."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netfence.model.policy import IPAddress
from netfence.model.ports import Protocol


class LineError(Exception):
    """A bad field of one line: ``field`` as the format names it."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Skip:
    """A line that is no flow netfence judges, and why (counted, not an error)."""

    reason: str


# IANA protocol numbers (VPC Flow Logs, the EKS agent's numbers)
PROTOCOL_NUMBERS = {6: Protocol.TCP, 17: Protocol.UDP, 132: Protocol.SCTP}
PROTOCOL_NAMES = {p.value: p for p in Protocol}
OTHER_PROTOCOL = "a protocol network policies do not name (ICMP and others)"


_ADDRESSES: dict[str, IPAddress] = {}
_ADDRESSES_KEPT = 100_000  # a log names the same addresses again and again


def address(value: object, field: str) -> IPAddress:
    """The address ``value`` writes (read once per distinct text, up to a bound:
    ``ipaddress.ip_address`` is most of a record's reading otherwise)."""
    if not isinstance(value, str) or not value:
        raise LineError(field, f"expected an IP address, got {_shown(value)}")
    known = _ADDRESSES.get(value)
    if known is not None:
        return known
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        raise LineError(field, f"not an IP address: {_shown(value)}") from None
    if len(_ADDRESSES) < _ADDRESSES_KEPT:
        _ADDRESSES[value] = ip
    return ip


def port(value: object, field: str) -> int:
    """A port number 0-65535 (0: the source did not say, as for ICMP)."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 5:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise LineError(field, f"expected a port number 0-65535, got {_shown(value)}")
    return value


def protocol_name(value: object, field: str) -> Protocol | None:
    """TCP, UDP or SCTP by name (any case); None for another protocol's name."""
    if not isinstance(value, str) or not value:
        raise LineError(field, f"expected a protocol name, got {_shown(value)}")
    return PROTOCOL_NAMES.get(value.upper())


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
