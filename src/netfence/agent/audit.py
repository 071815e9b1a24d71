"""The agent's audit mode: would-be denies recorded, with attribution, never dropped.

- **Audited policies** (``--audit-namespace NS``, ``--audit-policy NS/NAME`` or
  ``KIND/NAME``, or the annotation ``netfence.io/audit: "true"`` on the policy or
  on its Namespace) are left out of the enforced table and compiled into the
  audit table only.
- **Staged candidates** (``--candidates DIR``) are compiled into the audit table
  only, beside every enforced and audited policy: only the enforced set decides.

The audit table (nft/audit.py) logs each deny it would make through NFLOG, with
an id naming the deny; ``Auditor.record`` turns each event read back
(io/nflog.py) into netfence's flow record (docs/flows.md), mode ``audit``,
verdict ``denied``, its pods looked up in the audited cluster and its
attribution from the id table of the table that logged it.

Audit is additive and fails alone: a failure here (a candidate directory that
does not parse or validate, nft refusing the audit table) is logged and leaves
the previous audit table, and never touches the enforced one.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netfence.agent.sources import DirectorySource, Source, version_digest
from netfence.agent.state import prepare
from netfence.compile import compile_policies
from netfence.errors import EnvironmentProblem
from netfence.io.nflog import NflogEvent, RecordFile, UlogdReader, over_limit
from netfence.io.nft import Applier
from netfence.model.cluster import Cluster, Pod
from netfence.model.diagnostics import Severity
from netfence.model.tiers import TierKind
from netfence.nft.audit import (
    OVER_LIMIT,
    AuditOptions,
    AuditTable,
    DenyEntry,
    audit_table,
    entry_of_prefix,
)
from netfence.parse.build import ConversionCache, build_cluster
from netfence.parse.documents import RawDocument
from netfence.parse.flows_json import GAP_KIND, NETFENCE_KIND, NETFENCE_VERSION

Json = dict[str, Any]
AUDIT_ANNOTATION = "netfence.io/audit"
POLICY_KINDS = frozenset({"NetworkPolicy", *(k.kind for k in TierKind)})
PROTOCOLS = {6: "TCP", 17: "UDP", 132: "SCTP"}
RETRY_SECONDS = 5.0  # a failed audit table is tried again this long after


def _policy_key(doc: RawDocument) -> tuple[str, str, str] | None:
    if doc.kind not in POLICY_KINDS:
        return None
    namespace = _name(doc.obj, "namespace") if doc.kind == "NetworkPolicy" else ""
    return doc.kind, namespace or "default", _name(doc.obj, "name")


def _annotated(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("metadata")
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(notes, dict) and notes.get(AUDIT_ANNOTATION) == "true"


def _name(obj: Mapping[str, Any], key: str) -> str:
    meta = obj.get("metadata")
    value = meta.get(key) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class AuditSelection:
    """Which policies are audited instead of enforced."""

    namespaces: frozenset[str] = frozenset()
    policies: frozenset[str] = frozenset()  # "ns/name" (NetworkPolicy) or "Kind/name"

    def split(
        self, documents: Iterable[RawDocument]
    ) -> tuple[tuple[RawDocument, ...], tuple[RawDocument, ...]]:
        """(enforced, audited) documents; every document not an audited policy is
        enforced."""
        docs = tuple(documents)
        namespaces = set(self.namespaces) | {
            _name(d.obj, "name") for d in docs if d.kind == "Namespace" and _annotated(d.obj)
        }
        enforced: list[RawDocument] = []
        audited: list[RawDocument] = []
        for doc in docs:
            (audited if self._audits(doc, namespaces) else enforced).append(doc)
        return tuple(enforced), tuple(audited)

    def _audits(self, doc: RawDocument, namespaces: set[str]) -> bool:
        if doc.kind not in POLICY_KINDS:
            return False
        name = _name(doc.obj, "name")
        if doc.kind == "NetworkPolicy":
            namespace = _name(doc.obj, "namespace") or "default"
            if namespace in namespaces or f"{namespace}/{name}" in self.policies:
                return True
        elif f"{doc.kind}/{name}" in self.policies:
            return True
        return _annotated(doc.obj)


@dataclass
class AuditStats:
    events: int = 0  # NFLOG events read
    records: int = 0  # records written
    unknown: int = 0  # events whose id no audit table of this agent had
    other: int = 0  # events of other protocols (ICMP, neighbour discovery): not recorded
    over_limit: int = 0  # events the rate limit left out (the nft counter)
    failures: int = 0  # audit tables not applied
    queue_dropped: int = 0  # lines read from ulogd but not handled (the queue was full)


@dataclass
class _Table:
    """One applied audit table and the cluster it was compiled from."""

    table: AuditTable
    cluster: Cluster
    text: str


@dataclass
class Auditor:
    options: AuditOptions
    selection: AuditSelection
    applier: Applier
    node: str | None = None
    candidates: Source | None = None  # a directory of staged candidate policies
    log: Callable[[str], None] = lambda line: None
    stats: AuditStats = field(default_factory=AuditStats)
    _current: _Table | None = None
    _previous: _Table | None = None  # ids of the table before (events in flight)
    _documents: tuple[RawDocument, ...] = ()
    _last_good: Mapping[str, RawDocument] = field(default_factory=dict)
    _staged: tuple[RawDocument, ...] = ()
    _staged_version: object = None  # the candidates' version taken
    _seen_version: object = None  # the candidates' version last read
    # after each audit table built: the digest of the candidates' version it holds
    on_built: Callable[[str], None] = lambda version: None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failed: bool = False  # the last build failed: try again (after RETRY_SECONDS)
    _retry_at: float = 0.0
    _conversions: ConversionCache = field(default_factory=ConversionCache)
    counter: Callable[[], int | None] | None = None  # the over-limit counter (nft)
    on_gap: Callable[[Json], None] = lambda record: None
    _counter_seen: int = 0  # the counter's value at the last gap said

    def enforced(self, documents: tuple[RawDocument, ...]) -> tuple[RawDocument, ...]:
        return self.selection.split(documents)[0]

    def sync(
        self,
        documents: tuple[RawDocument, ...],
        last_good: Mapping[str, RawDocument],
        conversions: ConversionCache | None = None,
    ) -> None:
        """After each enforced sync: the audit table of every document (enforced and
        audited) plus the staged candidates. Never raises. ``conversions``: the
        agent's, so that documents are converted once for both tables."""
        with self._lock:
            self._documents, self._last_good = documents, last_good
            if conversions is not None:
                self._conversions = conversions
            self._rebuild()

    def refresh(self) -> None:
        """When the candidates changed since the last build: build again."""
        with self._lock:
            if not self._documents:
                return  # no enforced sync yet
            if self._failed and time.monotonic() < self._retry_at:
                return
            if self._failed or self._read_candidates():
                self._rebuild(read=False)

    def _rebuild(self, read: bool = True) -> None:
        try:
            if read:
                self._read_candidates()
            staged = {_policy_key(d) for d in self._staged}
            kept = (d for d in self._documents if _policy_key(d) not in staged)
            documents = (*kept, *self._staged)  # a staged version replaces the policy
            prepared = prepare(documents, self._last_good, self._conversions)
            cluster = prepared.cluster
            compiled = compile_policies(cluster.policies, cluster.cluster_policies)
            table = audit_table(compiled, cluster, self.node, self.options, prepared.quarantined)
            text = table.render()
            if self._current is None or text != self._current.text:
                self._check_gap()  # the table's counters restart with it
                self.applier.apply(text)
                self._counter_seen = 0
                self._previous, self._current = self._current, _Table(table, cluster, text)
            self._failed = False
            self.on_built(version_digest(self._staged_version))
        except Exception as exc:  # audit must never stop enforcement
            self._failed, self._retry_at = True, time.monotonic() + RETRY_SECONDS
            self.stats.failures += 1
            self.log(f"error: audit table not updated (enforcement unchanged): {exc}")

    def _read_candidates(self) -> bool:
        """Take the candidate directory when it reads and validates whole; else keep
        the last candidates that did (and say why). True when they changed."""
        if self.candidates is None:
            return False
        snapshot = self.candidates.snapshot()
        if snapshot.version == self._seen_version or snapshot.waiting:
            return False
        self._seen_version = snapshot.version
        docs = tuple(d for d in snapshot.documents if d.kind in POLICY_KINDS)
        problems = [d for d in snapshot.diagnostics if d.severity is Severity.ERROR]
        problems += [d for d in build_cluster(docs).diagnostics if d.severity is Severity.ERROR]
        others = len(snapshot.documents) - len(docs)
        if others:
            self.log(f"notice: candidates: {others} document(s) that are no policy ignored")
        if problems:
            for d in problems:
                self.log(f"error: candidates: {d.format()}")
            self.log("error: candidates not taken; the last good candidates stay staged")
            return False
        self._staged, self._staged_version = docs, snapshot.version
        self.log(f"audit: {len(docs)} candidate policies staged")
        return True

    # --- events → records -------------------------------------------------------------

    def record(self, event: NflogEvent) -> Json | None:
        """The record of one NFLOG event of the audit table (None: not ours)."""
        self.stats.events += 1
        key = entry_of_prefix(event.prefix)
        if key is None:
            return None
        if event.protocol not in PROTOCOLS:  # policies name TCP, UDP and SCTP only
            self.stats.other += 1
            return None
        with self._lock:
            tables = [t for t in (self._current, self._previous) if t is not None]
        found = next(((t, t.table.entries[key]) for t in tables if key in t.table.entries), None)
        cluster = found[0].cluster if found else (tables[0].cluster if tables else None)
        entry = found[1] if found else None
        if entry is None:
            self.stats.unknown += 1
        self.stats.records += 1
        return flow_record(event, entry, cluster, self.node, key)

    def gap(self, over_limit: int, now: float) -> Json | None:
        """A record that says how many events the rate limit left out since the last
        one (None: none). ``over_limit``: the counter's value now (it restarts at 0
        with each audit table applied)."""
        if over_limit < self._counter_seen:
            self._counter_seen = 0  # the counter restarted
        dropped = over_limit - self._counter_seen
        if dropped <= 0:
            return None
        self._counter_seen = over_limit
        self.stats.over_limit += dropped
        self.log(f"warning: audit: {dropped} would-be denies not recorded (rate limit)")
        return {
            "kind": GAP_KIND,
            "version": NETFENCE_VERSION,
            "time": _iso(now),
            "node": self.node,
            "reason": "rate-limit",
            "not_recorded": dropped,
        }

    def check_gap(self) -> None:
        """Read the rate limit's counter and say what it left out (``on_gap``)."""
        with self._lock:
            self._check_gap()

    def _check_gap(self) -> None:
        value = self.counter() if self.counter is not None else None
        found = None if value is None else self.gap(value, time.time())
        if found is not None:
            self.on_gap(found)


