"""The one rule for a connection's addresses, which every command follows.

A connection is of one address family: an ipBlock (or a tier's ``networks``)
matches addresses of its own family only, so in a dual-stack cluster the two
families of a pod pair can get different verdicts. netfence judges a connection
between two pods in the **destination's primary family** (its first address, the
one a client finds first), from the source's address of that family; with an
explicit family (``--ip-family``), in that family. A source without an address
of the family has none in the connection (it then matches no ipBlock).
"""

from __future__ import annotations

from netfence.model.cluster import Pod
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint


def pod_connection(
    src: Pod, dst: Pod, port: int, protocol: Protocol, family: int | None = None
) -> Connection:
    """``src`` → ``dst`` in ``family``, else in the destination's primary family."""
    if family is not None:
        dst_ip, src_ip = dst.ip_of_version(family), src.ip_of_version(family)
        return Connection(Endpoint(src_ip, src), Endpoint(dst_ip, dst), port, protocol)
    dst_ip = dst.ips[0] if dst.ips else None
    src_ip = src.ip_of_version(dst_ip.version) if dst_ip else (src.ips[0] if src.ips else None)
    return Connection(Endpoint(src_ip, src), Endpoint(dst_ip, dst), port, protocol)
