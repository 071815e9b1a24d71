"""Text → raw Kubernetes objects: multi-document YAML, JSON, and ``List`` kinds.

Reading files is io's job; this module only decodes text that was already read.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
import yaml

from netfence.errors import InvalidInputError
from netfence.model.diagnostics import Diagnostic, Source, error, notice
from netfence.parse import fastyaml
from netfence.parse.limits import MAX_DEPTH, MAX_JSON_VALUES, MAX_OBJECTS, MAX_YAML_BYTES, MIB

# The C loader is many times faster on large inputs; PyYAML may be built without it.
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_TAG = "tag:yaml.org,2002:"

# Plain scalars resolved as go-yaml v2 resolves them (YAML 1.1), the library under
# kubectl's YAML decoder (sigs.k8s.io/yaml): the booleans include y/Y/n/N; integers
# are what Go's ParseInt reads with base 0 once underscores are removed (0x, 0o,
# 0b, a leading 0 for octal), with no base 60 ("1:30" is a string); floats need no
# dot ("1e3") and an exponent needs no sign; dates stay strings (JSON has no
# timestamps) and so does a bare "=" (YAML 1.1's "value" key, in kube-prometheus CRDs).
_GO_BOOL = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE"), True),
    **dict.fromkeys(("on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE"), False),
    **dict.fromkeys(("off", "Off", "OFF"), False),
}
_GO_RESOLVERS: list[tuple[str, re.Pattern[str], str]] = [
    ("bool", re.compile("^(?:" + "|".join(_GO_BOOL) + ")$"), "yYnNtTfFoO"),
    ("null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN"),
    (
        "int",
        re.compile(
            r"^[-+]?(?:0[bB]_*[01][01_]*|0[oO]_*[0-7][0-7_]*|0[xX]_*[0-9a-fA-F][0-9a-fA-F_]*"
            r"|0[0-7_]*|[1-9][0-9_]*)$"
        ),
        "-+0123456789",
    ),
    (
        "float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9_]*[0-9][0-9_]*|[0-9][0-9_]*(?:\.[0-9_]*)?)"
            r"(?:[eE][-+]?_*[0-9][0-9_]*)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+0123456789.",
    ),
]
_KEPT = {_TAG + "merge", _TAG + "yaml"}  # "<<", and PyYAML's own "!", "&", "*"


def _go_resolvers() -> dict[str, list[tuple[str, Any]]]:
    table: dict[str, list[tuple[str, Any]]] = {}
    for name, regexp, first in _GO_RESOLVERS:
        for char in first:
            table.setdefault(char, []).append((_TAG + name, regexp))
    table.setdefault("", []).append((_TAG + "null", _GO_RESOLVERS[1][1]))
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items():
        table.setdefault(first, []).extend((t, r) for t, r in resolvers if t in _KEPT)
    return table


_INT64 = 2**63
_UINT64 = 2**64


def _go_int(text: str) -> object:
    """Go's ParseInt (base 0) of the text without underscores; past 64 bits a float
    (go-yaml v2 falls back to one), or the text when Go cannot read it either."""
    plain = text.replace("_", "")
    sign, digits = (plain[0], plain[1:]) if plain[0] in "+-" else ("", plain)
    if len(digits) > sys.get_int_max_str_digits():
        raise ValueError("digits")  # the message names the bound (fastyaml)
    base = 8 if re.fullmatch("0[0-7]+", digits) else 0
    value = int(digits, base)
    value = -value if sign == "-" else value
    if -_INT64 <= value < _UINT64:
        return value
    try:
        return float(plain)
    except ValueError:
        return text


def _go_float(text: str) -> object:
    lowered = text.lower()
    if lowered.endswith((".inf", ".nan")):
        return float(lowered.replace(".", ""))
    value = float(text.replace("_", ""))
    return value if value not in (float("inf"), float("-inf")) else text


class _Loader(_BaseLoader):  # type: ignore[misc]
    """YAML as kubectl reads it (go-yaml v2's YAML 1.1 rules, above)."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = _go_resolvers()

    def construct_go_bool(self, node: Any) -> bool:
        return _GO_BOOL[self.construct_scalar(node)]

    def construct_go_int(self, node: Any) -> object:
        return _go_int(self.construct_scalar(node))

    def construct_go_float(self, node: Any) -> object:
        return _go_float(self.construct_scalar(node))


_Loader.add_constructor(_TAG + "bool", _Loader.construct_go_bool)
_Loader.add_constructor(_TAG + "int", _Loader.construct_go_int)
_Loader.add_constructor(_TAG + "float", _Loader.construct_go_float)


class KubectlDumper(yaml.SafeDumper):
    """YAML that kubectl (and netfence) read back as it was written: a string that
    go-yaml v2 would read as another type (``y``, ``1e3``, ``0o17``) is quoted,
    which PyYAML's own dumper does not do (its YAML 1.1 rules differ)."""


KubectlDumper.yaml_implicit_resolvers = _go_resolvers()


@dataclass(frozen=True, slots=True)
class RawDocument:
    """One decoded Kubernetes object and where it came from."""

    source: Source
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        kind = self.obj.get("kind")
        return kind if isinstance(kind, str) else ""


def parse_documents(text: str, file: str) -> list[RawDocument]:
    """Decode every object in ``text``; raise InvalidInputError for broken syntax or
    documents that are not objects, naming the file and document."""
    return _objects(list(_decode(text, file)), file)


NOT_A_MANIFEST = "skipped: not a Kubernetes manifest (no document in it has a kind)"


def parse_manifest_file(
    text: str, file: str, undecodable_skipped: bool = False
) -> tuple[list[RawDocument], list[Diagnostic]]:
    """A file given as manifests (``-f``, or found in a directory): its objects, and
    a notice when it is skipped. A file none of whose documents has a ``kind`` (a
    package.json, a Helm values.yaml, a Grafana dashboard, a list of tests) is
    no manifest: it is skipped with a notice (``NOT_A_MANIFEST``), not an error.
    A file that does not decode and holds ``{{ … }}`` is a Helm template: the
    error says to render it first. With ``undecodable_skipped`` (a file found in a
    directory, not named by the user), one that does not decode and has no
    ``kind`` key anywhere (a tsconfig.json with comments) is skipped with a notice
    too (``NOT_DECODED``, with the decoding error)."""
    try:
        values = list(_decode(text, file))
    except InvalidInputError as exc:
        line = helm_template_line(text)
        if line is not None:
            raise InvalidInputError(
                [
                    dataclasses.replace(d, message=d.message + _helm_hint(line))
                    for d in exc.diagnostics
                ]
            ) from None
        if undecodable_skipped and _KIND_KEY.search(text) is None:
            first = exc.diagnostics[0].message if exc.diagnostics else "it does not decode"
            return [], [notice(f"{NOT_DECODED} ({first})", Source(file, 0))]
        raise
    return _manifest(values, file)


NOT_DECODED = "skipped: not a Kubernetes manifest (it does not decode and names no kind)"
# a ``kind`` key anywhere, in YAML or JSON spelling: a file that has one is taken for
# a manifest, and its decoding error is an error
_KIND_KEY = re.compile(r"""(?:^|[\s{,'"])kind['"]?\s*:""")


def _manifest(values: list[object], file: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    if any(v is not None for v in values) and not any(
        isinstance(v, dict) and v.get("kind") for v in values
    ):
        return [], [notice(NOT_A_MANIFEST, Source(file, 0))]
    return _objects(values, file), []


def parse_ascii_json(data: bytes, file: str) -> tuple[list[RawDocument], list[Diagnostic]] | None:
    """``parse_manifest_file(data.decode(), file)`` for an ASCII text that is plainly
    one JSON value (``fast_json`` proves it), read from the bytes themselves: no
    copy of a large file is made as a str. None for anything else (no JSON, not
    ASCII, a ``{{`` action, too many values, a proof that fails): then the caller
    decodes the text and parses it the usual way, which reports what there is.

    On ASCII, each check below finds what its str form finds: the same
    whitespace (str.lstrip's and ``\\s``'s ASCII whitespace includes \\x1c-\\x1f),
    the same characters counted."""
    if not data.isascii() or not _ASCII_JSON_START.match(data):
        return None
    if _ASCII_TEMPLATE_ACTION.search(data) or _too_many_json_values(data):
        return None
    value = fast_json(data)
    if value is UNSURE:
        return None
    return _manifest([value], file)


_ASCII_SPACE = rb"[\t\n\x0b\x0c\r\x1c-\x1f ]"
_ASCII_JSON_START = re.compile(_ASCII_SPACE + rb"*[{\[]")
_ASCII_TEMPLATE_ACTION = re.compile(rb"\{\{-?" + _ASCII_SPACE + rb"*[^{}\n]*?-?\}\}")


def helm_template_line(text: str) -> int | None:
    """The line of the first ``{{ … }}`` action (Go template syntax), if any."""
    found = _TEMPLATE_ACTION.search(text)
    return None if found is None else text.count("\n", 0, found.start()) + 1


_TEMPLATE_ACTION = re.compile(r"\{\{-?\s*[^{}\n]*?-?\}\}")


def _helm_hint(line: int) -> str:
    return (
        f" (this looks like a Helm template: {{{{ ... }}}} at line {line}; netfence reads "
        "rendered manifests: run `helm template` on the chart and pass its output, "
        "e.g. `helm template NAME CHART | netfence ... -f -`)"
    )


def _objects(values: list[object], file: str) -> list[RawDocument]:
    problems: list[Diagnostic] = []
    documents: list[RawDocument] = []
    budget = [MAX_OBJECTS]  # objects this file may still hold, List items counted
    for index, value in enumerate(values, start=1):
        if value is None:
            continue
        source = Source(file, index)
        if not isinstance(value, dict):
            problems.append(error(f"expected an object, got {type_name(value)}", source))
            continue
        documents.extend(_expand_list(value, source, problems, budget))
    if problems:
        raise InvalidInputError(problems)
    return documents


def too_many_objects(source: Source, limit: int) -> InvalidInputError:
    return InvalidInputError(
        [error(f"more than {limit:,} objects in one command (docs/limits.md)", source)]
    )


def type_name(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def decode_single(text: str, file: str) -> object:
    """One YAML (or JSON) document, as expectation files and kustomizations hold:
    the same bounded decoder as manifests; ``None`` for an empty text."""
    values = list(_decode(text, file))
    if len(values) > 1:
        raise InvalidInputError(
            [error("expected one YAML document, found more than one", Source(file, 2))]
        )
    return values[0] if values else None


def decode_all(text: str, file: str) -> list[object]:
    """Every YAML (or JSON) document of a text, whatever its type (kustomize
    patches: objects, or a list of JSON 6902 operations)."""
    return list(_decode(text, file))


def _decode(text: str, file: str) -> Iterator[object]:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        _bound_json_values(text, file)
        value = _decode_json(text, file)
        if value is not _NOT_JSON:
            yield value
            return
        # YAML flow style also starts with { or [: let the YAML parser judge
    if (
        len(text) > MAX_YAML_BYTES // 4
        and len(text.encode("utf-8", "surrogatepass")) > MAX_YAML_BYTES
    ):
        raise InvalidInputError(
            [
                error(
                    f"YAML larger than {MAX_YAML_BYTES // MIB} MiB: give a cluster this large "
                    "as JSON (kubectl get -o json), read several times faster (docs/limits.md)",
                    Source(file, 0),
                )
            ]
        )
    read = 0
    try:
        for value in fastyaml.load_all(text, _Loader, string_keys=True):
            read += 1
            yield value
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            [
                error(
                    _yaml_message(exc),
                    Source(file, read + 1),
                    field=getattr(exc, "path", None) or None,
                )
            ]
        ) from None


_NOT_JSON = object()


def _bound_json_values(text: str, file: str) -> None:
    """At most MAX_JSON_VALUES values, counted from the text before it is decoded:
    every value but the first follows a comma or opens an object or list, so
    commas and brackets (those inside strings too) bound them from above. A text
    of fewer than 2 * MAX_JSON_VALUES characters cannot hold more (a value and its
    separator take two characters at least): it is not counted."""
    if _too_many_json_values(text):
        message = (
            f"more than {MAX_JSON_VALUES:,} values in one JSON text (counted from its commas "
            "and brackets; docs/limits.md)"
        )
        raise InvalidInputError([error(message, Source(file, 1))])


def _too_many_json_values(text: str | bytes) -> bool:
    if len(text) <= 2 * MAX_JSON_VALUES:
        return False
    if isinstance(text, str):
        return text.count(",") + text.count("{") + text.count("[") + 1 > MAX_JSON_VALUES
    return text.count(b",") + text.count(b"{") + text.count(b"[") + 1 > MAX_JSON_VALUES


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


def _decode_json(text: str, file: str) -> object:
    """A JSON text, strictly: a key given twice, nesting deeper than MAX_DEPTH and
    integers too long to read are errors; a lone UTF-16 surrogate escape becomes
    U+FFFD (as Go's JSON decoder reads it). ``_NOT_JSON`` when it is not JSON.

    The fast decoder (``fast_json``) answers whenever it can prove its value is
    the one below; otherwise the checking decoder below runs, the oracle."""
    fast = fast_json(text)
    if fast is not UNSURE:
        return fast
    return _checked_json(text, file)


def _checked_json(text: str, file: str) -> object:
    """The checking JSON decoder: every key and depth looked at in Python."""
    source = Source(file, 1)
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        return _NOT_JSON
    except _DuplicateKey as exc:
        where = _json_duplicate_path(text)
        raise InvalidInputError(
            [error(f'invalid JSON: duplicate key "{exc.key}"', source, field=where)]
        ) from None
    except RecursionError:
        raise InvalidInputError(
            [error(f"invalid JSON: nested deeper than {MAX_DEPTH} levels", source)]
        ) from None
    except ValueError:  # an integer with more digits than Python converts
        raise InvalidInputError([error(_long_integer(text), source)]) from None
    too_deep = _too_deep(value)
    if too_deep is not None:
        raise InvalidInputError(
            [error(f"invalid JSON: nested deeper than {MAX_DEPTH} levels", source, field=too_deep)]
        )
    if _LONE_SURROGATE_ESCAPE.search(text):
        value = _replace_surrogates(value)
    return value


UNSURE = object()
# A container at depth MAX_DEPTH + 1 is an item of one at MAX_DEPTH, whose items
# orjson's two-space indentation puts at column 2 * MAX_DEPTH; in a piece written
# on its own whose top sits k levels higher than in the whole, at 2 * (MAX_DEPTH - k).
_TOO_DEEP_LINES = (b"\n" + b" " * (2 * MAX_DEPTH), b"\n" + b" " * (2 * (MAX_DEPTH - 1)))
# Escapes that decode to a character the checks below count (":") or that the
# checking decoder handles in its own way (lone surrogates, read as U+FFFD).
_COUNTED_ESCAPES = re.compile(r"\\u003[aA]")
#: Items of a List written at once by fast_json's proof (its buffer stays small).
PROOF_CHUNK = 2048


def fast_json(text: str | bytes) -> object:
    """The value of a JSON text as ``_checked_json`` decodes it, read by orjson, or
    ``UNSURE`` when that cannot be proved cheaply (then the caller decodes it the
    checking way; ``UNSURE`` is also the answer for what is no JSON to orjson).

    orjson keeps the last of duplicate keys, reads integers past 64 bits as
    floats, refuses lone surrogate escapes and nests up to 1024 levels, so:

    - duplicate keys: every key is followed by a colon of its own outside any
      string, so the text's colons are at least its keys plus the colons inside
      its strings; orjson's output (which escapes no colon) has exactly the kept
      keys plus the colons of the kept strings. Equal counts prove that no key
      was dropped, unless an escape (``\\u003a``) hid a colon: then UNSURE;
    - depth: a container nested deeper than MAX_DEPTH puts a line of the
      indented output at column 2 * MAX_DEPTH;
    - integers past 64 bits: floats that large print with ``e+``;
    - surrogates: a lone one is an orjson error; a text with such an escape is
      left to the checking decoder anyway.

    The output is written in pieces (``_pieces``: a List's items a chunk at a
    time), whose colons add up to the whole output's, so that no buffer as large
    as the text is made (its pages cost system time)."""
    try:
        value = orjson.loads(text)
    except ValueError:  # orjson.JSONDecodeError, or a str that is no UTF-8
        return UNSURE
    if not isinstance(value, dict | list):
        return UNSURE  # manifests are objects; a bare value is left to the checking way
    colons = 0
    for piece, higher, extra_colons in _pieces(value):
        try:
            out = orjson.dumps(piece, option=orjson.OPT_INDENT_2)
        except TypeError:  # nested deeper than orjson writes (254): far past MAX_DEPTH
            return UNSURE
        if _TOO_DEEP_LINES[higher] in out or (b"+" in out and b"e+" in out):
            return UNSURE  # "+" is found in C, fast; "e+" is slower
        colons += out.count(b":") + extra_colons
    if isinstance(text, str):
        if text.count(":") != colons:
            return UNSURE
        if "\\" in text and (_COUNTED_ESCAPES.search(text) or _LONE_SURROGATE_ESCAPE.search(text)):
            return UNSURE  # "\\" is looked for in C, fast; no escape at all is the rule
    elif text.count(b":") != colons or (
        b"\\" in text and (_COUNTED_ESCAPES_B.search(text) or _LONE_SURROGATE_ESCAPE_B.search(text))
    ):
        return UNSURE
    return value


def _pieces(value: dict[str, Any] | list[Any]) -> Iterator[tuple[object, int, int]]:
    """The value in pieces to write on their own: (piece, how many levels higher its
    top sits than in the whole, colons of the whole's output outside the pieces).
    A List (an object with a long list ``items``): the object without ``items``
    (plus the colon of that key), then chunks of the items, each a list standing
    one level higher than ``items`` does. Anything else: the value itself."""
    items = value.get("items") if isinstance(value, dict) else None
    if not isinstance(value, dict) or not isinstance(items, list) or len(items) <= PROOF_CHUNK:
        yield value, 0, 0
        return
    yield {k: v for k, v in value.items() if k != "items"}, 0, 1
    for start in range(0, len(items), PROOF_CHUNK):
        yield items[start : start + PROOF_CHUNK], 1, 0


def _long_integer(text: str) -> str:
    limit = sys.get_int_max_str_digits()
    found = re.search(rf"\d{{{limit + 1},}}", text)
    if found is None:
        return f"invalid JSON: an integer of more than {limit:,} digits"
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return (
        f"invalid JSON at line {line}, column {column}: integer too large: "
        f"{len(found.group()):,} digits (at most {limit:,} are read)"
    )


_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_COUNTED_ESCAPES_B = re.compile(_COUNTED_ESCAPES.pattern.encode())
_LONE_SURROGATE_ESCAPE_B = re.compile(_LONE_SURROGATE_ESCAPE.pattern.encode())
_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_duplicate_path(text: str) -> str | None:
    """Where a duplicate key of a JSON text is: JSON is YAML flow style, and the
    YAML builder names the field path."""
    try:
        list(fastyaml.load_all(text, _Loader, string_keys=True))
    except fastyaml.YAMLProblem as exc:
        return exc.path or None
    except (yaml.YAMLError, RecursionError):
        return None
    return None


def _too_deep(value: object) -> str | None:
    """The path of a value nested deeper than MAX_DEPTH, without recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if depth > MAX_DEPTH:
            return _path_to_depth(value)
        if item.__class__ is dict:
            children: Any = item.values()
        elif item.__class__ is list:
            children = item
        else:
            continue
        for child in children:
            if child.__class__ is dict or child.__class__ is list:
                push((child, depth + 1))
    return None


def _path_to_depth(value: object) -> str:
    """The path to the first container at depth MAX_DEPTH + 1 (only for the message)."""
    stack: list[tuple[object, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            return path
        if isinstance(item, dict):
            for key, child in item.items():
                stack.append((child, depth + 1, f"{path}.{key}" if path else str(key)))
        elif isinstance(item, list):
            for i, child in enumerate(item):
                stack.append((child, depth + 1, f"{path}[{i}]"))
    return ""


def _replace_surrogates(value: object) -> object:
    """Strings (keys too) with lone surrogates get U+FFFD instead, iteratively."""

    def fix(text: str) -> str:
        return _SURROGATE.sub("\ufffd", text)

    def fixed(item: object) -> object:
        return fix(item) if isinstance(item, str) else item

    root: list[object] = [value]
    stack: list[Any] = [root]
    while stack:
        container = stack.pop()
        if isinstance(container, list):
            for i, item in enumerate(container):
                container[i] = fixed(item)
                if isinstance(item, dict | list):
                    stack.append(item)
        else:
            items = list(container.items())
            container.clear()
            for key, item in items:
                container[fixed(key)] = fixed(item)
                if isinstance(item, dict | list):
                    stack.append(item)
    return root[0]


def _yaml_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f"invalid YAML: {problem}"
    return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _expand_list(
    value: dict[str, Any], source: Source, problems: list[Diagnostic], budget: list[int]
) -> Iterator[RawDocument]:
    """API objects of kind ``List`` and typed lists (``PodList``, ``NamespaceList``…,
    as ``kubectl get -o yaml|json`` and the API server return them) carry their
    objects in ``items``; a list may hold lists, whose items are read in turn. As
    kubectl's decoder does, an item with neither ``kind`` nor ``apiVersion`` (the
    API server leaves them out of typed lists) takes the list's kind without the
    ``List`` suffix, and its apiVersion."""
    if not _is_list(value):
        budget[0] -= 1
        if budget[0] < 0:
            raise too_many_objects(source, MAX_OBJECTS)
        yield RawDocument(source, value)
        return
    # Depth first in document order, without recursion (nesting is bounded by the
    # decoder, MAX_DEPTH): each open list with its position and what its items inherit.
    stack: list[tuple[Iterator[tuple[int, object]], tuple[int, ...], str, object]] = []

    def open_list(listed: dict[str, Any], at: tuple[int, ...]) -> None:
        items = listed.get("items") or []
        if not isinstance(items, list):
            where = _item_source(source, at) if at else source
            problems.append(error(f"items: expected a list, got {type_name(items)}", where))
            return
        budget[0] -= len(items)  # the items that are Lists themselves count twice: a bound
        if budget[0] < 0:
            raise too_many_objects(_item_source(source, at) if at else source, MAX_OBJECTS)
        stack.append((enumerate(items), at, _item_kind(listed), listed.get("apiVersion")))

    open_list(value, ())
    file, doc = source.file, source.doc
    while stack:
        items, at, kind, api_version = stack[-1]
        nested = None
        for i, item in items:
            where = Source(file, doc, i) if not at else Source(file, doc, at[0], (*at[1:], i))
            if not isinstance(item, dict):
                problems.append(error(f"expected an object, got {type_name(item)}", where))
                continue
            item_kind = item.get("kind")
            if isinstance(item_kind, str) and item_kind.endswith("List") and "items" in item:
                nested = item, (*at, i)
                break  # its items first, then the rest of this list
            if kind and not item_kind and not item.get("apiVersion"):
                yield RawDocument(where, {"apiVersion": api_version, "kind": kind, **item})
            else:
                yield RawDocument(where, item)
        if nested is None:
            stack.pop()
        else:
            open_list(*nested)


def _is_list(value: dict[str, Any]) -> bool:
    kind = value.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in value


def _item_kind(listed: dict[str, Any]) -> str:
    """``PodList`` → ``Pod``; ``List`` (whose items carry their kind) → ""."""
    kind = listed.get("kind")
    return kind[: -len("List")] if isinstance(kind, str) else ""


def _item_source(source: Source, at: tuple[int, ...]) -> Source:
    return Source(source.file, source.doc, at[0], at[1:])


def with_default_namespace(
    documents: list[RawDocument], namespace: str | None
) -> list[RawDocument]:
    """``kubectl apply -n NS``: objects without a namespace get NS (others keep theirs)."""
    if not namespace:
        return documents
    out = []
    for doc in documents:
        meta = doc.obj.get("metadata")
        if isinstance(meta, dict) and not meta.get("namespace"):
            doc = RawDocument(doc.source, {**doc.obj, "metadata": {**meta, "namespace": namespace}})
        out.append(doc)
    return out
