"""AWS VPC Flow Logs: space-separated fields, ``-`` where a field does not apply.

The default format (version 2) has 14 fields in a fixed order and no header::

    version account-id interface-id srcaddr dstaddr srcport dstport protocol
    packets bytes start end action log-status   (one line)

A custom format is read when its first line is the header that names its fields
(as delivered to S3). ``pkt-srcaddr`` / ``pkt-dstaddr``, when present, are the
packet's own addresses (a pod's, behind the node's interface) and take
precedence over ``srcaddr`` / ``dstaddr``. NODATA and SKIPDATA records carry no
flow and are skipped; so are protocols other than TCP, UDP and SCTP. ``action``
is the security groups' and network ACLs' verdict, not the network policies'.
"""

from __future__ import annotations

import datetime
import re

from netfence.model.flows import Flow, FlowEnd, FlowFormat, FlowOrigin, LoggedVerdict
from netfence.model.policy import IPAddress
from netfence.parse.flows_common import (
    OTHER_PROTOCOL,
    PROTOCOL_NUMBERS,
    LineError,
    Skip,
    address,
    port,
)

DEFAULT_FIELDS = (
    *("version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport"),
    *("protocol", "packets", "bytes", "start", "end", "action", "log-status"),
)
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_ACTIONS = {"ACCEPT": LoggedVerdict.ALLOWED, "REJECT": LoggedVerdict.DENIED}


def looks_like_vpc(line: str) -> bool:
    tokens = line.split()
    if _is_header(tokens):
        return True
    return len(tokens) == len(DEFAULT_FIELDS) and tokens[0] == "2" and tokens[-1] in (
        "OK", "NODATA", "SKIPDATA")  # fmt: skip


def _is_header(tokens: list[str]) -> bool:
    names = set(tokens)
    return (
        all(_FIELD_NAME.match(t) for t in tokens)
        and bool(names & {"srcaddr", "pkt-srcaddr"})
        and bool(names & {"dstaddr", "pkt-dstaddr"})
    )


class VpcReader:
    """Reads lines in the default format until a header names other fields."""

    def __init__(self) -> None:
        self.fields: tuple[str, ...] = DEFAULT_FIELDS
        self.unreadable = False

    def parse_line(self, line: str, origin: FlowOrigin) -> Flow | Skip:
        tokens = line.split()
        if _is_header(tokens):
            self.fields = tuple(tokens)
            self.unreadable = False
            for needed in ("srcport", "dstport", "protocol"):
                if needed not in self.fields:
                    self.unreadable = True  # its records are not read: one error, here
                    raise LineError(needed, "the header names no such field: netfence needs it")
            return Skip("VPC Flow Log headers")
        if self.unreadable:
            return Skip("records under a header netfence cannot read")
        if len(tokens) != len(self.fields):
            raise LineError(None, f"{len(tokens)} fields, the format has {len(self.fields)}")
        record = dict(zip(self.fields, tokens, strict=True))
        if record.get("log-status", "OK") != "OK":
            return Skip("VPC records without data (NODATA, SKIPDATA)")
        return _flow(record, origin)


def _flow(record: dict[str, str], origin: FlowOrigin) -> Flow | Skip:
    number = record["protocol"]
    if not number.isdigit():
        raise LineError("protocol", f"expected an IANA protocol number, got {number!r}")
    protocol = PROTOCOL_NUMBERS.get(int(number))
    if protocol is None:
        return Skip(OTHER_PROTOCOL)
    action = record.get("action", "-")
    if action not in (*_ACTIONS, "-"):
        raise LineError("action", f"expected ACCEPT or REJECT, got {action!r}")
    return Flow(
        FlowEnd(_address(record, "src"), port(record["srcport"], "srcport")),
        FlowEnd(_address(record, "dst"), port(record["dstport"], "dstport")),
        protocol,
        origin,
        time=_time(record.get("start", "-")),
        verdict=_ACTIONS.get(action, LoggedVerdict.UNKNOWN),
        format=FlowFormat.VPC,
    )


def _address(record: dict[str, str], end: str) -> IPAddress:
    packet = record.get(f"pkt-{end}addr", "-")
    if packet != "-":
        return address(packet, f"pkt-{end}addr")
    if f"{end}addr" not in record:
        raise LineError(f"{end}addr", "the header names neither it nor its pkt- form")
    return address(record[f"{end}addr"], f"{end}addr")


def _time(start: str) -> str | None:
    if start == "-":
        return None
    if not start.isdigit() or len(start) > 12:
        raise LineError("start", f"expected Unix seconds, got {start!r}")
    moment = datetime.datetime.fromtimestamp(int(start), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
