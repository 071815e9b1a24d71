"""Observed flows: one connection (or one packet's worth of it) as a log recorded it.

A flow comes from a file of records (netfence's own audit records, Hubble flow
JSON, the EKS network policy agent's log, VPC Flow Logs): the 5-tuple, what the
source said about it (its verdict, the pods it named, the policy it blamed) and
where it was read (file and line). Mapping its addresses to pods is analysis's job
(analysis/flows.py), with the cluster snapshot as the other input.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from netfence.model.diagnostics import Diagnostic
from netfence.model.policy import IPAddress
from netfence.model.ports import Protocol


class FlowFormat(enum.Enum):
    """The record formats netfence reads (docs/flows.md)."""

    NETFENCE = "netfence"  # netfence's own audit records (JSON lines)
    HUBBLE = "hubble"  # `hubble observe -o json`
    EKS = "eks"  # the EKS network policy agent's flow log ("Flow Info: ...")
    VPC = "vpc"  # AWS VPC Flow Logs, default (v2) or custom format with a header


class LoggedVerdict(enum.Enum):
    """What the source says happened to the flow."""

    ALLOWED = "allowed"
    DENIED = "denied"
    # audit mode: let through, but the policies would have denied it (Hubble AUDIT,
    # netfence's records in audit mode)
    WOULD_DENY = "would-deny"
    UNKNOWN = "unknown"  # the source does not say, or says something else (Hubble TRACED)


@dataclass(frozen=True, slots=True)
class FlowOrigin:
    """Where a record was read: file (``-`` for stdin) and 1-based line."""

    file: str
    line: int

    def format(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class NamedPod:
    """A pod as the record names it (Hubble, netfence's own records); the cluster
    snapshot may disagree (an address reused: analysis/flows.py detects it)."""

    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Attribution:
    """The policy the source says decided the flow, as it words it: a tier
    (``Admin``, ``NetworkPolicy``, ``Baseline``, ``Default``, or the source's own
    word such as EKS's ``NETWORK_POLICY``) and, when it says them, the policies and
    the rule."""

    tier: str | None = None
    policies: tuple[str, ...] = ()
    rule: str | None = None


@dataclass(frozen=True, slots=True)
class FlowEnd:
    """One end of a flow: its address and port, and the pod the record names."""

    ip: IPAddress
    port: int
    pod: NamedPod | None = None


@dataclass(frozen=True, slots=True)
class Flow:
    """One observed flow. ``reply``: True when the record is of a reply (the
    source's ``is_reply``, TCP flags, or the port rule of docs/flows.md), None when
    the source cannot tell; a reply is not a new connection."""

    src: FlowEnd
    dst: FlowEnd
    protocol: Protocol
    origin: FlowOrigin
    time: str | None = None
    verdict: LoggedVerdict = LoggedVerdict.UNKNOWN
    reply: bool | None = None
    attribution: Attribution | None = None
    format: FlowFormat = FlowFormat.NETFENCE

    @property
    def policy_verdict(self) -> bool | None:
        """Did the network policies allow the flow, as the record says (None: it
        does not say)? A VPC Flow Log's ACCEPT and REJECT are the security groups'
        and network ACLs' verdict, not the network policies'."""
        if self.format is FlowFormat.VPC or self.verdict is LoggedVerdict.UNKNOWN:
            return None
        return self.verdict is LoggedVerdict.ALLOWED

    @property
    def flowed(self) -> bool:
        """Did the traffic pass (anything but a logged deny)?"""
        return self.verdict is not LoggedVerdict.DENIED

    def tuple_text(self) -> str:
        return (
            f"{self.src.ip}:{self.src.port} -> {self.dst.ip}:{self.dst.port} {self.protocol.value}"
        )


@dataclass(frozen=True, slots=True)
class FlowSkip:
    """Records read but not flows netfence judges (ICMP, NODATA lines, agent log
    lines that are not flow records), counted by reason."""

    reason: str
    count: int


@dataclass(frozen=True, slots=True)
class FlowFile:
    """What one flow file held: its flows, in file order, and what was skipped.
    ``diagnostics`` are errors (bad lines, located); none when the file was read."""

    file: str
    format: FlowFormat
    flows: tuple[Flow, ...]
    skipped: tuple[FlowSkip, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
