"""A live cluster as input: what ``kubectl get … -A -o yaml`` would show, read with
the official ``kubernetes`` client.

Only ``--live`` reads a cluster (never by accident). The kubeconfig is found as
kubectl finds it: ``--kubeconfig``, else ``$KUBECONFIG`` (a list of files, merged),
else ``~/.kube/config``; with none of them, the in-cluster service account.

Every list is paginated (``limit``/``continue``, as kubectl's ``--chunk-size``).
The policy CRDs are read when the cluster serves them (``/apis`` discovery, then
the group version's resource list); one it does not serve is no error, it is
named in a notice. The objects become the same raw documents the file loaders
produce, each with kind and apiVersion (as ``kubectl get -o yaml`` prints list
items), and a Source naming the context and the object's API path.

Finished Jobs (condition Complete or Failed) are not read: they start no pod
again, and a Job stands for the pods of its template when its own are not given.

What could leak into a ticket through ``netfence snapshot`` and is never read by
netfence is left out of every object: ``metadata.managedFields``, the
last-applied-configuration annotation, and the containers' ``env``, ``envFrom``,
``command`` and ``args`` (pods and pod templates).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netfence.errors import EnvironmentProblem
from netfence.io.cluster import load_cluster
from netfence.model.diagnostics import Diagnostic, Source, notice
from netfence.parse.build import BuildResult
from netfence.parse.documents import RawDocument

PAGE_SIZE = 500  # kubectl's default --chunk-size
MAX_PAGES = 20_000  # of one list: 10 million objects
# Bytes of all answers of one read. 100k pods with their managedFields are about
# 1 GB of JSON; managedFields and env are dropped as items arrive (see redact).
MAX_LIVE_BYTES = 2048 * 2**20
TIMEOUT = (10.0, 120.0)  # seconds: connect, read
_RESTARTS = 3  # a list whose continue token expired (410) is restarted this many times


@dataclass(frozen=True)
class Kind:
    """One kind netfence reads: its group, the versions it understands (preferred
    first), its resource name and whether it is namespaced."""

    kind: str
    group: str
    versions: tuple[str, ...]
    plural: str
    namespaced: bool = True
    crd: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.versions[0]}" if self.group else self.versions[0]


BUILTIN_KINDS = (
    Kind("Namespace", "", ("v1",), "namespaces", namespaced=False),
    Kind("Node", "", ("v1",), "nodes", namespaced=False),
    Kind("Pod", "", ("v1",), "pods"),
    Kind("Service", "", ("v1",), "services"),
    Kind("Deployment", "apps", ("v1",), "deployments"),
    Kind("StatefulSet", "apps", ("v1",), "statefulsets"),
    Kind("DaemonSet", "apps", ("v1",), "daemonsets"),
    Kind("ReplicaSet", "apps", ("v1",), "replicasets"),
    Kind("Job", "batch", ("v1",), "jobs"),
    Kind("CronJob", "batch", ("v1",), "cronjobs"),
    Kind("NetworkPolicy", "networking.k8s.io", ("v1",), "networkpolicies"),
)

# Read when served; the resource name and scope come from discovery.
POLICY_CRDS = (
    Kind("AdminNetworkPolicy", "policy.networking.k8s.io", ("v1alpha1",), "", False, True),
    Kind("BaselineAdminNetworkPolicy", "policy.networking.k8s.io", ("v1alpha1",), "", False, True),
    Kind("ClusterNetworkPolicy", "policy.networking.k8s.io", ("v1alpha2",), "", False, True),
    Kind("ClusterNetworkPolicy", "networking.k8s.aws", ("v1alpha1",), "", False, True),
    Kind("ApplicationNetworkPolicy", "networking.k8s.aws", ("v1alpha1",), "", True, True),
    Kind("CiliumNetworkPolicy", "cilium.io", ("v2",), "", True, True),
    Kind("CiliumClusterwideNetworkPolicy", "cilium.io", ("v2",), "", False, True),
    Kind("NetworkPolicy", "crd.projectcalico.org", ("v1",), "", True, True),
    Kind("GlobalNetworkPolicy", "crd.projectcalico.org", ("v1",), "", False, True),
)

_BUILTIN_CALLS: dict[str, tuple[str, str]] = {
    "Namespace": ("CoreV1Api", "list_namespace"),
    "Node": ("CoreV1Api", "list_node"),
    "Pod": ("CoreV1Api", "list_pod_for_all_namespaces"),
    "Service": ("CoreV1Api", "list_service_for_all_namespaces"),
    "Deployment": ("AppsV1Api", "list_deployment_for_all_namespaces"),
    "StatefulSet": ("AppsV1Api", "list_stateful_set_for_all_namespaces"),
    "DaemonSet": ("AppsV1Api", "list_daemon_set_for_all_namespaces"),
    "ReplicaSet": ("AppsV1Api", "list_replica_set_for_all_namespaces"),
    "Job": ("BatchV1Api", "list_job_for_all_namespaces"),
    "CronJob": ("BatchV1Api", "list_cron_job_for_all_namespaces"),
    "NetworkPolicy": ("NetworkingV1Api", "list_network_policy_for_all_namespaces"),
}

_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_CONTAINER_SECRETS = ("env", "envFrom", "command", "args")
_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


@dataclass(frozen=True)
class LiveRead:
    """What was read from one cluster."""

    context: str
    server: str
    documents: tuple[RawDocument, ...]
    not_served: tuple[str, ...]  # "CiliumNetworkPolicy (cilium.io)", …

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        if not self.not_served:
            return ()
        return (
            notice(
                "not served by this cluster, so none read: " + ", ".join(self.not_served),
                Source(f"context {self.context}", 0),
            ),
        )

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for doc in self.documents:
            counts[doc.kind] = counts.get(doc.kind, 0) + 1
        return counts


class ApiFailure(Exception):
    """An HTTP error status from the API server, with its Status message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Forbidden:
    kind: Kind
    plural: str
    message: str

    def rule(self) -> str:
        group, plural = json.dumps(self.kind.group), json.dumps(self.plural)
        return f'apiGroups: [{group}], resources: [{plural}], verbs: ["list"]'


