"""Loading rulesets with ``nft`` and reading/deleting conntrack entries: the agent's
side effects, behind one small seam each (fakes in tests)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from netfence.errors import EnvironmentProblem


def _in_netns(netns: str | None, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv] if netns else list(argv)


def run(argv: Sequence[str], stdin: str | None = None) -> str:
    """Run a command; its failure becomes EnvironmentProblem with what it said."""
    try:
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise EnvironmentProblem(f"{argv[0]}: command not found") from None
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()
        raise EnvironmentProblem(f"{' '.join(argv[:5])}… failed ({proc.returncode}): {said[:2000]}")
    return proc.stdout


class Applier(Protocol):
    def apply(self, ruleset: str) -> None: ...


@dataclass(frozen=True)
class NftApplier:
    """``nft -f -``: the whole ruleset in one transaction (in ``netns`` if given)."""

    netns: str | None = None

    def apply(self, ruleset: str) -> None:
        run(_in_netns(self.netns, ["nft", "-f", "-"]), stdin=ruleset)

    def check(self, ruleset: str) -> None:
        run(_in_netns(self.netns, ["nft", "-c", "-f", "-"]), stdin=ruleset)


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

    def flows(self) -> list[Flow]:
        return parse_conntrack(run(_in_netns(self.netns, ["conntrack", "-L"])))

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
        try:
            run(_in_netns(self.netns, [*argv, "--dport", str(flow.dport)]))
        except EnvironmentProblem as exc:
            if "0 flow entries" not in str(exc):  # already gone: nothing to do
                raise


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