def flow_record(
    event: NflogEvent, entry: DenyEntry | None, cluster: Cluster | None, node: str | None, key: str
) -> Json:
    """netfence's flow record (version 1) of a would-be deny: the direction that
    logged it is ``decided_by`` and that direction's field; the other direction
    is judged elsewhere (on the other end's node) and left out."""
    decided = None if entry is None else direction_json(entry)
    record: Json = {
        "kind": NETFENCE_KIND,
        "version": NETFENCE_VERSION,
        "time": _iso(event.time),
        "src": _end(event.src, event.src_port, cluster),
        "dst": _end(event.dst, event.dst_port, cluster),
        "protocol": PROTOCOLS[event.protocol],
        "reply": False,
        "verdict": "denied",
        "mode": "audit",
        "decided_by": decided,
        "node": node,
        "audit_id": key,
    }
    if entry is not None:
        record[entry.direction.value.lower()] = decided
    return record


def direction_json(entry: DenyEntry) -> Json:
    """The fields of analysis.flows_record.direction_record."""
    return {
        "direction": entry.direction.value.lower(),
        "tier": entry.tier,
        "outcome": entry.outcome,
        "policies": list(entry.policies),
        "rule": entry.rule,
    }


def _end(ip: str, port: int, cluster: Cluster | None) -> Json:
    pod: Pod | None = None
    if cluster is not None:
        try:
            pod = cluster.pod_by_ip(ipaddress.ip_address(ip))
        except ValueError:
            pod = None
    return {
        "ip": ip,
        "port": port,
        "pod": None if pod is None else pod.key,
        "workload": None if pod is None or pod.workload is None else pod.workload.format(),
    }


