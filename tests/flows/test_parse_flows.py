"""Flow parsers, table by table: each format's valid records, each bad field located
(``file:line: field: message``), format recognition, skips and bounds."""

from __future__ import annotations

import ipaddress
import json

import pytest

import netfence.parse.flows as flows_module
from netfence.errors import InvalidInputError
from netfence.model.flows import FlowFormat, LoggedVerdict, NamedPod
from netfence.model.ports import Protocol
from netfence.parse.flows import detect_format, read_flows


def _record(**changes: object) -> str:
    record: dict[str, object] = {
        "kind": "netfence.flow",
        "version": 1,
        "time": "2026-11-26T10:00:00Z",
        "src": {"ip": "10.244.0.11", "port": 40000, "pod": "ui/ui-0"},
        "dst": {"ip": "10.244.0.3", "port": 8080, "pod": "catalog/catalog-0"},
        "protocol": "TCP",
        "reply": False,
        "verdict": "denied",
        "mode": "enforce",
        "decided_by": {"tier": "NetworkPolicy", "policies": ["catalog/p"], "rule": None},
    }
    record.update(changes)
    return json.dumps(record)


def _hubble(**flow_changes: object) -> str:
    flow: dict[str, object] = {
        "time": "2026-11-26T10:00:00Z",
        "verdict": "FORWARDED",
        "IP": {"source": "10.244.0.11", "destination": "10.244.0.3", "ipVersion": "IPv4"},
        "l4": {"TCP": {"source_port": 40000, "destination_port": 8080, "flags": {"SYN": True}}},
        "source": {"namespace": "ui", "pod_name": "ui-0"},
        "destination": {"namespace": "catalog", "pod_name": "catalog-0"},
        "is_reply": False,
    }
    flow.update(flow_changes)
    return json.dumps({"flow": flow, "node_name": "node-a"})


EKS_TEXT = (
    "Flow Info: Src IP: 10.244.0.11 Src Port: 40000 Dest IP: 10.244.0.3 Dest Port: 8080 "
    "Proto: TCP Verdict: DENY Direction: egress Tier: NETWORK_POLICY"
)
EKS_V4 = (
    "Flow Info: Src IP: 10.244.0.11 Src Port: 40000 Dest IP: 10.244.0.3 Dest Port: 8080 "
    "Proto TCP Verdict ACCEPT Direction ingress, Tier DEFAULT"
)
EKS_OLD = (
    "Flow Info:  Src IP: 10.244.0.11 Src Port: 40000 Dest IP: 10.244.0.3 Dest Port: 8080 "
    "Proto: UDP Verdict: ACCEPT"
)
EKS_CLOUDWATCH = (
    "Node: ip-192-0-2-1;SIP: 10.244.0.11;SPORT: 40000;DIP: 10.244.0.3;DPORT: 8080;"
    "PROTOCOL: SCTP;PolicyVerdict: DENY;Tier: ADMIN"
)
VPC_DEFAULT = (
    "2 123456789012 eni-0a1b2c3d4e5f60001 10.244.0.11 10.244.0.3 40000 8080 6 5 620 "
    "1795600800 1795600860 REJECT OK"
)
VPC_HEADER = "version interface-id srcaddr dstaddr pkt-srcaddr pkt-dstaddr srcport dstport protocol action log-status"
VPC_CUSTOM = (
    "5 eni-0a1b2c3d4e5f60001 192.0.2.10 192.0.2.20 10.244.0.11 10.244.0.3 40000 8080 17 ACCEPT OK"
)