def load_with_live(
    read: LiveRead,
    files: Sequence[str] = (),
    kustomizations: Sequence[str] = (),
    namespace: str | None = None,
) -> BuildResult:
    """The cluster as read, with -f/-k files applied on top (as kubectl apply would:
    an object with the same kind, namespace and name replaces the live one)."""
    return load_cluster(files, kustomizations, namespace, read.documents, read.diagnostics)


# --- connecting ---------------------------------------------------------------


def kubeconfig_path(kubeconfig: str | None) -> str | None:
    """kubectl's order: the flag, $KUBECONFIG (files joined by os.pathsep), the
    default file; None when there is none of them (then: in-cluster)."""
    if kubeconfig:
        return kubeconfig
    env = os.environ.get("KUBECONFIG", "")
    if any(part for part in env.split(os.pathsep)):
        return env
    default = Path("~/.kube/config").expanduser()
    return str(default) if default.is_file() else None


class Connection:
    """The official client, configured from a kubeconfig (or in-cluster), and the
    few calls the reader makes, each returning the decoded JSON the server sent."""

    def __init__(self, kubeconfig: str | None, context: str | None) -> None:
        try:
            import kubernetes
        except ImportError:
            raise EnvironmentProblem(
                "reading a live cluster needs the Kubernetes client: pip install 'netfence[k8s]'"
            ) from None
        self._k8s = kubernetes
        path = kubeconfig_path(kubeconfig)
        if path is None:
            if context:
                raise EnvironmentProblem(
                    f"--context {context}: no kubeconfig (give --kubeconfig or set KUBECONFIG)"
                )
            self.context, self.api = "in-cluster", self._in_cluster()
        else:
            self.context, self.api = self._from_kubeconfig(path, context)
        self.server = str(self.api.configuration.host)
        self.received = 0  # bytes of every answer so far

    def _in_cluster(self) -> Any:
        config = self._k8s.config
        try:
            configuration = self._k8s.client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            raise EnvironmentProblem(
                "no kubeconfig (--kubeconfig, $KUBECONFIG, ~/.kube/config) and not running "
                "in a cluster: give --kubeconfig PATH"
            ) from None
        return self._k8s.client.ApiClient(configuration)

    def _from_kubeconfig(self, path: str, context: str | None) -> tuple[str, Any]:
        config = self._k8s.config
        where = f"kubeconfig {path}"
        files = [p for p in path.split(os.pathsep) if p]
        missing = [p for p in files if not Path(p).expanduser().is_file()]
        if len(missing) == len(files):
            raise EnvironmentProblem(f"{where}: no such file")
        contexts: Any = None
        current: Any = None
        try:
            contexts, current = config.list_kube_config_contexts(config_file=path)
        except config.ConfigException as exc:
            if "current-context" not in str(exc):
                raise EnvironmentProblem(f"{where}: {_config_message(exc)}") from None
            if not context:
                raise EnvironmentProblem(
                    f"{where}: no current-context: give --context NAME"
                ) from None
        except Exception as exc:  # a file that is not YAML at all
            raise EnvironmentProblem(f"{where}: not a kubeconfig: {exc}") from None
        names = [c.get("name") for c in contexts or [] if isinstance(c, dict)]
        name = context or (current or {}).get("name")
        if not name:
            raise EnvironmentProblem(f"{where}: no current-context: give --context NAME")
        if contexts is not None and name not in names:
            known = ", ".join(str(n) for n in names) or "none"
            raise EnvironmentProblem(f'{where}: context "{name}" not found (contexts: {known})')
        try:
            api = config.new_client_from_config(
                config_file=path, context=name, persist_config=False
            )
        except config.ConfigException as exc:
            raise EnvironmentProblem(f"{where}: context {name}: {_config_message(exc)}") from None
        except Exception as exc:  # e.g. an unreadable certificate file
            raise EnvironmentProblem(f"{where}: context {name}: {exc}") from None
        return name, api

    # --- calls ---

    def _json(self, what: str, call: Callable[..., Any], **params: Any) -> Any:
        from urllib3.exceptions import HTTPError

        exceptions = self._k8s.client.exceptions
        try:
            response = call(**params, _preload_content=False, _request_timeout=TIMEOUT)
        except exceptions.ApiException as exc:
            raise ApiFailure(int(exc.status or 0), _status_message(exc)) from None
        except (HTTPError, OSError) as exc:
            raise EnvironmentProblem(
                f"context {self.context}: cannot reach the API server {self.server}: {_reason(exc)}"
            ) from None
        body = self._body(what, response)
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise EnvironmentProblem(
                f"context {self.context}: {what}: the API server's answer is not JSON "
                "(or nested deeper than Python reads)"
            ) from None

    def _body(self, what: str, response: Any) -> bytes:
        """The answer, read in chunks while the whole read stays under MAX_LIVE_BYTES."""
        from urllib3.exceptions import HTTPError

        chunks: list[bytes] = []
        try:
            while chunk := response.read(1 << 20):
                self.received += len(chunk)
                if self.received > MAX_LIVE_BYTES:
                    raise EnvironmentProblem(
                        f"context {self.context}: {what}: the cluster's answers pass "
                        f"{MAX_LIVE_BYTES:,} bytes, more than netfence reads in one run"
                    )
                chunks.append(chunk)
        except (HTTPError, OSError) as exc:
            raise EnvironmentProblem(
                f"context {self.context}: {what}: the answer broke off: {_reason(exc)}"
            ) from None
        finally:
            response.release_conn()
        return b"".join(chunks)

    def groups(self) -> Any:
        api = self._k8s.client.ApisApi(self.api)
        return self._json("GET /apis", api.get_api_versions)

    def resources(self, group: str, version: str) -> Any:
        api = self._k8s.client.CustomObjectsApi(self.api)
        return self._json(
            f"GET /apis/{group}/{version}", api.get_api_resources, group=group, version=version
        )

    def list_page(self, kind: Kind, plural: str, version: str, token: str | None) -> Any:
        paging: dict[str, Any] = {"limit": PAGE_SIZE}
        if token:
            paging["_continue"] = token
        if kind.crd:
            api = self._k8s.client.CustomObjectsApi(self.api)
            return self._json(
                f"list {plural}",
                api.list_cluster_custom_object,
                group=kind.group,
                version=version,
                plural=plural,
                **paging,
            )
        api_name, method = _BUILTIN_CALLS[kind.kind]
        call = getattr(getattr(self._k8s.client, api_name)(self.api), method)
        return self._json(f"list {plural}", call, **paging)