def _iso(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class AuditMode:
    """Audit mode wired to the world: the auditor, ulogd2 reading the NFLOG group,
    the record file, and a thread that says record gaps (the rate limit's counter)
    (once a second) and takes changed candidates (four times a second)."""

    auditor: Auditor
    records: RecordFile
    workdir: Path
    log: Callable[[str], None]
    _reader: UlogdReader | None = None
    _thread: threading.Thread | None = None

    @staticmethod
    def create(
        path: Path,
        max_bytes: int,
        namespaces: Iterable[str],
        policies: Iterable[str],
        candidates: Path | None,
        rate_and_group: tuple[int, int],
        applier: Applier,
        node: str | None,
        log: Callable[[str], None],
    ) -> AuditMode:
        rate, group = rate_and_group
        options = AuditOptions(group=group, rate=rate, burst=2 * rate)
        selection = AuditSelection(frozenset(namespaces), frozenset(policies))
        staged = DirectorySource(candidates, settle=0.3) if candidates is not None else None
        auditor = Auditor(options, selection, applier, node, staged, log)
        status = path.with_name(path.name + ".status.json")
        auditor.on_built = lambda version: _write_status(status, version)
        workdir = path.with_name(path.name + ".ulogd")
        return AuditMode(auditor, RecordFile(path, max_bytes), workdir, log)

    def start(self, stop: threading.Event, netns: str | None) -> None:
        """Read events: ulogd runs in ``netns`` (where the tables are), or in this
        process's network namespace."""
        group = self.auditor.options.group
        reader = UlogdReader(group, self.workdir, self._event, self.log, netns)
        try:
            reader.start()
        except (EnvironmentProblem, OSError) as exc:  # enforcing matters more than recording
            self.log(f"error: audit: would-be denies are NOT recorded: {exc}")
        else:
            self._reader = reader
            self.log(f"audit: recording would-be denies in {self.records.path}")
        table = self.auditor.options.table
        self.auditor.counter = lambda: over_limit(table, OVER_LIMIT, netns)
        self.auditor.on_gap = self._write
        self._thread = threading.Thread(target=self._watch, args=(stop,), daemon=True)
        self._thread.start()

    def _event(self, event: NflogEvent) -> None:
        record = self.auditor.record(event)
        if record is not None:
            self._write(record)

    def _write(self, record: Json) -> None:
        try:
            self.records.write(record)
        except OSError as exc:
            self.log(f"error: audit record not written: {exc}")

    def _watch(self, stop: threading.Event) -> None:
        ticks = 0
        while not stop.wait(0.25):
            self.auditor.refresh()
            if self._reader is not None:
                self.auditor.stats.queue_dropped = self._reader.dropped
            ticks += 1
            if ticks % 4:
                continue  # the counter once a second
            self.auditor.check_gap()

    def stop(self) -> None:
        if self._reader is not None:
            self._reader.stop()
        self.records.close()


def _write_status(path: Path, version: str) -> None:
    """``{"version": …}``: the candidates the audit table holds (the lab waits on it)."""
    temporary = path.with_name(path.name + ".tmp")
    with contextlib.suppress(OSError):
        temporary.write_text(json.dumps({"version": version}))
        os.replace(temporary, path)
