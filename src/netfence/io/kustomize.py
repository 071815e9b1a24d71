"""``-k DIR``: build a kustomization as ``kubectl kustomize`` does, for what can
change a policy's answer (docs/kustomize.md). This module reads the files; the
fields and transformers are ``netfence.parse.kustomize``.

kustomize's load restrictor holds: a file a kustomization names (a resource, a
patch) must be inside that kustomization's directory, symbolic links resolved;
other kustomizations (bases, components) may be anywhere local. The bounds of
docs/limits.md hold: every file read counts against MAX_FILES and
MAX_TOTAL_BYTES (a base reached twice is read twice), kustomizations nest at most
MAX_KUSTOMIZATION_DEPTH deep, a cycle is an error.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Callable
from pathlib import Path

from netfence.errors import EnvironmentProblem, InvalidInputError
from netfence.io.paths import DIRECTORY, FILE, path_kind
from netfence.io.streams import read_limited
from netfence.model.diagnostics import Diagnostic, Severity, Source, error
from netfence.parse.documents import RawDocument, decode_single, parse_documents
from netfence.parse.kustomize import (
    KUSTOMIZATION_FILES,
    REMOTE,
    Kustomization,
    LoadedPatch,
    Resource,
    describe,
    read_kustomization,
    resource_id,
    transform,
)
from netfence.parse.limits import MAX_FILE_BYTES, MAX_KUSTOMIZATION_DEPTH, MIB

# Which kustomize builds -k: netfence's own ("builtin", the default), or an
# installed one: "kubectl" (``kubectl kustomize``, the kustomize kubectl embeds)
# or "kustomize" (``kustomize build``). Set once per command by the CLI.
ENGINES = ("builtin", "kubectl", "kustomize")
ENGINE: contextvars.ContextVar[str] = contextvars.ContextVar("kustomize_engine", default="builtin")
EXTERNAL_TIMEOUT = 120.0


class Files:
    """What the kustomize walk needs of the manifest reader (its bounds included)."""

    def __init__(
        self,
        text: Callable[[str], str],
        documents: Callable[[str], list[RawDocument]],
        exhausted: Callable[[], bool],
        notices: list[Diagnostic] | None = None,
    ) -> None:
        self.text = text
        self.documents = documents
        self.exhausted = exhausted  # past a bound of docs/limits.md: stop at once
        # what the build reads but does not apply: the answer says the input was partial
        self.notices: list[Diagnostic] = [] if notices is None else notices


def build(directory: str, files: Files) -> list[RawDocument]:
    """The objects ``kubectl kustomize DIR`` prints, with the file each came from."""
    engine = ENGINE.get()
    if engine != "builtin":
        return build_external(directory, engine)
    resources = _build(Path(directory), files, [], [], component=False)
    return [r.document for r in resources]


def build_external(directory: str, engine: str) -> list[RawDocument]:
    """Run an installed kustomize; its output is read as one manifest file (within
    MAX_FILE_BYTES), its failure is an input error with kustomize's own words."""
    import shutil  # only here: the builtin engine (every other load) needs no processes
    import subprocess
    import tempfile

    program = "kubectl" if engine == "kubectl" else "kustomize"
    path = shutil.which(program)
    if path is None:
        raise EnvironmentProblem(
            f"--kustomize-engine {engine}: {program} is not on PATH (the builtin engine needs "
            "nothing installed)"
        )
    argv = [path, "kustomize", directory] if engine == "kubectl" else [path, "build", directory]
    label = " ".join([program, *argv[1:]])
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise EnvironmentProblem(f"{label}: cannot run: {exc.strerror}") from exc
        assert proc.stdout is not None
        with proc:
            data = read_limited(proc.stdout)  # chunks: no 1 GiB reserved up front
            if len(data) > MAX_FILE_BYTES:
                proc.kill()
                raise _fail(
                    f"output larger than {MAX_FILE_BYTES // MIB} MiB, the limit of one input "
                    "(docs/limits.md)",
                    Source(label, 0),
                )
            try:
                code = proc.wait(timeout=EXTERNAL_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise EnvironmentProblem(
                    f"{label}: no answer within {EXTERNAL_TIMEOUT:.0f} s"
                ) from None
        errors.seek(0)
        message = errors.read(64 * 1024).decode("utf-8", "replace").strip()
    if code != 0:
        raise _fail(f"{program} failed: {message or f'exit code {code}'}", Source(label, 0))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _fail("output is not UTF-8 text", Source(label, 0)) from None
    return parse_documents(text, label)


def _fail(message: str, source: Source, field: str | None = None) -> InvalidInputError:
    return InvalidInputError([error(message, source, field=field)])


def _kustomization_file(directory: Path) -> Path:
    kind = path_kind(str(directory))
    if kind != DIRECTORY:
        problem = "not a directory (-k takes a kustomization's directory)" if kind == FILE else kind
        raise _fail(problem, Source(str(directory), 0))
    file = next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)
    if file is None:
        raise _fail(
            "no kustomization.yaml in this directory (one of: "
            + ", ".join(KUSTOMIZATION_FILES)
            + ")",
            Source(str(directory), 0),
        )
    return file