VALID = [
    # (text, format, verdict, protocol, src pod, reply)
    (_record(), FlowFormat.NETFENCE, LoggedVerdict.DENIED, Protocol.TCP, NamedPod("ui", "ui-0"), False),
    (_record(mode="audit"), FlowFormat.NETFENCE, LoggedVerdict.WOULD_DENY, Protocol.TCP, NamedPod("ui", "ui-0"), False),
    (_record(verdict=None, reply=None, src={"ip": "10.244.0.11", "port": 1}), FlowFormat.NETFENCE, LoggedVerdict.UNKNOWN, Protocol.TCP, None, None),
    (_hubble(), FlowFormat.HUBBLE, LoggedVerdict.ALLOWED, Protocol.TCP, NamedPod("ui", "ui-0"), False),
    (_hubble(verdict="DROPPED", is_reply=True), FlowFormat.HUBBLE, LoggedVerdict.DENIED, Protocol.TCP, NamedPod("ui", "ui-0"), True),
    (_hubble(verdict="AUDIT", l4={"UDP": {"sourcePort": 1, "destinationPort": 53}}), FlowFormat.HUBBLE, LoggedVerdict.WOULD_DENY, Protocol.UDP, NamedPod("ui", "ui-0"), False),
    (_hubble(source={"identity": 2, "labels": ["reserved:world"]}), FlowFormat.HUBBLE, LoggedVerdict.ALLOWED, Protocol.TCP, None, False),
    (EKS_TEXT, FlowFormat.EKS, LoggedVerdict.DENIED, Protocol.TCP, None, None),
    (json.dumps({"level": "debug", "ts": "t", "msg": EKS_V4}), FlowFormat.EKS, LoggedVerdict.ALLOWED, Protocol.TCP, None, None),
    (EKS_OLD, FlowFormat.EKS, LoggedVerdict.ALLOWED, Protocol.UDP, None, None),
    (EKS_CLOUDWATCH, FlowFormat.EKS, LoggedVerdict.DENIED, Protocol.SCTP, None, None),
    (VPC_DEFAULT, FlowFormat.VPC, LoggedVerdict.DENIED, Protocol.TCP, None, None),
    (VPC_HEADER + "\n" + VPC_CUSTOM, FlowFormat.VPC, LoggedVerdict.ALLOWED, Protocol.UDP, None, None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fmt", "verdict", "protocol", "src_pod", "reply"), VALID)
def test_valid_records(
    text: str,
    fmt: FlowFormat,
    verdict: LoggedVerdict,
    protocol: Protocol,
    src_pod: NamedPod | None,
    reply: bool | None,
) -> None:
    read = read_flows(text + "\n", "flows.log")
    assert read.format is fmt
    assert len(read.flows) == 1
    flow = read.flows[0]
    assert (flow.verdict, flow.protocol, flow.src.pod, flow.reply) == (
        verdict,
        protocol,
        src_pod,
        reply,
    )
    assert flow.src.ip == ipaddress.ip_address("10.244.0.11")  # pkt-srcaddr wins in VPC
    assert flow.dst.ip == ipaddress.ip_address("10.244.0.3")
    assert flow.origin.line == text.count("\n") + 1
    assert flow.format is fmt


def test_attribution_as_the_source_says() -> None:
    assert read_flows(_record(), "f").flows[0].attribution.policies == ("catalog/p",)  # type: ignore[union-attr]
    eks = read_flows(EKS_CLOUDWATCH, "f").flows[0]
    assert eks.attribution is not None and eks.attribution.tier == "ADMIN"
    hubble = _hubble(
        egress_denied_by=[{"name": "deny", "namespace": "ui", "kind": "CiliumNetworkPolicy"}]
    )
    named = read_flows(hubble, "f").flows[0].attribution
    assert named is not None and named.policies == ("CiliumNetworkPolicy:ui/deny",)


def test_vpc_action_is_not_a_policy_verdict() -> None:
    flow = read_flows(VPC_DEFAULT, "f").flows[0]
    assert flow.verdict is LoggedVerdict.DENIED and flow.policy_verdict is None and not flow.flowed


BAD = [
    # (text, format, "field: message" the error holds)
    (_record(src={"ip": "10.244.0", "port": 1}), FlowFormat.NETFENCE, "src.ip: not an IP address"),
    (_record(dst={"ip": "10.0.0.1", "port": 70000}), FlowFormat.NETFENCE, "dst.port: expected a port number"),
    (_record(src={"ip": "10.0.0.1", "port": 1, "pod": "nopod"}), FlowFormat.NETFENCE, "src.pod: expected NAMESPACE/NAME"),
    (_record(protocol="ICMP"), FlowFormat.NETFENCE, "protocol: expected TCP, UDP or SCTP"),
    (_record(verdict="maybe"), FlowFormat.NETFENCE, "verdict: expected allowed or denied"),
    (_record(mode="dry"), FlowFormat.NETFENCE, "mode: expected enforce or audit"),
    (_record(version=2), FlowFormat.NETFENCE, "version: unsupported version 2"),
    (_record(reply="no"), FlowFormat.NETFENCE, "reply: expected true or false"),
    (_record(decided_by={"policies": "x"}), FlowFormat.NETFENCE, "decided_by.policies: expected a list"),
    ("{not json", FlowFormat.NETFENCE, "not JSON"),
    ("[1, 2]", FlowFormat.NETFENCE, "expected a JSON object"),
    ("[" * 100_000 + "]" * 100_000, FlowFormat.NETFENCE, "line longer than"),
    ("[" * 30_000 + "]" * 30_000, FlowFormat.NETFENCE, "JSON nested too deep"),
    (_hubble(IP={"source": "x", "destination": "10.0.0.1"}), FlowFormat.HUBBLE, "flow.IP.source: not an IP address"),
    (_hubble(l4={"TCP": {"source_port": -1, "destination_port": 80}}), FlowFormat.HUBBLE, "flow.l4.TCP.source_port: expected a port number"),
    (_hubble(l4="tcp"), FlowFormat.HUBBLE, "flow.l4: expected an object"),
    (_hubble(is_reply="yes"), FlowFormat.HUBBLE, "flow.is_reply: expected true or false"),
    (_hubble(ingress_allowed_by=[{"namespace": "x"}]), FlowFormat.HUBBLE, "flow.ingress_allowed_by[0]: expected a policy with a name"),
    (EKS_TEXT.replace("10.244.0.3", "10.244.0.300"), FlowFormat.EKS, "Dest IP: not an IP address"),
    (EKS_TEXT.replace("Src Port: 40000", "Src Port: x"), FlowFormat.EKS, "Src Port: expected a port number"),
    (EKS_TEXT.replace("DENY", "MAYBE"), FlowFormat.EKS, "Verdict: expected ACCEPT or DENY"),
    ("Flow Info: Src IP: 10.0.0.1", FlowFormat.EKS, "Flow Info: expected Src IP"),
    (EKS_CLOUDWATCH.replace("DPORT: 8080;", ""), FlowFormat.EKS, "DPORT: missing from the record"),
    (VPC_DEFAULT.replace(" 6 5 ", " tcp 5 "), FlowFormat.VPC, "protocol: expected an IANA protocol number"),
    (VPC_DEFAULT.replace("REJECT", "DROP"), FlowFormat.VPC, "action: expected ACCEPT or REJECT"),
    (VPC_DEFAULT.replace("1795600800 ", "soon "), FlowFormat.VPC, "start: expected Unix seconds"),
    (VPC_DEFAULT + " extra", FlowFormat.VPC, "15 fields, the format has 14"),
    (VPC_HEADER.replace(" srcport", "") + "\n" + VPC_CUSTOM, FlowFormat.VPC, "srcport: the header names no such field"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fmt", "message"), BAD)
def test_bad_fields_are_located(text: str, fmt: FlowFormat, message: str) -> None:
    good = {
        FlowFormat.NETFENCE: _record(),
        FlowFormat.HUBBLE: _hubble(),
        FlowFormat.EKS: EKS_TEXT,
        FlowFormat.VPC: VPC_DEFAULT,
    }[fmt]
    lines = [good, text] if not text.startswith("version") else [text]
    with pytest.raises(InvalidInputError) as info:
        read_flows("\n".join(lines), "flows.log", fmt)
    texts = [d.format() for d in info.value.diagnostics]
    assert len(texts) == 1, texts
    line = 2 if not text.startswith("version") else 1
    assert texts[0].startswith(f"flows.log:{line}: "), texts
    assert message in texts[0], texts


def test_every_bad_line_is_reported_at_once() -> None:
    text = "\n".join([_record(protocol="X"), _record(), _record(verdict="x")])
    with pytest.raises(InvalidInputError) as info:
        read_flows(text, "f.jsonl")
    assert [d.format().split(":")[1] for d in info.value.diagnostics] == ["1", "3"]


def test_reports_stop_after_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flows_module, "MAX_FLOW_ERRORS", 3)
    with pytest.raises(InvalidInputError) as info:
        read_flows("\n".join([_record(protocol="X")] * 10), "f")
    assert len(info.value.diagnostics) == 4
    assert "stopped after 3 bad lines" in info.value.diagnostics[-1].format()


def test_record_count_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flows_module, "MAX_FLOW_RECORDS", 2)
    with pytest.raises(InvalidInputError) as info:
        read_flows("\n".join([_record()] * 3), "f")
    assert "f:3: more than 2 flow records" in info.value.diagnostics[0].format()


SKIPS = [
    (json.dumps({"level": "info", "msg": "Starting agent"}) + "\n" + EKS_TEXT, FlowFormat.EKS, "agent log lines"),
    (EKS_TEXT.replace("Proto: TCP", "Proto: ICMP"), FlowFormat.EKS, "ICMP"),
    (EKS_TEXT.replace("DENY", "EXPIRED/DELETED") + "\n" + EKS_TEXT, FlowFormat.EKS, "EXPIRED/DELETED"),
    (VPC_DEFAULT.replace(" 6 5 ", " 1 5 "), FlowFormat.VPC, "ICMP"),
    ("2 123456789012 eni-1 - - - - - - - 1795600800 1795600860 - NODATA\n" + VPC_DEFAULT, FlowFormat.VPC, "NODATA"),
    (_hubble(l4={"ICMPv4": {"type": 8}}), FlowFormat.HUBBLE, "ICMP"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "fmt", "reason"), SKIPS)
def test_skips_are_counted_not_errors(text: str, fmt: FlowFormat, reason: str) -> None:
    read = read_flows(text, "f", fmt)
    assert any(reason in s.reason and s.count == 1 for s in read.skipped), read.skipped


def test_unknown_format_asks_for_format() -> None:
    with pytest.raises(InvalidInputError) as info:
        detect_format("hello\nworld\n", "f.txt")
    assert "give --format" in info.value.diagnostics[0].format()
    with pytest.raises(InvalidInputError) as empty:
        detect_format("\n\n", "empty")
    assert empty.value.diagnostics[0].format() == "empty: no flow records (the file is empty)"


def test_recognised_after_other_lines() -> None:
    text = "some banner\n" + json.dumps({"level": "info", "msg": "x"}) + "\n" + EKS_TEXT
    assert detect_format(text, "f") is FlowFormat.EKS
