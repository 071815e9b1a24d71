"""A small pure interpreter of netfence's rulesets (nft.model.Ruleset), for the
property tests: what the kernel does with the first packet of a new connection,
for the rule forms the compiler writes. Written from nftables' documented
semantics, independently of the compiler:

- base chains run their rules in order and end in their policy (accept);
- ``vmap`` looks the address up in a verdict map: no element, no verdict; a
  ``jump`` runs the chain; ``accept`` there ends the base chain (accepted),
  ``drop``/``reject`` end the packet, ``return`` or the chain's end go on after
  the ``vmap`` rule;
- ``ip``/``ip6`` matches hold only for packets of that family.

Any rule form it does not know fails the test (so a new form cannot slip by)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from netfence.model.policy import IPAddress
from netfence.nft.model import Chain, Ruleset

FAMILY = {"ip": 4, "ip6": 6}


@dataclass(frozen=True)
class Packet:
    src: IPAddress
    dst: IPAddress
    protocol: str  # "tcp", "udp", "sctp"
    port: int

    @property
    def family(self) -> int:
        return self.src.version


def _address(text: str) -> IPAddress:
    return ipaddress.ip_address(text)


def _interval(text: str) -> tuple[int, int]:
    if "/" in text:
        net = ipaddress.ip_network(text)
        return int(net.network_address), int(net.broadcast_address)
    if "-" in text:
        lo, _, hi = text.partition("-")
        return int(_address(lo)), int(_address(hi))
    return int(_address(text)), int(_address(text))


def _ports(text: str) -> list[tuple[int, int]]:
    items = text.strip("{} ").split(",")
    found = []
    for item in items:
        lo, _, hi = item.strip().partition("-")
        found.append((int(lo), int(hi or lo)))
    return found


class Interpreter:
    def __init__(self, ruleset: Ruleset) -> None:
        self.chains: dict[str, Chain] = {c.name: c for c in ruleset.chains}
        self.maps = {m.name: {_address(k): v for k, v in m.elements} for m in ruleset.maps}
        self.intervals: dict[str, list[tuple[int, int]]] = {}
        self.tuples: dict[str, set[tuple[int, str, int]]] = {}
        for s in ruleset.sets:
            if s.interval:
                self.intervals[s.name] = [_interval(e) for e in s.elements]
            else:
                entries = set()
                for e in s.elements:
                    ip, proto, port = (part.strip() for part in e.split(" . "))
                    entries.add((int(_address(ip)), proto, int(port)))
                self.tuples[s.name] = entries

    def accepts(self, base: str, packet: Packet) -> bool:
        """Does base chain ``base`` let the first packet of a connection through?"""
        for rule in self.chains[base].rules:
            if rule == "ct state established,related accept":
                continue  # a new connection
            words = rule.split()
            assert words[2] == "vmap", rule
            if FAMILY[words[0]] != packet.family:
                continue
            address = packet.src if words[1] == "saddr" else packet.dst
            target = self.maps[words[3][1:]].get(address)
            if target is None:
                continue
            kind, chain = target.split()
            assert kind == "jump", target
            verdict = self.run(chain, packet)
            if verdict == "accept":
                return True
            if verdict == "drop":
                return False
        return True  # policy accept

    def run(self, chain: str, packet: Packet) -> str | None:
        """accept, drop, or None (return / end of chain)."""
        for rule in self.chains[chain].rules:
            verdict = self.rule(rule, packet)
            if verdict == "return":
                return None
            if verdict is not None:
                return verdict
        return None

    def rule(self, rule: str, packet: Packet) -> str | None:
        """The rule's verdict when it matches the packet, else None."""
        words = rule.split()
        i = 0
        while True:
            rest = words[i:]
            if rest in (["accept"], ["return"], ["counter", "drop"], ["drop"]):
                return {"counter": "drop"}.get(rest[0], rest[0])
            if rest == ["counter", "reject", "with", "icmpx", "type", "admin-prohibited"]:
                return "drop"
            if rest[0] in FAMILY and rest[2].startswith("@"):
                if FAMILY[rest[0]] != packet.family:
                    return None
                address = packet.src if rest[1] == "saddr" else packet.dst
                value = int(address)
                if not any(lo <= value <= hi for lo, hi in self.intervals[rest[2][1:]]):
                    return None
                i += 3
            elif rest[0] in FAMILY and rest[1:6] == ["daddr", ".", "meta", "l4proto", "."]:
                assert rest[6:8] == ["th", "dport"], rule
                if FAMILY[rest[0]] != packet.family:
                    return None
                key = (int(packet.dst), packet.protocol, packet.port)
                if key not in self.tuples[rest[8][1:]]:
                    return None
                i += 9
            elif rest[:2] == ["meta", "l4proto"]:
                assert rest[3:5] == ["th", "dport"], rule
                if rest[2] != packet.protocol:
                    return None
                if rest[5] == "{":
                    end = rest.index("}")
                    text = " ".join(rest[5 : end + 1])
                    i += end + 1
                else:
                    text = rest[5]
                    i += 6
                if not any(lo <= packet.port <= hi for lo, hi in _ports(text)):
                    return None
            else:
                raise AssertionError(f"rule form not known to the interpreter: {rule}")

    def forward(self, packet: Packet) -> bool:
        """A packet routed through the node: the egress then the ingress base chain."""
        return self.accepts("forward_egress", packet) and self.accepts("forward_ingress", packet)

    def delivered(self, packet: Packet, from_local_node: bool) -> bool:
        """Is the first packet delivered? One sent by the destination's own node (its
        address is the node's: a hostNetwork pod there, the kubelet) leaves through
        the node's ``output`` hook straight to the pod, past no netfence chain."""
        return from_local_node or self.forward(packet)
