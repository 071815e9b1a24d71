"""The node agent loop: keep this node's ruleset equal to the desired state.

- one atomic ``nft -f`` transaction per sync, only when the ruleset changed;
- syncs are coalesced: changes that arrive while a sync waits for its minimum
  interval are all taken by that one sync;
- on start the ruleset is computed from scratch and replaces the table
  atomically: nothing is flushed, so there is never an allow-all window;
- strict mode: after a sync, conntrack entries of connections the new policies
  deny are deleted (reply traffic of still-allowed connections is untouched);
- never fail open, never die: the last good state (each file's last text that
  parsed, each Pod's and NetworkPolicy's last valid document) is stored on disk
  after each successful sync and loaded on start, so a restart is at least as
  strict as the process it replaces; a sync that fails (nft refuses the
  ruleset, anything unexpected) leaves the kernel table as it is, is logged and
  retried with a bounded exponential back-off.
"""

from __future__ import annotations

import gc
import ipaddress
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netfence.agent.incremental import NodeState
from netfence.agent.sources import DirectorySource, Source, version_digest
from netfence.agent.state import KEPT_KINDS, DesiredState, UnenforcedRule, document_key
from netfence.engine.evaluate import evaluate
from netfence.errors import EnvironmentProblem
from netfence.io.agent_store import StateStore, StoredState
from netfence.io.nft import Applier, Conntrack, Flow
from netfence.model.diagnostics import Diagnostic
from netfence.model.diagnostics import Source as Origin
from netfence.model.ports import Protocol
from netfence.model.tiers import short_key
from netfence.model.traffic import Connection, Endpoint
from netfence.nft.compiler import NftOptions
from netfence.nft.diff import update_script
from netfence.nft.model import Ruleset
from netfence.parse.build import ConversionCache
from netfence.parse.documents import RawDocument, parse_documents

if TYPE_CHECKING:
    from netfence.agent.audit import Auditor


@dataclass(frozen=True)
class SyncReport:
    applied: bool  # False: the ruleset was already in place (or: waiting)
    seconds: float
    diagnostics: tuple[Diagnostic, ...]
    flows_deleted: int = 0
    version: str = ""  # digest of the source version this sync enforced
    waiting: tuple[str, ...] = ()  # first sync not made: these files are mid-write
    files_kept: int = 0  # files standing on their last good documents
    objects_kept: int = 0  # objects standing on their last good version


@dataclass
class Metrics:
    """What the agent has done, for /metrics, /healthz and /readyz."""

    syncs: Counter[str] = field(default_factory=Counter)  # outcome → count
    consecutive_failures: int = 0
    last_success: float = 0.0  # unix time
    last_error: str = ""
    last_sync_seconds: float = 0.0
    ready: bool = False  # a first complete sync has been applied
    heartbeat: float = field(default_factory=time.monotonic)  # the loop's last sign of life
    rules: int = 0
    chains: int = 0
    sets: int = 0
    set_elements: int = 0
    map_elements: int = 0
    quarantined: int = 0
    files_kept: int = 0
    objects_kept: int = 0
    diagnostics: Counter[str] = field(default_factory=Counter)  # severity → count (last sync)
    flows_deleted: int = 0
    store_failures: int = 0
    rules_not_enforced: int = 0  # rules with domainNames peers, left (in part) out

    def record(self, report: SyncReport, state: DesiredState | None) -> None:
        outcome = "waiting" if report.waiting else "applied" if report.applied else "unchanged"
        self.syncs[outcome] += 1
        if report.waiting:
            return
        self.consecutive_failures = 0
        self.last_success = time.time()
        self.last_sync_seconds = report.seconds
        self.flows_deleted += report.flows_deleted
        self.diagnostics = Counter(d.severity.value for d in report.diagnostics)
        if state is not None:
            model = state.model
            self.rules = sum(len(c.rules) for c in model.chains)
            self.chains = len(model.chains)
            self.sets = len(model.sets)
            self.set_elements = sum(len(s.elements) for s in model.sets)
            self.map_elements = sum(len(m.elements) for m in model.maps)
            self.quarantined = len(state.quarantined)
        self.files_kept, self.objects_kept = report.files_kept, report.objects_kept

    def failed(self, problem: str) -> None:
        self.syncs["failed"] += 1
        self.consecutive_failures += 1
        self.last_error = problem


