"""The node agent loop: keep this node's ruleset equal to the desired state.

- one atomic ``nft -f`` transaction per sync, only when the ruleset changed;
- syncs are coalesced: changes that arrive while a sync waits for its minimum
  interval are all taken by that one sync;
- on start the ruleset is computed from scratch and replaces the table
  atomically: nothing is flushed, so there is never an allow-all window;
- strict mode: after a sync, conntrack entries of connections the new policies
  deny are deleted (reply traffic of still-allowed connections is untouched).
"""

from __future__ import annotations

import gc
import ipaddress
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from netfence.agent.sources import Source, version_digest
from netfence.agent.state import DesiredState, desired_state
from netfence.engine.evaluate import evaluate
from netfence.errors import EnvironmentProblem
from netfence.io.nft import Applier, Conntrack, Flow
from netfence.model.diagnostics import Diagnostic
from netfence.model.policy import NetworkPolicy
from netfence.model.ports import Protocol
from netfence.model.traffic import Connection, Endpoint
from netfence.nft.compiler import NftOptions
from netfence.nft.diff import update_script
from netfence.nft.model import Ruleset
from netfence.parse.build import ConversionCache


@dataclass(frozen=True)
class SyncReport:
    applied: bool  # False: the ruleset was already in place
    seconds: float
    diagnostics: tuple[Diagnostic, ...]
    flows_deleted: int = 0
    version: str = ""  # digest of the source version this sync enforced


@dataclass
class Agent:
    source: Source
    applier: Applier
    node: str | None = None
    options: NftOptions = field(default_factory=NftOptions)
    conntrack: Conntrack | None = None  # strict mode when set
    log: Callable[[str], None] = lambda line: None
    on_sync: Callable[[SyncReport], None] = lambda report: None
    _last_good: dict[str, NetworkPolicy] = field(default_factory=dict)
    incremental: bool = True  # apply only what changed (one transaction), else replace
    _applied: str | None = None
    _applied_model: Ruleset | None = None
    _version: object = None
    state: DesiredState | None = None
    _conversions: ConversionCache = field(default_factory=ConversionCache)

    def sync(self) -> SyncReport:
        start = time.perf_counter()
        snapshot = self.source.snapshot()
        self._version = snapshot.version
        state = desired_state(
            snapshot.documents, self.node, self._last_good, self.options, self._conversions
        )
        diagnostics = (*snapshot.diagnostics, *state.diagnostics)
        for d in diagnostics:
            self.log(f"{d.severity.value}: {d.format()}")
        self._last_good.update(state.good_policies)
        for key in list(self._last_good):
            if key not in state.good_policies and not _still_named(key, diagnostics):
                del self._last_good[key]  # deleted, not broken: forget it
        self.state = state
        version = version_digest(snapshot.version)
        if state.ruleset == self._applied:
            report = SyncReport(False, time.perf_counter() - start, diagnostics, 0, version)
        else:
            self._apply(state)
            self._applied, self._applied_model = state.ruleset, state.model
            deleted = self._revoke(state) if self.conntrack is not None else 0
            report = SyncReport(True, time.perf_counter() - start, diagnostics, deleted, version)
        self.on_sync(report)
        _settle_heap()
        return report

    def _apply(self, state: DesiredState) -> None:
        """The smallest transaction that gets there (nft.diff), or the whole table
        replaced atomically: on the first sync, when the shape changed, or when the
        update does not apply (someone changed the table behind the agent's back)."""
        previous = self._applied_model
        script = update_script(previous, state.model) if previous and self.incremental else None
        if script:
            try:
                self.applier.apply(script)
                return
            except EnvironmentProblem as exc:
                self.log(f"notice: update did not apply ({exc}); replacing the table")
        self.applier.apply(state.ruleset)

    def _revoke(self, state: DesiredState) -> int:
        """Delete the conntrack entries of connections the engine now denies."""
        assert self.conntrack is not None
        deleted = 0
        for flow in self.conntrack.flows():
            if not _allowed(state, flow):
                self.conntrack.delete(flow)
                deleted += 1
        return deleted

    def run(
        self, stop: threading.Event, poll_interval: float = 1.0, min_interval: float = 0.5
    ) -> None:
        """Sync now, then whenever the source changes (at most every ``min_interval``)."""
        last_sync = 0.0
        while not stop.is_set():
            if self._version is None or self.source.snapshot().version != self._version:
                wait = last_sync + min_interval - time.monotonic()
                if wait > 0 and stop.wait(wait):
                    return
                report = self.sync()
                last_sync = time.monotonic()
                outcome = "applied" if report.applied else "unchanged"
                self.log(f"sync: {outcome} in {report.seconds:.3f} s")
            stop.wait(poll_interval)


def _settle_heap() -> None:
    """Move what the agent keeps between syncs (every document and model object of
    the cluster) out of the collector's generations. The cyclic collector's full
    passes otherwise rescan that whole heap during the next sync: at 10k pods,
    pauses of about 0.25 s inside a 0.2 s sync (bench/agent.py). Objects are
    still freed by reference counting when a later sync drops them."""
    gc.freeze()


def _still_named(key: str, diagnostics: tuple[Diagnostic, ...]) -> bool:
    return any(d.obj is not None and f"{d.obj.namespace}/{d.obj.name}" == key for d in diagnostics)


def _allowed(state: DesiredState, flow: Flow) -> bool:
    cluster = state.cluster
    try:
        src_ip, dst_ip = ipaddress.ip_address(flow.src), ipaddress.ip_address(flow.dst)
    except ValueError:
        return True
    src, dst = cluster.pod_by_ip(src_ip), cluster.pod_by_ip(dst_ip)
    if src is None and dst is None:
        return True  # not pod traffic: not ours to judge
    conn = Connection(
        Endpoint(src_ip, src), Endpoint(dst_ip, dst), flow.dport, Protocol(flow.protocol.upper())
    )
    return evaluate(state.compiled, cluster, conn).allowed