def _config_message(exc: Exception) -> str:
    text = str(exc)
    return text.removeprefix("Invalid kube-config file. ").strip() or "invalid kubeconfig"


def _status_message(exc: Any) -> str:
    """The message of the Status the API server sent, else the HTTP reason."""
    body = getattr(exc, "body", None)
    try:
        status = json.loads(body) if body else None
    except (TypeError, ValueError):
        status = None
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        return str(status["message"])
    return str(getattr(exc, "reason", "") or "no message")


def _reason(exc: BaseException) -> str:
    """The innermost cause of a connection failure, briefly."""
    reason: object = getattr(exc, "reason", None)
    while isinstance(reason, BaseException) and getattr(reason, "reason", None) is not None:
        reason = getattr(reason, "reason", None)
    text = str(reason if reason is not None else exc)
    if "Connection refused" in text:
        return "connection refused"
    if "timed out" in text.lower():
        return "timed out"
    return text


# --- reading ------------------------------------------------------------------


def read_live(kubeconfig: str | None = None, context: str | None = None) -> LiveRead:
    """Read every kind netfence uses from the cluster of ``context``."""
    return Reader(Connection(kubeconfig, context)).read()


@dataclass
class Reader:
    connection: Connection
    _resources: dict[tuple[str, str], Any] = field(default_factory=dict)  # discovery, once

    def read(self) -> LiveRead:
        documents: list[RawDocument] = []
        forbidden: list[Forbidden] = []
        for kind in BUILTIN_KINDS:
            try:
                documents.extend(self._list(kind, kind.plural, kind.versions[0], kind.namespaced))
            except ApiFailure as exc:
                forbidden.append(self._failure(kind, kind.plural, exc))
        not_served: list[str] = []
        served = self._served_groups()
        for kind in POLICY_CRDS:
            found = self._discover(kind, served)
            if found is None:
                not_served.append(f"{kind.kind} ({kind.group})")
                continue
            version, plural, namespaced = found
            try:
                documents.extend(self._list(kind, plural, version, namespaced))
            except ApiFailure as exc:
                if exc.status == 404:  # removed between discovery and list
                    not_served.append(f"{kind.kind} ({kind.group})")
                else:
                    forbidden.append(self._failure(kind, plural, exc))
        if forbidden:
            raise EnvironmentProblem(self._forbidden_message(forbidden))
        return LiveRead(
            self.connection.context,
            self.connection.server,
            tuple(documents),
            tuple(not_served),
        )

    def _failure(self, kind: Kind, plural: str, exc: ApiFailure) -> Forbidden:
        """A 403 is collected (every missing rule is named at once); anything else stops."""
        where = f"context {self.connection.context}"
        if exc.status == 403:
            return Forbidden(kind, plural, exc.message)
        if exc.status == 401:
            raise EnvironmentProblem(
                f"{where}: the API server rejected the credentials (401 Unauthorized): "
                f"{exc.message}"
            )
        group = f"{kind.group}/" if kind.group else ""
        raise EnvironmentProblem(
            f"{where}: list {group}{plural}: the API server answered {exc.status}: {exc.message}"
        )

    def _forbidden_message(self, forbidden: Sequence[Forbidden]) -> str:
        lines = [
            f"context {self.connection.context}: forbidden (403): netfence reads the whole "
            "cluster and may not list:",
        ]
        for f in forbidden:
            group = f.kind.group or "core"
            lines.append(f"  {f.plural} ({group}): {f.message}")
        lines.append("the ClusterRole of this user needs the rules (see docs/live.md):")
        lines.extend(f"  - {f.rule()}" for f in forbidden)
        return "\n".join(lines)

    def _served_groups(self) -> dict[str, set[str]]:
        try:
            answer = self.connection.groups()
        except ApiFailure as exc:
            if exc.status == 404:
                return {}
            raise EnvironmentProblem(
                f"context {self.connection.context}: GET /apis (discovery): "
                f"the API server answered {exc.status}: {exc.message}"
            ) from None
        served: dict[str, set[str]] = {}
        for group in _items(answer, "groups"):
            name = group.get("name")
            if isinstance(name, str):
                served[name] = {
                    v["version"]
                    for v in _items(group, "versions")
                    if isinstance(v.get("version"), str)
                }
        return served

    def _discover(self, kind: Kind, served: dict[str, set[str]]) -> tuple[str, str, bool] | None:
        """(version, resource name, namespaced) of a served CRD kind, else None."""
        for version in kind.versions:
            if version not in served.get(kind.group, set()):
                continue
            for resource in _items(self._group_resources(kind.group, version), "resources"):
                name = resource.get("name")
                if resource.get("kind") == kind.kind and isinstance(name, str) and "/" not in name:
                    return version, name, bool(resource.get("namespaced"))
        return None

    def _group_resources(self, group: str, version: str) -> Any:
        """``/apis/<group>/<version>`` (asked once); None when it is not found."""
        key = (group, version)
        if key not in self._resources:
            try:
                self._resources[key] = self.connection.resources(group, version)
            except ApiFailure as exc:
                if exc.status != 404:  # stale discovery: the group version is gone
                    raise EnvironmentProblem(
                        f"context {self.connection.context}: GET /apis/{group}/{version} "
                        f"(discovery): the API server answered {exc.status}: {exc.message}"
                    ) from None
                self._resources[key] = None
        return self._resources[key]

    def _list(
        self, kind: Kind, plural: str, version: str, namespaced: bool
    ) -> Iterable[RawDocument]:
        api_version = f"{kind.group}/{version}" if kind.group else version
        for restart in range(_RESTARTS + 1):
            items: list[RawDocument] = []
            token: str | None = None
            tokens: set[str] = set()  # a server that repeats one would never end the list
            try:
                while True:
                    page = self.connection.list_page(kind, plural, version, token)
                    for item in _items(page, "items"):
                        if kind.kind == "Job" and finished_job(item):
                            continue
                        obj = redact({**item, "kind": kind.kind, "apiVersion": api_version})
                        path = _api_path(kind.group, version, plural, namespaced, obj)
                        source = Source(f"context {self.connection.context}: {path}", 0)
                        items.append(RawDocument(source, obj))
                    meta = page.get("metadata") if isinstance(page, dict) else None
                    token = meta.get("continue") if isinstance(meta, dict) else None
                    if not token:
                        return items
                    if token in tokens or len(tokens) >= MAX_PAGES:
                        raise EnvironmentProblem(
                            f"context {self.connection.context}: list {plural}: the API server "
                            f"does not end the list (continue token {token!r} after "
                            f"{len(tokens) + 1} pages)"
                        )
                    tokens.add(token)
            except ApiFailure as exc:
                if exc.status == 410 and token and restart < _RESTARTS:
                    continue  # the continue token expired: list again from the start
                raise
        raise AssertionError("unreachable")  # pragma: no cover