@dataclass
class Agent:
    source: Source
    applier: Applier
    node: str | None = None
    options: NftOptions = field(default_factory=NftOptions)
    conntrack: Conntrack | None = None  # strict mode when set
    log: Callable[[str], None] = lambda line: None
    on_sync: Callable[[SyncReport], None] = lambda report: None
    store: StateStore | None = None  # the last good state on disk
    incremental: bool = True  # apply only what changed (one transaction), else replace
    metrics: Metrics = field(default_factory=Metrics)
    audit: Auditor | None = None  # audit mode (agent/audit.py): audited policies not enforced
    backoff: tuple[float, float] = (0.5, 30.0)  # first and longest wait after a failed sync
    # "Kind/namespace/name" → raw document of the last valid version (Pods, policies)
    _last_good: Mapping[str, RawDocument] = field(default_factory=dict)
    _applied_model: Ruleset | None = None
    _version: object = None
    _stored: StoredState | None = None
    _restored: bool = False
    _store_lost: bool = False  # a stored state exists but could not be loaded
    _kept: frozenset[str] = frozenset()
    # after a restart: every document of the stored file texts, the last good
    # version of an object that turned invalid while the agent was down
    _fallback: Callable[[], list[RawDocument]] | None = None
    state: DesiredState | None = None
    _conversions: ConversionCache = field(default_factory=ConversionCache)
    _node_state: NodeState | None = None  # the desired state, kept between syncs
    _unenforced: tuple[UnenforcedRule, ...] = ()  # rules said not enforced

    @property
    def conversions(self) -> ConversionCache:
        """The documents converted so far, reused while the source hands them back."""
        return self._conversions

    @property
    def full_syncs(self) -> int:
        """Syncs that computed the desired state whole (not incrementally)."""
        return self._node_state.full_syncs if self._node_state is not None else 0

    def restore(self) -> None:
        """Load the last good state stored by an earlier process (once)."""
        if self._restored or self.store is None:
            self._restored = True
            return
        self._restored = True
        try:
            stored = self.store.load()
        except EnvironmentProblem as exc:
            self.log(f"warning: {exc}; starting without it")
            self._store_lost = True
            return
        if isinstance(self.source, DirectorySource):
            self.source.seed(stored.files)
            self._fallback = lambda: _documents_of(stored.files)
        origin = Origin(f"{self.store.path} (last good)", 0)
        self._last_good = {
            **{key: RawDocument(origin, obj) for key, obj in stored.objects.items()},
            **self._last_good,
        }
        self._stored = stored
        self.log(
            f"notice: loaded the last good state: {len(stored.files)} files, "
            f"{len(stored.objects)} objects"
        )

    def sync(self) -> SyncReport:
        """One sync; raises when it cannot apply (the kernel table is then unchanged).
        The cyclic collector is off during the sync: its full passes over the
        documents and model a first sync builds took a third of the sync's time at
        100k pods (bench/agent.py); what the sync drops is still freed by reference
        counting, and the heap it keeps is frozen after (_settle_heap)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._sync()
        finally:
            if enabled:
                gc.enable()

    def _sync(self) -> SyncReport:
        self.restore()
        start = time.perf_counter()
        snapshot = self.source.snapshot()
        self._version = snapshot.version
        version = version_digest(snapshot.version)
        waiting = snapshot.waiting
        if self._applied_model is None and self._store_lost:
            # nothing can stand in for a file that fails now: the table in the kernel
            # (an earlier agent's) may be stricter; leave it until the files read
            waiting += tuple(
                sorted({d.source.file for d in snapshot.diagnostics if d.source and _is_error(d)})
            )
        if self._applied_model is None and waiting:
            # never a first apply from a state with files missing: wait for them
            for d in snapshot.diagnostics:
                self.log(f"{d.severity.value}: {d.format()}")
            self.log(
                f"notice: the kernel table is left as it is: waiting for {len(waiting)} "
                f"file(s) to settle or read ({', '.join(waiting[:3])})"
            )
            report = SyncReport(
                False, time.perf_counter() - start, snapshot.diagnostics, 0, version, waiting
            )
            self.metrics.record(report, None)
            return report
        last_good: Mapping[str, RawDocument] = self._last_good
        if self._fallback is not None:  # the first sync after a restart
            last_good = _WithFallback(self._last_good, self._fallback)
        if self._node_state is None:
            self._node_state = NodeState(self.node, self.options, self._conversions)
        documents, parts = snapshot.documents, snapshot.parts
        if self.audit is not None:  # audited policies: in the audit table only
            documents, parts = self.audit.enforced(documents), None
        state = self._node_state.sync(documents, last_good, parts)
        self._say_unenforced(state.unenforced)
        diagnostics = (*snapshot.diagnostics, *state.diagnostics)
        for d in diagnostics:
            self.log(f"{d.severity.value}: {d.format()}")
        applied, deleted = False, 0
        if state.model != self._applied_model:
            self._apply(state)
            self._applied_model = state.model
            deleted = self._revoke(state) if self.conntrack is not None else 0
            applied = True
        report = SyncReport(
            applied, time.perf_counter() - start, diagnostics, deleted, version, (),
            len(snapshot.kept), len(state.kept),
        )  # fmt: skip
        self._last_good = state.good_documents  # a new one each sync, never changed
        self._kept = state.kept
        self._fallback = None
        self.state = state
        self._persist()
        self.metrics.record(report, state)
        self.metrics.ready = True
        if self.audit is not None:  # after the enforced table; never raises
            self.audit.sync(snapshot.documents, state.good_documents, self._conversions)
        self.on_sync(report)
        _settle_heap()
        return report

    def _say_unenforced(self, rules: tuple[UnenforcedRule, ...]) -> None:
        """Policies are enforced but for ``domainNames`` peers (cluster-wide policies,
        EKS ApplicationNetworkPolicies), which match a connection made to a name:
        the dataplane sees addresses only. Say which rules lose such a peer (when
        that changes) and count them."""
        self.metrics.rules_not_enforced = len(rules)
        if rules != self._unenforced and rules:
            shown = [f"{short_key(r.policy)} {r.path}" for r in rules[:5]]
            self.log(
                f"warning: {len(rules)} rule(s) are NOT enforced "
                "in part: their domainNames peers are left out (nftables sees addresses, "
                "not the names connections were made to; the rest of each policy is "
                f"enforced): {', '.join(shown)}" + (" and others" if len(rules) > 5 else "")
            )
        self._unenforced = rules

    def _persist(self) -> None:
        """Store the last good state when it changed (after a successful sync)."""
        if self.store is None:
            return
        files = self.source.last_good_texts() if isinstance(self.source, DirectorySource) else {}
        # the objects that stand in for invalid ones now; and, from the Kubernetes
        # API (no files to keep), every valid NetworkPolicy: what might turn
        # invalid while the agent is down. (Pods the API server took, it validated.)
        last_good = self._last_good
        if isinstance(self.source, DirectorySource):
            objects = {key: last_good[key].obj for key in self._kept if key in last_good}
        else:
            objects = {
                key: doc.obj
                for key, doc in last_good.items()
                if key in self._kept or key.startswith("NetworkPolicy/")
            }
        stored = self._stored
        if stored is not None and _same(stored.files, files) and _same(stored.objects, objects):
            self._stored = StoredState(files, objects)  # the same: compare by identity next time
            return
        try:
            self.store.save(StoredState(files, objects))
            self._stored = StoredState(files, objects)
        except EnvironmentProblem as exc:
            self.metrics.store_failures += 1
            self.log(f"warning: the last good state was not stored: {exc}")

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
        self,
        stop: threading.Event,
        poll_interval: float = 1.0,
        min_interval: float = 0.5,
    ) -> None:
        """Sync now, then whenever the source changes (at most every ``min_interval``).
        A failed sync is retried after a back-off that doubles from ``backoff[0]``
        up to ``backoff[1]`` seconds (sooner when the source changes); the loop
        itself never ends but by ``stop``."""
        last_sync = 0.0
        retry_at: float | None = 0.0  # None: nothing to retry
        while not stop.is_set():
            self.metrics.heartbeat = time.monotonic()
            if (retry_at is not None and time.monotonic() >= retry_at) or self._changed():
                wait = last_sync + min_interval - time.monotonic()
                if wait > 0 and stop.wait(wait):
                    return
                retry_at = self._attempt()
                last_sync = time.monotonic()
            stop.wait(poll_interval)

    def _changed(self) -> bool:
        try:
            return self._version is None or self.source.snapshot().version != self._version
        except Exception as exc:  # a source must not raise; if it does, it is a failed sync
            self.log(f"error: reading the desired state failed: {exc!r}")
            return True

    def _attempt(self) -> float | None:
        """One sync; when it fails, the time to retry."""
        self.metrics.heartbeat = time.monotonic()
        try:
            report = self.sync()
        except Exception as exc:
            problem = str(exc) or repr(exc)
            self.metrics.failed(problem)
            low, high = self.backoff
            delay = min(high, low * 2.0 ** min(self.metrics.consecutive_failures - 1, 16))
            self.log(
                f"error: sync failed, the kernel table is left as it is; retrying in "
                f"{delay:.1f} s: {problem}"
            )
            return time.monotonic() + delay
        if report.waiting:
            return time.monotonic()  # check again at the next poll
        outcome = "applied" if report.applied else "unchanged"
        self.log(f"sync: {outcome} in {report.seconds:.3f} s")
        return None


class _WithFallback(Mapping[str, RawDocument]):
    """The last good documents, else those of the stored file texts (read once,
    only when some object is invalid and has no last good version of its own)."""

    def __init__(
        self, own: Mapping[str, RawDocument], fallback: Callable[[], list[RawDocument]]
    ) -> None:
        self._own, self._fallback = own, fallback
        self._index: dict[str, RawDocument] | None = None

    def __getitem__(self, key: str) -> RawDocument:
        if key in self._own:
            return self._own[key]
        if self._index is None:
            self._index = {
                document_key(doc): doc for doc in self._fallback() if doc.kind in KEPT_KINDS
            }
        return self._index[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._own)

    def __len__(self) -> int:
        return len(self._own)


def _is_error(d: Diagnostic) -> bool:
    return d.severity.value == "error"


def _documents_of(texts: Mapping[str, str]) -> list[RawDocument]:
    documents: list[RawDocument] = []
    for file, text in texts.items():
        try:
            documents.extend(parse_documents(text, file))
        except Exception:  # a stored text this version refuses: nothing from it
            continue
    return documents


def _same(old: Mapping[str, object], new: Mapping[str, object]) -> bool:
    """The stored mapping holds the very same values (by identity: no deep compare)."""
    if old.keys() != new.keys():
        return False
    return all(old[k] is v or old[k] == v for k, v in new.items())


def _settle_heap() -> None:
    """Move what the agent keeps between syncs (every document and model object of
    the cluster) out of the collector's generations. The cyclic collector's full
    passes otherwise rescan that whole heap during the next sync: at 10k pods,
    pauses of about 0.25 s inside a 0.2 s sync (bench/agent.py). Objects are
    still freed by reference counting when a later sync drops them."""
    gc.freeze()


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
