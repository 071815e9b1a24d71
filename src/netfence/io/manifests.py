"""Read manifests as kubectl takes them: ``-f`` files, directories (recursive) and
``-`` for stdin; ``-k`` kustomization directories."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from netfence.errors import EnvironmentProblem, InvalidInputError
from netfence.model.diagnostics import Diagnostic, Source, error
from netfence.parse.documents import RawDocument, parse_documents
from netfence.parse.kustomize import KUSTOMIZATION_FILES, read_kustomization, set_namespace

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class ManifestSet:
    documents: list[RawDocument] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)


def read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError([error("no such file or directory", Source(path, 0))]) from None
    except UnicodeDecodeError:
        raise InvalidInputError([error("not UTF-8 text", Source(path, 0))]) from None
    except OSError as exc:
        raise EnvironmentProblem(f"{path}: cannot read: {exc.strerror}") from exc


def manifest_files(path: str) -> list[str]:
    """A file as is; a directory's manifest files, recursively, in name order."""
    if path == "-":
        return ["-"]
    p = Path(path)
    if p.is_dir():
        return [
            str(f) for f in sorted(p.rglob("*")) if f.is_file() and f.suffix in MANIFEST_SUFFIXES
        ]
    if not p.exists():
        raise InvalidInputError([error("no such file or directory", Source(path, 0))])
    return [path]


def load_manifests(files: Iterable[str] = (), kustomizations: Iterable[str] = ()) -> ManifestSet:
    """Read everything; report every broken file at once."""
    result = ManifestSet()
    problems: list[Diagnostic] = []
    for path in files:
        for file in manifest_files(path):
            try:
                result.documents.extend(parse_documents(read_text(file), file))
            except InvalidInputError as exc:
                problems.extend(exc.diagnostics)
    for directory in kustomizations:
        try:
            result.documents.extend(_kustomize(Path(directory), result.diagnostics, set()))
        except InvalidInputError as exc:
            problems.extend(exc.diagnostics)
    if problems:
        raise InvalidInputError(problems)
    return result


def _kustomize(
    directory: Path, diagnostics: list[Diagnostic], seen: set[Path]
) -> list[RawDocument]:
    file = next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)
    if file is None:
        raise InvalidInputError(
            [error("no kustomization.yaml in this directory", Source(str(directory), 0))]
        )
    if file.resolve() in seen:
        raise InvalidInputError([error("kustomization includes itself", Source(str(file), 1))])
    seen.add(file.resolve())
    try:
        raw = yaml.safe_load(read_text(str(file)))
    except yaml.YAMLError as exc:
        raise InvalidInputError([error(f"invalid YAML: {exc}", Source(str(file), 1))]) from None
    kustomization = read_kustomization(raw, Source(str(file), 1))
    diagnostics.extend(kustomization.diagnostics)
    documents: list[RawDocument] = []
    problems: list[Diagnostic] = []
    for resource in kustomization.resources:
        target = directory / resource
        if target.is_dir():
            documents.extend(_kustomize(target, diagnostics, seen))
        elif target.is_file():
            documents.extend(parse_documents(read_text(str(target)), str(target)))
        else:
            problems.append(
                error(f"resources: {resource}: no such file or directory", Source(str(file), 1))
            )
    if problems:
        raise InvalidInputError(problems)
    return (
        set_namespace(documents, kustomization.namespace) if kustomization.namespace else documents
    )
