"""The EKS network policy agent's flow log (aws/aws-network-policy-agent).

The agent logs one line per policy verdict of a new flow, through its zap logger
(JSON lines with the text under ``msg``; ACCEPT at debug level, DENY at info)::

    Flow Info: Src IP: 10.0.0.1 Src Port: 4321 Dest IP: 10.0.0.2 Dest Port: 80
    Proto: TCP Verdict: ACCEPT Direction: egress Tier: NETWORK_POLICY   (one line)

(IPv4 lines write ``Proto TCP Verdict ACCEPT Direction egress, Tier …`` without
colons; older agents stop after the verdict), and sends to CloudWatch::

    Node: ip-10-0-0-1;SIP: 10.0.0.1;SPORT: 4321;DIP: 10.0.0.2;DPORT: 80;PROTOCOL: TCP;
    PolicyVerdict: DENY;Tier: NETWORK_POLICY   (one line)

Both are read, with or without the zap JSON around them; other log lines are
skipped. A record names no pod and no policy, only the tier.
"""

from __future__ import annotations

import json
import re

from netfence.model.flows import Attribution, Flow, FlowEnd, FlowFormat, FlowOrigin, LoggedVerdict
from netfence.parse.flows_common import (
    OTHER_PROTOCOL,
    LineError,
    Skip,
    address,
    port,
    protocol_name,
)

_FLOW_INFO = re.compile(
    r"Flow Info:\s*Src IP:?\s*(?P<sip>\S+)\s+Src Port:?\s*(?P<sport>\S+)\s+"
    r"Dest IP:?\s*(?P<dip>\S+)\s+Dest Port:?\s*(?P<dport>\S+)\s+Proto:?\s*(?P<proto>\S+)\s+"
    r"Verdict:?\s*(?P<verdict>[^\s,]+),?"
    r"(?:\s+Direction:?\s*(?P<direction>[^\s,]+),?)?(?:\s+Tier:?\s*(?P<tier>\S+))?"
)
_CLOUDWATCH_FIELDS = ("SIP", "SPORT", "DIP", "DPORT", "PROTOCOL", "PolicyVerdict")
_VERDICTS = {"ACCEPT": LoggedVerdict.ALLOWED, "DENY": LoggedVerdict.DENIED}
_NOT_FLOW = "agent log lines that are not flow records"


def looks_like_eks(line: str) -> bool:
    return "Flow Info:" in line or ("SIP: " in line and "PolicyVerdict: " in line)


def parse_eks_line(line: str, origin: FlowOrigin) -> Flow | Skip:
    text, time = _message(line)
    if "Flow Info:" in text:
        return _flow_info(text, origin, time)
    if "SIP: " in text and "PolicyVerdict: " in text:
        return _cloudwatch(text, origin, time)
    return Skip(_NOT_FLOW)


def _message(line: str) -> tuple[str, str | None]:
    """The text of a zap JSON line (``msg``) and its time (``ts``), or the line."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return stripped, None
    try:
        record = json.loads(stripped)
    except (ValueError, RecursionError):
        raise LineError(None, "a JSON log line that does not decode") from None
    if not isinstance(record, dict) or not isinstance(record.get("msg"), str):
        return "", None
    ts = record.get("ts")
    return record["msg"], ts if isinstance(ts, str) else None


def _flow_info(text: str, origin: FlowOrigin, time: str | None) -> Flow | Skip:
    match = _FLOW_INFO.search(text)
    if match is None:
        raise LineError(
            "Flow Info", "expected Src IP, Src Port, Dest IP, Dest Port, Proto, Verdict"
        )
    fields = match.groupdict()
    return _flow(fields["sip"], fields["sport"], fields["dip"], fields["dport"], fields["proto"],
                 fields["verdict"], fields["tier"], origin, time,
                 ("Src IP", "Src Port", "Dest IP", "Dest Port", "Proto", "Verdict"))  # fmt: skip


def _cloudwatch(text: str, origin: FlowOrigin, time: str | None) -> Flow | Skip:
    fields: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, value = part.partition(": ")
        if sep:
            fields[key.strip()] = value.strip()
    missing = [f for f in _CLOUDWATCH_FIELDS if f not in fields]
    if missing:
        raise LineError(missing[0], "missing from the record")
    f = fields
    return _flow(f["SIP"], f["SPORT"], f["DIP"], f["DPORT"], f["PROTOCOL"], f["PolicyVerdict"],
                 f.get("Tier"), origin, time, _CLOUDWATCH_FIELDS)  # fmt: skip


def _flow(
    sip: str,
    sport: str,
    dip: str,
    dport: str,
    proto: str,
    verdict: str,
    tier: str | None,
    origin: FlowOrigin,
    time: str | None,
    names: tuple[str, ...],
) -> Flow | Skip:
    if verdict == "EXPIRED/DELETED":
        return Skip("connection-tracking expiries (EXPIRED/DELETED)")
    if verdict not in _VERDICTS:
        raise LineError(names[5], f"expected ACCEPT or DENY, got {verdict!r}")
    protocol = protocol_name(proto, names[4])
    if protocol is None:
        return Skip(OTHER_PROTOCOL)
    return Flow(
        FlowEnd(address(sip, names[0]), port(sport, names[1])),
        FlowEnd(address(dip, names[2]), port(dport, names[3])),
        protocol,
        origin,
        time=time,
        verdict=_VERDICTS[verdict],
        attribution=Attribution(tier) if tier else None,
        format=FlowFormat.EKS,
    )