def _build(
    directory: Path,
    files: Files,
    chain: list[Path],
    accumulated: list[Resource],
    *,
    component: bool,
) -> list[Resource]:
    """One kustomization (``component``: applied to ``accumulated``); ``chain``
    holds the kustomizations that include it."""
    file = _kustomization_file(directory)
    real = file.resolve()
    if real in chain:
        cycle = " → ".join(str(p) for p in [*chain[chain.index(real) :], file])
        raise _fail(f"kustomization includes itself ({cycle})", Source(str(file), 1))
    if len(chain) >= MAX_KUSTOMIZATION_DEPTH:
        raise _fail(
            f"kustomizations include each other more than {MAX_KUSTOMIZATION_DEPTH} "
            "deep (docs/limits.md)",
            Source(str(file), 1),
        )
    source = Source(str(file), 1)
    k = read_kustomization(decode_single(files.text(str(file)), str(file)), source)
    if any(d.severity is Severity.ERROR for d in k.diagnostics):
        raise InvalidInputError(list(k.diagnostics))
    files.notices.extend(k.diagnostics)
    if component and k.kind != "Component":
        raise _fail(
            "components: expected kind: Component, got kind: Kustomization", source, field="kind"
        )
    if not component and k.kind == "Component" and chain:  # kustomize builds one given alone
        raise _fail(
            "a Component is not a kustomization of its own: list it in components "
            "(kustomize: expected kind != 'Component')",
            source,
            field="kind",
        )
    inner = [*chain, real]
    resources = list(accumulated)
    taken = {resource_id(r.obj) for r in resources}
    problems: list[Diagnostic] = []
    root = directory.resolve()
    for i, entry in enumerate(k.resources):
        field = f"resources[{i}]"
        try:
            if REMOTE.match(entry):
                raise _remote(entry, "resources", source)
            target = directory / entry
            kind = path_kind(str(target))
            if kind == DIRECTORY:
                added = _build(target, files, inner, [], component=False)
            elif kind == FILE:
                _inside(target, root, entry, source, field)
                added = [Resource(d) for d in files.documents(str(target))]
            else:
                raise _fail(f"resources: {entry}: {kind}", source)
            _accumulate(resources, taken, added, source, field)
        except InvalidInputError as exc:
            problems.extend(exc.diagnostics)
            if files.exhausted():
                break
    if problems:
        raise InvalidInputError(problems)
    for i, entry in enumerate(k.components):
        if REMOTE.match(entry):
            raise _remote(entry, "components", source)
        target = directory / entry
        if path_kind(str(target)) != DIRECTORY:
            raise _fail(
                f"components: {entry}: not a directory (a component is a directory with a "
                "kustomization.yaml of kind Component)",
                source,
                field=f"components[{i}]",
            )
        resources = _build(target, files, inner, resources, component=True)
    patches = _load_patches(k, directory, root, files, source)
    resources, problems = transform(resources, k, patches)
    if problems:
        raise InvalidInputError(problems)
    return resources


def _accumulate(
    resources: list[Resource],
    taken: set[tuple[str, str, str, str]],
    added: list[Resource],
    source: Source,
    field: str,
) -> None:
    """kustomize refuses an object it already holds (the same base reached twice
    without a namePrefix, nameSuffix or namespace to tell the copies apart);
    ``taken`` holds the ids of ``resources``."""
    for resource in added:
        key = resource_id(resource.obj)
        if key in taken:
            raise _fail(
                f"{describe(resource.obj)} is added a second time (from "
                f"{resource.document.source.format()}): kustomize refuses a resource "
                "with an id it already holds",
                source,
                field=field,
            )
        taken.add(key)
        resources.append(resource)


def _remote(entry: str, field: str, source: Source) -> InvalidInputError:
    return _fail(
        f"{field}: {entry}: remote resources are not supported (netfence "
        "reads local files: vendor it, or pass `kustomize build` output with -f -)",
        source,
    )


def _inside(target: Path, root: Path, entry: str, source: Source, field: str) -> None:
    """kustomize's default load restrictor (LoadRestrictionsRootOnly)."""
    real = Path(os.path.realpath(target))
    if real != root and root not in real.parents:
        raise _fail(
            f"{entry}: security: file '{real}' is not in or below '{root}' (kustomize's load "
            "restrictor: a kustomization reads files only inside its own directory)",
            source,
            field=field,
        )


def _load_patches(
    k: Kustomization, directory: Path, root: Path, files: Files, source: Source
) -> list[LoadedPatch]:
    out: list[LoadedPatch] = []
    problems: list[Diagnostic] = []
    for ref in k.patches:
        if ref.text is not None:
            out.append(LoadedPatch(ref, ref.text, source))
            continue
        assert ref.path is not None
        try:
            if REMOTE.match(ref.path):
                raise _remote(ref.path, ref.field, source)
            target = directory / ref.path
            kind = path_kind(str(target))
            if kind != FILE:
                problem = "a directory" if kind == DIRECTORY else kind
                raise _fail(f"{ref.path}: {problem}", source, field=ref.field)
            _inside(target, root, ref.path, source, ref.field)
            out.append(LoadedPatch(ref, files.text(str(target)), Source(str(target), 1)))
        except InvalidInputError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise InvalidInputError(problems)
    return out