def finished_job(job: dict[str, Any]) -> bool:
    """A Job whose Complete or Failed condition is True starts no pod again; its pods
    are gone or finished. Read, it would stand for pods expanded from its template
    (as a Job in a file does), so it is left out of a live read."""
    status = job.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return isinstance(conditions, list) and any(
        isinstance(c, dict)
        and c.get("type") in ("Complete", "Failed")
        and c.get("status") == "True"
        for c in conditions
    )


def _items(value: Any, key: str) -> list[dict[str, Any]]:
    found = value.get(key) if isinstance(value, dict) else None
    return [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []


def _api_path(group: str, version: str, plural: str, namespaced: bool, obj: dict[str, Any]) -> str:
    found = obj.get("metadata")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    name = str(meta.get("name", ""))
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    if namespaced:
        return f"{base}/namespaces/{meta.get('namespace', '')}/{plural}/{name}"
    return f"{base}/{plural}/{name}"


def redact(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without what netfence never reads and a ticket must not carry."""
    obj = dict(obj)
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        meta = {k: v for k, v in meta.items() if k != "managedFields"}
        annotations = meta.get("annotations")
        if isinstance(annotations, dict) and _LAST_APPLIED in annotations:
            meta["annotations"] = {k: v for k, v in annotations.items() if k != _LAST_APPLIED}
        obj["metadata"] = meta
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    if obj.get("kind") == "Pod":
        obj["spec"] = _redact_pod_spec(spec)
    elif obj.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        obj["spec"] = _redact_template(spec)
    elif obj.get("kind") == "CronJob":
        job = spec.get("jobTemplate")
        if isinstance(job, dict) and isinstance(job.get("spec"), dict):
            obj["spec"] = {**spec, "jobTemplate": {**job, "spec": _redact_template(job["spec"])}}
    return obj


def _redact_template(spec: dict[str, Any]) -> dict[str, Any]:
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        return {**spec, "template": {**template, "spec": _redact_pod_spec(template["spec"])}}
    return spec


def _redact_pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    spec = dict(spec)
    for key in _CONTAINER_LISTS:
        containers = spec.get(key)
        if isinstance(containers, list):
            spec[key] = [
                {k: v for k, v in c.items() if k not in _CONTAINER_SECRETS}
                if isinstance(c, dict)
                else c
                for c in containers
            ]
    return spec
