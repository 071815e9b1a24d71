"""Protocols and ports as NetworkPolicy, Pods and Services write them."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Protocol(enum.Enum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


@dataclass(frozen=True, slots=True)
class ContainerPort:
    """A port a pod's container declares; ``name`` may be used by policies and Services."""

    port: int
    protocol: Protocol = Protocol.TCP
    name: str | None = None


@dataclass(frozen=True, slots=True)
class PolicyPort:
    """One NetworkPolicyPort.

    API reference: "port represents the port on the given protocol. This can
    either be a numerical or named port on a pod. If this field is not provided,
    this matches all port names and numbers. If present, only traffic on the
    specified protocol AND port will be matched." and "endPort indicates that the
    range of ports from port to endPort if set, inclusive, should be allowed by
    the policy."
    """

    protocol: Protocol = Protocol.TCP
    port: int | str | None = None
    end_port: int | None = None

    def format(self) -> str:
        if self.port is None:
            return f"{self.protocol.value} (all ports)"
        if self.end_port is not None:
            return f"{self.port}-{self.end_port}/{self.protocol.value}"
        return f"{self.port}/{self.protocol.value}"
