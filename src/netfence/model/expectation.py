"""Connectivity expectations: tests as code."""

from __future__ import annotations

from dataclasses import dataclass

from netfence.model.diagnostics import Source
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress
from netfence.model.ports import ContainerPort, Protocol


@dataclass(frozen=True, slots=True)
class DescribedEndpoint:
    """``fromLabels``/``toLabels``: a hypothetical pod of ``namespace`` with exactly
    ``labels``, declaring the container ``ports`` (so that named ports resolve)."""

    namespace: str
    labels: Labels
    ports: tuple[ContainerPort, ...] = ()

    def format(self) -> str:
        """The same text as the FROM/TO form: ``ui:app=ui``."""
        return f"{self.namespace}:{','.join(f'{k}={v}' for k, v in self.labels.items_)}"


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
    from_labels: DescribedEndpoint | None = None  # then ``from_`` is its text form
    to_labels: DescribedEndpoint | None = None

    @property
    def path(self) -> str:
        return f"[{self.index}]"
