"""Connections between endpoints: a pod (with the address it uses) or an outside address."""

from __future__ import annotations

from dataclasses import dataclass

from netfence.model.cluster import Pod
from netfence.model.policy import IPAddress
from netfence.model.ports import Protocol


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One end of a connection.

    ``pod`` is None for addresses outside every pod (cluster-external hosts, node
    addresses). A hostNetwork pod keeps its ``pod`` for display, but selectors
    never match it (see engine).
    """

    ip: IPAddress | None
    pod: Pod | None = None
    # the DNS name the connection was made to, when it was made to a name outside
    # the pods (ClusterNetworkPolicy ``domainNames`` peers judge it)
    name: str | None = None

    def format(self) -> str:
        if self.pod is not None:
            return self.pod.key
        return str(self.ip)


@dataclass(frozen=True, slots=True)
class Connection:
    """A new connection from ``src`` to ``dst`` on ``port``/``protocol``.

    The port is the destination's real port: for a Service, the backend pod's
    resolved targetPort, never the service port.
    """

    src: Endpoint
    dst: Endpoint
    port: int
    protocol: Protocol = Protocol.TCP

    def format(self) -> str:
        return f"{self.src.format()} -> {self.dst.format()} {self.port}/{self.protocol.value}"
