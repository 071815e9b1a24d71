"""Connectivity expectations: tests as code."""

from __future__ import annotations

from dataclasses import dataclass

from netfence.model.diagnostics import Source
from netfence.model.policy import IPAddress
from netfence.model.ports import Protocol


@dataclass(frozen=True, slots=True)
class Expectation:
    """``from`` may reach (or may not reach) ``to`` on ``port``/``protocol``."""

    source: Source
    index: int
    from_: str
    to: str
    port: int | str | None
    protocol: Protocol
    allowed: bool
    name: str | None = None
    resolve: IPAddress | None = None

    @property
    def path(self) -> str:
        return f"[{self.index}]"
