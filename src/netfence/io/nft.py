"""Loading rulesets with ``nft`` and reading/deleting conntrack entries: the agent's
side effects, behind one small seam each (fakes in tests)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from netfence.io.netns import Runner, SubprocessRunner, failed


def _in_netns(netns: str | None, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


class Applier(Protocol):
    def apply(self, ruleset: str) -> None: ...


@dataclass(frozen=True)
class NftApplier:
    """``nft -f -``: the whole ruleset in one transaction (in ``netns`` if given)."""

    netns: str | None = None
    runner: Runner = field(default_factory=SubprocessRunner)

    def apply(self, ruleset: str) -> None:
        self.runner.run(_in_netns(self.netns, ["nft", "-f", "-"]), stdin=ruleset)

    def check(self, ruleset: str) -> None:
        self.runner.run(_in_netns(self.netns, ["nft", "-c", "-f", "-"]), stdin=ruleset)


@dataclass(frozen=True)
class Flow:
    """One conntrack entry's original direction."""

    protocol: str  # tcp, udp, sctp
    src: str
    dst: str
    dport: int


class Conntrack(Protocol):
    def flows(self) -> list[Flow]: ...

    def delete(self, flow: Flow) -> None: ...


@dataclass(frozen=True)
class ConntrackTool:
    netns: str | None = None
    runner: Runner = field(default_factory=SubprocessRunner)

    def flows(self) -> list[Flow]:
        return parse_conntrack(self.runner.run(_in_netns(self.netns, ["conntrack", "-L"])).stdout)

    def delete(self, flow: Flow) -> None:
        argv = [
            "conntrack",
            "-D",
            "-p",
            flow.protocol,
            "--orig-src",
            flow.src,
            "--orig-dst",
            flow.dst,
        ]
        argv += ["--dport", str(flow.dport)]
        done = self.runner.run(_in_netns(self.netns, argv), check=False)
        if done.returncode != 0 and "0 flow entries" not in done.stderr:  # gone already: fine
            raise failed(done)


def parse_conntrack(text: str) -> list[Flow]:
    """``conntrack -L`` lines: ``tcp 6 431999 ESTABLISHED src=A dst=B sport=P dport=Q ...``
    (the first src/dst/dport are the original direction)."""
    flows = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] not in ("tcp", "udp", "sctp"):
            continue
        fields: dict[str, str] = {}
        for word in words:
            key, _, value = word.partition("=")
            if value and key not in fields:
                fields[key] = value
        if {"src", "dst", "dport"} <= fields.keys():
            flows.append(Flow(words[0], fields["src"], fields["dst"], int(fields["dport"])))
    return flows
