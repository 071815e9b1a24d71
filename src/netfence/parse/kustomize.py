"""kustomize, the part that decides what a cluster contains: the fields of a
kustomization file, and its transformers applied in kustomize's order. Reading
the files a kustomization names is io's job (``netfence.io.kustomize``); this
module works on what was read.

Order inside one kustomization, as kustomize runs it: its ``resources`` (each
base built on its own first), its ``components`` (each applied to everything
accumulated so far), then the transformers: ``patchesStrategicMerge``,
``patches``, ``namespace``, ``namePrefix``, ``nameSuffix``, ``labels`` then
``commonLabels``, ``commonAnnotations``, ``patchesJson6902``, ``replicas``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from netfence.errors import InvalidInputError
from netfence.model.completeness import field_not_applied
from netfence.model.diagnostics import Diagnostic, Source, error
from netfence.parse.documents import RawDocument, decode_all, type_name
from netfence.parse.kustomize_fields import (
    CLUSTER_SCOPED,
    COMMON_ANNOTATIONS,
    COMMON_LABELS,
    METADATA_LABELS,
    NAME_CHANGE_SKIPPED,
    REPLICAS,
    TEMPLATE_LABELS,
    FieldSpec,
)
from netfence.parse.kustomize_patch import (
    DELETE,
    PatchError,
    Target,
    group_version,
    json_patch,
    parse_selector,
    strategic_merge,
)

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# Fields netfence applies.
APPLIED = frozenset(
    {
        "resources",
        "bases",
        "components",
        "patches",
        "patchesStrategicMerge",
        "patchesJson6902",
        "namespace",
        "namePrefix",
        "nameSuffix",
        "labels",
        "commonLabels",
        "commonAnnotations",
        "replicas",
    }
)
# Fields that cannot change which pods, Services, namespaces or policies there
# are, nor their labels: read and left alone.
ACCEPTED = frozenset(
    {
        "apiVersion",
        "kind",
        "metadata",
        "images",
        "configMapGenerator",
        "secretGenerator",
        "generatorOptions",
        "buildMetadata",
        "sortOptions",
        "openapi",
        "crds",
        "vars",
    }
)
_REFUSED_WHY = {
    "helmCharts": "render the chart with `helm template` and list its output in resources",
    "helmGlobals": "render the chart with `helm template` and list its output in resources",
    "helmChartInflationGenerator": "render the chart with `helm template` first",
    "replacements": "replacements may rewrite any field, labels and selectors included",
    "configurations": "custom field specs change which fields labels and names go to",
    "generators": "generator plugins are not run",
    "transformers": "transformer plugins are not run",
    "validators": "validator plugins are not run",
}
_API_VERSIONS = ("kustomize.config.k8s.io/v1beta1", "kustomize.config.k8s.io/v1alpha1")

# kustomize's remote resources: URLs (https://, ssh://, git::…), scp-like git
# addresses (git@host:org/repo) and the hosts it knows without a scheme.
REMOTE = re.compile(
    r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*://|git::|[\w.-]+@[\w.-]+:"
    r"|(?:github\.com|gitlab\.com|bitbucket\.org)/|.*[?&]ref=)"
)


@dataclass(frozen=True, slots=True)
class PatchRef:
    """One patch as a kustomization names it: a file (``path``) or inline text.
    ``form`` is "any" (``patches``: the text decides), "strategic" or "json6902"."""

    field: str
    form: str
    path: str | None
    text: str | None
    target: Target | None


@dataclass(frozen=True, slots=True)
class LabelSet:
    pairs: tuple[tuple[str, str], ...]
    include_selectors: bool
    include_templates: bool


@dataclass(frozen=True, slots=True)
class Kustomization:
    kind: str
    resources: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    patches: tuple[PatchRef, ...] = ()
    namespace: str | None = None
    name_prefix: str = ""
    name_suffix: str = ""
    labels: tuple[LabelSet, ...] = ()
    common_labels: tuple[tuple[str, str], ...] = ()
    common_annotations: tuple[tuple[str, str], ...] = ()
    replicas: tuple[tuple[str, int], ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True, slots=True)
class Resource:
    """An object on its way through kustomize, with the (namespace, name) pairs it
    had before (a patch in an overlay may name it by its base's name)."""

    document: RawDocument
    previous: tuple[tuple[str, str], ...] = ()

    @property
    def obj(self) -> dict[str, Any]:
        return self.document.obj

    def with_obj(self, obj: dict[str, Any]) -> Resource:
        before = identity(self.obj)
        after = identity(obj)
        previous = self.previous if before == after else (*self.previous, before)
        return Resource(RawDocument(self.document.source, obj), previous)


def identity(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    namespace, name = meta.get("namespace"), meta.get("name")
    return (
        namespace if isinstance(namespace, str) else "",
        name if isinstance(name, str) else "",
    )


def resource_id(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """What kustomize keys resources by: group, kind, namespace, name."""
    group, _ = group_version(obj.get("apiVersion"))
    kind = obj.get("kind")
    namespace, name = identity(obj)
    return group, kind if isinstance(kind, str) else "", namespace, name


def describe(obj: dict[str, Any]) -> str:
    _, kind, namespace, name = resource_id(obj)
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


# --- reading a kustomization ----------------------------------------------------


def read_kustomization(obj: object, source: Source) -> Kustomization:
    """The fields of one kustomization file; every problem is an error naming the
    field (netfence never builds a partial kustomization)."""
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        return Kustomization(
            "Kustomization",
            diagnostics=(error(f"expected an object, got {type_name(obj)}", source),),
        )
    problems: list[Diagnostic] = []

    def problem(field: str, message: str) -> None:
        problems.append(error(message, source, field=field))

    for key in obj:
        if key in APPLIED or key in ACCEPTED:
            continue
        why = _REFUSED_WHY.get(key)
        if why:
            problem(key, f"not supported by netfence: {why} (docs/kustomize.md)")
        else:
            problem(key, "unknown field (kustomize refuses it too)")
    kind = obj.get("kind", "Kustomization")
    if kind not in ("Kustomization", "Component"):
        problem(
            "kind", f'Unsupported value: {kind!r}: supported values: "Component", "Kustomization"'
        )
        kind = "Kustomization"
    api_version = obj.get("apiVersion")
    if api_version is not None and api_version not in _API_VERSIONS:
        problem(
            "apiVersion",
            f"Unsupported value: {api_version!r}: supported values: "
            + ", ".join(f'"{v}"' for v in _API_VERSIONS),
        )
    resources = [*_strings(obj, "resources", problem), *_strings(obj, "bases", problem)]
    components = _strings(obj, "components", problem)
    namespace = _string(obj, "namespace", problem)
    patches = _patches(obj, problem)
    labels = _label_sets(obj, problem)
    replicas = _replicas(obj, problem)
    problems.extend(_options_not_applied(obj, source))
    return Kustomization(
        kind=kind,
        resources=tuple(resources),
        components=tuple(components),
        patches=tuple(patches),
        namespace=namespace or None,
        name_prefix=_string(obj, "namePrefix", problem) or "",
        name_suffix=_string(obj, "nameSuffix", problem) or "",
        labels=labels,
        common_labels=_pairs(obj.get("commonLabels"), "commonLabels", problem),
        common_annotations=_pairs(obj.get("commonAnnotations"), "commonAnnotations", problem),
        replicas=replicas,
        diagnostics=tuple(problems),
    )


def _options_not_applied(obj: dict[str, Any], source: Source) -> list[Diagnostic]:
    """patches[].options allowNameChange/allowKindChange are read but not applied (a
    targeted patch keeps the object's name and kind): the answer says so."""
    out = []
    for i, item in enumerate(obj.get("patches") or ()):
        options = item.get("options") if isinstance(item, dict) else None
        if not isinstance(options, dict):
            continue
        for key in ("allowNameChange", "allowKindChange"):
            if options.get(key) is True:
                out.append(
                    field_not_applied(
                        f"patches[{i}].options.{key}",
                        "not applied by netfence: the patched object keeps its "
                        "name and kind (docs/kustomize.md)",
                        source,
                    )
                )
    return out


def _strings(obj: dict[str, Any], field: str, problem: Any) -> list[str]:
    value = obj.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        problem(field, f"expected a list of paths, got {type_name(value)}")
        return []
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str) and item:
            out.append(item)
        else:
            problem(f"{field}[{i}]", f"expected a path, got {type_name(item)}")
    return out


def _string(obj: dict[str, Any], field: str, problem: Any) -> str | None:
    value = obj.get(field)
    if value is None or isinstance(value, str):
        return value
    problem(field, f"expected a string, got {type_name(value)}")
    return None


def _pairs(value: object, field: str, problem: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        problem(field, f"expected an object, got {type_name(value)}")
        return ()
    out = []
    for key, item in value.items():
        if isinstance(item, str):
            out.append((str(key), item))
        else:  # kustomize decodes these maps as map[string]string
            problem(f"{field}.{key}", f"expected a string, got {type_name(item)}")
    return tuple(out)


def _label_sets(obj: dict[str, Any], problem: Any) -> tuple[LabelSet, ...]:
    value = obj.get("labels")
    if value is None:
        return ()
    if not isinstance(value, list):
        problem("labels", f"expected a list, got {type_name(value)}")
        return ()
    out = []
    for i, item in enumerate(value):
        field = f"labels[{i}]"
        if not isinstance(item, dict):
            problem(field, f"expected an object, got {type_name(item)}")
            continue
        for key in sorted(set(item) - {"pairs", "includeSelectors", "includeTemplates"}):
            why = "custom fieldSpecs" if key == "fields" else "unknown field"
            problem(f"{field}.{key}", f"not supported by netfence: {why}")
        flags = []
        for flag in ("includeSelectors", "includeTemplates"):
            setting = item.get(flag, False)
            if not isinstance(setting, bool):
                problem(f"{field}.{flag}", f"expected a boolean, got {type_name(setting)}")
                setting = False
            flags.append(setting)
        out.append(LabelSet(_pairs(item.get("pairs"), f"{field}.pairs", problem), *flags))
    return tuple(out)


def _replicas(obj: dict[str, Any], problem: Any) -> tuple[tuple[str, int], ...]:
    value = obj.get("replicas")
    if value is None:
        return ()
    if not isinstance(value, list):
        problem("replicas", f"expected a list, got {type_name(value)}")
        return ()
    out = []
    for i, item in enumerate(value):
        name = item.get("name") if isinstance(item, dict) else None
        count = item.get("count") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            problem(f"replicas[{i}].name", "Required value")
        elif not isinstance(count, int) or isinstance(count, bool) or count < 0:
            problem(f"replicas[{i}].count", "expected a number of replicas (0 or more)")
        else:
            out.append((name, count))
    return tuple(out)


_TARGET_FIELDS = {
    "group": "group",
    "version": "version",
    "kind": "kind",
    "name": "name",
    "namespace": "namespace",
    "labelSelector": "label_selector",
    "annotationSelector": "annotation_selector",
}


def _target(value: object, field: str, problem: Any) -> Target | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problem(field, f"expected an object, got {type_name(value)}")
        return None
    arguments: dict[str, str] = {}
    for key, item in value.items():
        if key not in _TARGET_FIELDS:
            problem(f"{field}.{key}", "unknown field")
        elif not isinstance(item, str):
            problem(f"{field}.{key}", f"expected a string, got {type_name(item)}")
        else:
            try:
                if key.endswith("Selector"):
                    parse_selector(item)
                else:
                    re.compile(item)
                    if _NESTED_REPETITION.search(item):
                        problem(
                            f"{field}.{key}",
                            f"invalid: {item!r}: a repeated group that itself repeats "
                            "(such as (a+)+) may take exponential time to match; "
                            "write it without nesting",
                        )
                        continue
            except (PatchError, re.error) as exc:
                problem(f"{field}.{key}", f"invalid: {exc}")
                continue
            arguments[_TARGET_FIELDS[key]] = item
    return Target(**arguments)


# A group holding a quantifier, itself quantified: Python's backtracking matcher
# may take exponential time on it (kustomize's Go matcher is linear), so it is
# refused rather than left to hang a run.
_NESTED_REPETITION = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)[*+{]")


def _patches(obj: dict[str, Any], problem: Any) -> list[PatchRef]:
    out: list[PatchRef] = []
    legacy = obj.get("patchesStrategicMerge")
    if legacy is not None:
        if not isinstance(legacy, list):
            problem("patchesStrategicMerge", f"expected a list, got {type_name(legacy)}")
        else:
            for i, item in enumerate(legacy):
                field = f"patchesStrategicMerge[{i}]"
                if not isinstance(item, str):
                    problem(field, f"expected a path or a patch, got {type_name(item)}")
                elif "\n" in item or (":" in item and not REMOTE.match(item)):
                    out.append(PatchRef(field, "strategic", None, item, None))  # inline
                else:
                    out.append(PatchRef(field, "strategic", item, None, None))
    for name, form in (("patches", "any"), ("patchesJson6902", "json6902")):
        entries = obj.get(name)
        if entries is None:
            continue
        if not isinstance(entries, list):
            problem(name, f"expected a list, got {type_name(entries)}")
            continue
        for i, item in enumerate(entries):
            field = f"{name}[{i}]"
            if not isinstance(item, dict):
                problem(field, f"expected an object, got {type_name(item)}")
                continue
            for key in sorted(set(item) - {"path", "patch", "target", "options"}):
                problem(f"{field}.{key}", "unknown field")
            path, text = item.get("path"), item.get("patch")
            if (path is None) == (text is None):
                problem(field, "exactly one of path and patch is required")
                continue
            if not isinstance(path if text is None else text, str):
                problem(f"{field}.{'path' if text is None else 'patch'}", "expected a string")
                continue
            target = _target(item.get("target"), f"{field}.target", problem)
            if form == "json6902" and target is None:
                problem(f"{field}.target", "Required value")
                continue
            out.append(PatchRef(field, form, path, text, target))
    # kustomize runs patchesStrategicMerge, then patches, and patchesJson6902
    # only after the labels and annotations: the caller keeps that order
    return out


# --- transformers ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadedPatch:
    """A PatchRef with its text, and where to point at when it fails."""

    ref: PatchRef
    text: str
    source: Source


def transform(
    resources: list[Resource], k: Kustomization, patches: Iterable[LoadedPatch]
) -> tuple[list[Resource], list[Diagnostic]]:
    """Apply one kustomization's transformers, in kustomize's order."""
    problems: list[Diagnostic] = []
    loaded = list(patches)
    early = [p for p in loaded if p.ref.form != "json6902"]
    late = [p for p in loaded if p.ref.form == "json6902"]
    early.sort(key=lambda p: p.ref.form != "strategic")  # patchesStrategicMerge first
    for patch in early:
        resources = _apply_patch(resources, patch, problems)
    if k.namespace:
        resources = [_set_namespace(r, k.namespace) for r in resources]
    if k.name_prefix or k.name_suffix:
        renamed = [_rename(r, k.name_prefix, k.name_suffix) for r in resources]
        resources = _service_references(resources, renamed)
    for label_set in k.labels:
        specs = (
            COMMON_LABELS
            if label_set.include_selectors
            else (*(TEMPLATE_LABELS if label_set.include_templates else ()), METADATA_LABELS[0])
        )
        resources = [_set_fields(r, specs, label_set.pairs) for r in resources]
    if k.common_labels:
        resources = [_set_fields(r, COMMON_LABELS, k.common_labels) for r in resources]
    if k.common_annotations:
        resources = [_set_fields(r, COMMON_ANNOTATIONS, k.common_annotations) for r in resources]
    for patch in late:
        resources = _apply_patch(resources, patch, problems)
    for name, count in k.replicas:
        resources = [_set_replicas(r, name, count) for r in resources]
    return resources, problems


def _apply_patch(
    resources: list[Resource], patch: LoadedPatch, problems: list[Diagnostic]
) -> list[Resource]:
    where = patch.ref.field
    try:
        values = decode_all(patch.text, patch.source.file)
    except InvalidInputError as exc:  # located in the patch's file
        problems.extend(exc.diagnostics)
        return resources
    values = [v for v in values if v is not None]
    is_json = patch.ref.form == "json6902" or (
        patch.ref.form == "any" and len(values) == 1 and isinstance(values[0], list)
    )
    try:
        if is_json:
            if patch.ref.target is None:
                raise PatchError("a JSON 6902 patch needs a target")
            operations = values[0] if values else []
            if not isinstance(operations, list):
                raise PatchError(f"expected a list of operations, got {type_name(operations)}")
            return _each_target(resources, patch.ref.target, lambda o: json_patch(o, operations))
        for value in values:
            if not isinstance(value, dict):
                raise PatchError(
                    f"expected a strategic merge patch (an object), got {type_name(value)}"
                )
            resources = _strategic(resources, value, patch.ref.target)
        return resources
    except PatchError as exc:
        problems.append(error(str(exc), patch.source, field=where))
        return resources


def _each_target(resources: list[Resource], target: Target, change: Any) -> list[Resource]:
    out = []
    for resource in resources:
        if not target.selects(resource.obj):
            out.append(resource)
            continue
        try:
            changed = change(resource.obj)
        except PatchError as exc:
            raise PatchError(f"{describe(resource.obj)}: {exc}") from None
        if changed is not DELETE:
            out.append(resource.with_obj(changed))
    return out


def _strategic(
    resources: list[Resource], patch: dict[str, Any], target: Target | None
) -> list[Resource]:
    # the patch takes the identity of each object it is applied to
    own = {k: v for k, v in patch.items() if k not in ("apiVersion", "kind")}
    meta = own.get("metadata")
    if isinstance(meta, dict):
        own["metadata"] = {k: v for k, v in meta.items() if k not in ("name", "namespace")}
    if target is not None:
        return _each_target(
            resources, target, lambda obj: strategic_merge(copy.deepcopy(obj), copy.deepcopy(own))
        )
    group, version = group_version(patch.get("apiVersion"))
    kind = patch.get("kind")
    namespace, name = identity(patch)
    if not isinstance(kind, str) or not kind or not name:
        raise PatchError(
            "a strategic merge patch without a target names its object "
            "(apiVersion, kind, metadata.name)"
        )
    wanted = (namespace or "default", name)

    def same(resource: Resource) -> bool:
        r_group, r_version = group_version(resource.obj.get("apiVersion"))
        if (r_group, r_version, resource.obj.get("kind")) != (group, version, kind):
            return False
        ids = (*resource.previous, identity(resource.obj))
        return any((ns or "default", n) == wanted for ns, n in ids)

    matches = [i for i, r in enumerate(resources) if same(r)]
    label = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    if not matches:
        raise PatchError(
            f"no resource matches the patch's {label} (apiVersion {patch.get('apiVersion')})"
        )
    if len(matches) > 1:
        raise PatchError(f"more than one resource matches the patch's {label}")
    (index,) = matches
    out = list(resources)
    merged = strategic_merge(copy.deepcopy(out[index].obj), copy.deepcopy(own))
    if merged is DELETE:
        del out[index]
    else:
        out[index] = out[index].with_obj(merged)
    return out


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return dict(meta) if isinstance(meta, dict) else {}


def _set_namespace(resource: Resource, namespace: str) -> Resource:
    obj = dict(resource.obj)
    meta = _meta(obj)
    kind = resource.document.kind
    if kind == "Namespace":
        meta["name"] = namespace
    elif kind in CLUSTER_SCOPED:
        return resource
    else:
        meta["namespace"] = namespace
    obj["metadata"] = meta
    return resource.with_obj(obj)


def _rename(resource: Resource, prefix: str, suffix: str) -> Resource:
    if resource.document.kind in NAME_CHANGE_SKIPPED:
        return resource
    obj = dict(resource.obj)
    meta = _meta(obj)
    name = meta.get("name")
    if not isinstance(name, str):
        return resource
    meta["name"] = f"{prefix}{name}{suffix}"
    obj["metadata"] = meta
    return resource.with_obj(obj)


def _service_references(before: list[Resource], after: list[Resource]) -> list[Resource]:
    """kustomize's name references that matter here: a StatefulSet's
    ``spec.serviceName`` (its pods' DNS names) follows its Service's new name."""
    names = {
        identity(old.obj): identity(new.obj)[1]
        for old, new in zip(before, after, strict=True)
        if old.document.kind == "Service" and identity(old.obj) != identity(new.obj)
    }
    if not names:
        return after
    out = []
    for old, new in zip(before, after, strict=True):
        spec = new.obj.get("spec")
        if new.document.kind == "StatefulSet" and isinstance(spec, dict):
            service = names.get((identity(old.obj)[0], str(spec.get("serviceName"))))
            if service is not None:
                new = new.with_obj({**new.obj, "spec": {**spec, "serviceName": service}})
        out.append(new)
    return out


def _set_fields(
    resource: Resource, specs: Iterable[FieldSpec], pairs: tuple[tuple[str, str], ...]
) -> Resource:
    obj = resource.obj
    group, version = group_version(obj.get("apiVersion"))
    kind = resource.document.kind
    chosen = [s for s in specs if s.selects(group, version, kind)]
    if not chosen or not pairs:
        return resource
    copied = copy.deepcopy(obj)
    for spec in chosen:
        _set_at(copied, spec.path.split("/"), spec.create, pairs)
    return resource.with_obj(copied)


def _set_at(node: Any, path: list[str], create: bool, pairs: tuple[tuple[str, str], ...]) -> None:
    """Walk ``path`` (lists on the way item by item) and add ``pairs`` to the
    mapping at its end."""
    if isinstance(node, list):
        for item in node:
            _set_at(item, path, create, pairs)
        return
    if not isinstance(node, dict):
        return
    key, rest = path[0], path[1:]
    child = node.get(key)
    if child is None:
        if not create:
            return
        child = node[key] = {}
    if rest:
        _set_at(child, rest, create, pairs)
    elif isinstance(child, dict):
        child.update(pairs)


def _set_replicas(resource: Resource, name: str, count: int) -> Resource:
    obj = resource.obj
    group, version = group_version(obj.get("apiVersion"))
    if not any(s.selects(group, version, resource.document.kind) for s in REPLICAS):
        return resource
    names = {n for _, n in (*resource.previous, identity(obj))}
    if name not in names:
        return resource
    changed = dict(obj)
    spec = changed.get("spec")
    changed["spec"] = {**(spec if isinstance(spec, dict) else {}), "replicas": count}
    return resource.with_obj(changed)


def set_namespace(documents: Iterable[RawDocument], namespace: str) -> list[RawDocument]:
    """kustomize's ``namespace`` on plain documents."""
    return [_set_namespace(Resource(d), namespace).document for d in documents]


def same_resource_twice(resources: list[Resource]) -> Resource | None:
    """The first resource whose id (group, kind, namespace, name) is already taken."""
    seen: set[tuple[str, str, str, str]] = set()
    for resource in resources:
        key = resource_id(resource.obj)
        if key in seen:
            return resource
        seen.add(key)
    return None
