"""kube-proxy emulation: ClusterIP:port → backend pod:targetPort as one nft table. Pure.

The prototype's table (docs/prototype.md), loaded in every node
router: "In `table ip`, write `dnat to ip daddr . tcp dport map @m`". The first two
lines create the table if absent and delete it, so loading is one atomic
replacement (docs/prototype.md). Additions to the prototype:

- Several backends: one rule per service port with ``numgen random mod N``, as
  kube-proxy spreads new connections; one backend: an element of a map.
- An ``output`` chain as well as ``prerouting``, so commands run in a node
  namespace reach ClusterIPs as on a real node.
- Hairpin: a backend that reaches itself through its own Service would receive a
  packet from its own address; masquerade it to the node, as kube-proxy does.
- IPv6 ClusterIPs (a dual-stack lab) get the same table in family ``ip6``.
- A ClusterIP without backends is not translated; the node has no route for it, so
  the client gets "unreachable" at once (kube-proxy rejects; close enough).

In a dual-stack lab a second table stands in for the IPv4 ``rp_filter`` that
IPv6 lacks (docs/prototype.md: "if keyed by IP, enforce anti-spoofing"): a packet whose
source address is not routed back through the interface it arrived on is
dropped before anything else sees it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from netfence.model.ports import Protocol

TABLE = "nf-kube-proxy"
TABLE6 = "nf-kube-proxy6"  # the same for IPv6 ClusterIPs, in a dual-stack lab
ANTISPOOF_TABLE = "nf-antispoof"


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """One service port: traffic to ``cluster_ip:port`` goes to one of ``backends``."""

    protocol: Protocol
    cluster_ip: str
    port: int
    backends: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class _Family:
    keyword: str  # "ip" or "ip6": the table family and the address match
    table: str
    address_type: str


_FAMILIES = {4: _Family("ip", TABLE, "ipv4_addr"), 6: _Family("ip6", TABLE6, "ipv6_addr")}


def kube_proxy_ruleset(entries: Iterable[ServiceEntry], hairpin: Iterable[str]) -> str:
    """The IPv4 table, and the IPv6 one when some ClusterIP is IPv6."""
    entries = sorted(set(entries), key=lambda e: (e.protocol.value, _ip_key(e.cluster_ip), e.port))
    hairpin = sorted(set(hairpin), key=_ip_key)
    text = ""
    for version, family in _FAMILIES.items():
        mine = [e for e in entries if _version(e.cluster_ip) == version]
        if version == 4 or mine:
            pins = [ip for ip in hairpin if _version(ip) == version]
            text += _table(family, mine, pins)
    return text


def _table(family: _Family, entries: list[ServiceEntry], hairpin: list[str]) -> str:
    ip, table = family.keyword, family.table
    map_type = f"{family.address_type} . inet_service : {family.address_type} . inet_service"
    cluster_ips = sorted({e.cluster_ip for e in entries}, key=_ip_key)
    lines = [
        f"table {ip} {table}",
        f"delete table {ip} {table}",
        f"table {ip} {table} {{",
        f"  set cluster_ips {{ type {family.address_type};{_elements(cluster_ips)} }}",
    ]
    for protocol in Protocol:
        single = [e for e in entries if e.protocol is protocol and len(e.backends) == 1]
        elements = [f"{e.cluster_ip} . {e.port} : {_pair(e.backends[0])}" for e in single]
        lines.append(f"  map {_map(protocol)} {{ type {map_type};{_elements(elements)} }}")
    pairs = [f"{a} . {a}" for a in hairpin]
    pair_type = f"{family.address_type} . {family.address_type}"
    lines.append(f"  set hairpin {{ type {pair_type};{_elements(pairs)} }}")
    lines += _services_chain(ip, entries)
    lines += [
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        f"    {ip} daddr @cluster_ips jump services",
        "  }",
        "  chain output {",
        "    type nat hook output priority -100; policy accept;",
        f"    {ip} daddr @cluster_ips jump services",
        "  }",
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        f"    ct status dnat {ip} saddr . {ip} daddr @hairpin masquerade",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def antispoof6_ruleset() -> str:
    """Strict reverse-path filtering for IPv6 (neighbour discovery excepted: it is
    sent from link-local or unspecified addresses)."""
    return "\n".join(
        [
            f"table ip6 {ANTISPOOF_TABLE}",
            f"delete table ip6 {ANTISPOOF_TABLE}",
            f"table ip6 {ANTISPOOF_TABLE} {{",
            "  chain prerouting {",
            "    type filter hook prerouting priority raw; policy accept;",
            "    meta l4proto != ipv6-icmp fib saddr . iif oif missing counter drop",
            "  }",
            "}",
            "",
        ]
    )


def _services_chain(ip: str, entries: list[ServiceEntry]) -> list[str]:
    lines = ["  chain services {"]
    for e in entries:
        if len(e.backends) > 1:
            choices = ", ".join(f"{i} : {_pair(b)}" for i, b in enumerate(e.backends))
            lines.append(
                f"    {ip} daddr {e.cluster_ip} {_l4(e.protocol)} dport {e.port}"
                f" dnat to numgen random mod {len(e.backends)} map {{ {choices} }}"
            )
    for protocol in Protocol:
        l4 = _l4(protocol)
        lines.append(f"    meta l4proto {l4} dnat to {ip} daddr . {l4} dport map @{_map(protocol)}")
    lines.append("  }")
    return lines


def _map(protocol: Protocol) -> str:
    return f"svc_{_l4(protocol)}"


def _l4(protocol: Protocol) -> str:
    return protocol.value.lower()


def _pair(backend: tuple[str, int]) -> str:
    return f"{backend[0]} . {backend[1]}"


def _elements(items: list[str]) -> str:
    return f" elements = {{ {', '.join(items)} }}" if items else ""


def _ip_key(ip: str) -> tuple[int, int]:
    address = ipaddress.ip_address(ip)
    return (address.version, int(address))


def _version(ip: str) -> int:
    return 6 if ":" in ip else 4
