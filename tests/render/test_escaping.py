"""Hostile names through every renderer: the HTML report (structure, and a real
headless Chromium that must still draw the heatmap), DOT, CSV, the text matrix,
JSON and SARIF. The data is made directly from the model, so these hold whatever
names the parser may let through."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from ipaddress import ip_address
from pathlib import Path

import pytest
from tests.render.test_report import CHROMIUM, FLAGS

from netfence.analysis.lint import CHECKS, Finding
from netfence.analysis.matrix import Cell, Group, Matrix
from netfence.analysis.report import ReportData, report_data
from netfence.compile import compile_policies
from netfence.model.cluster import NAMESPACE_NAME_LABEL, Cluster, Namespace, Pod
from netfence.model.diagnostics import ObjectRef, Source
from netfence.model.labels import Labels
from netfence.model.ports import ContainerPort
from netfence.render.data import matrix_data
from netfence.render.lint import lint_data, lint_sarif
from netfence.render.matrix import dot_quote, matrix_csv, matrix_dot, matrix_lines, matrix_table
from netfence.render.report import report_html, script_json
from netfence.render.terminal import SafeStream, safe_line, safe_text

NAMES = [
    "</script><script>document.title='pwned'</script>",
    "<!--<script>",
    "q\"uote's & <b>amp</b> &amp;",
    "sep\u2028line\u2029para",
    "esc\x1b]0;t\x07\r\nnext\ttab",
    "back\\slash\\",
    "lone\udcff",
    'arrow" -> "x"; } digraph {',
]
NAMESPACE = 'ns<!--<script>&"'


def _cluster() -> Cluster:
    namespaces = tuple(
        Namespace(n, Labels.of({NAMESPACE_NAME_LABEL: n})) for n in ("shop", NAMESPACE)
    )
    pods = tuple(
        Pod(
            "shop" if i else NAMESPACE,
            name,
            Labels.of({"app": "x"}),
            (ip_address(f"10.0.0.{i + 1}"),),
            (ContainerPort(80),),
        )
        for i, name in enumerate(NAMES)
    )
    return Cluster(namespaces, pods)


def _finding(text: str) -> Finding:
    return Finding(
        CHECKS[0][0], f"message {text}", Source(text, 1), ObjectRef("Pod", "shop", text), "spec"
    )


@pytest.fixture(scope="module")
def data() -> ReportData:
    data = report_data(compile_policies(()), _cluster())
    return dataclasses.replace(data, findings=tuple(_finding(n) for n in NAMES))


@pytest.fixture(scope="module")
def page(data: ReportData) -> str:
    return report_html(data, title=f"report {NAMES[0]}")


def _keys(data: ReportData) -> list[str]:
    return [safe_text(g.key) for g in data.groups]


# --- HTML report ---------------------------------------------------------------------


def test_script_json_never_holds_markup_or_line_separators() -> None:
    value = {"a": "</script><!--<script>&\u2028\u2029'\"", "<": [">"]}
    text = script_json(value)
    assert json.loads(text) == value
    assert not set(text) & set("<>&\u2028\u2029")


def test_page_has_its_two_scripts_and_no_comment(page: str) -> None:
    page.encode("utf-8")  # no lone surrogate: the page can be written
    assert len(re.findall(r"<script\b", page, re.I)) == 2
    assert len(re.findall(r"</script", page, re.I)) == 2
    assert "<!--" not in page
    assert not {c for c in page if c in "\u2028\u2029" or (ord(c) < 0x20 and c not in "\n\t")}


def test_embedded_json_is_the_data(page: str, data: ReportData) -> None:
    payload = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert payload is not None
    embedded = json.loads(payload.group(1))
    assert [g["name"] for g in embedded["groups"]] == _keys(data)
    assert [g["namespace"] for g in embedded["groups"]] == [
        safe_text(g.namespace) for g in data.groups
    ]
    n = len(data.groups)
    assert len(embedded["cells"]) == n * n  # no policy: every pair, and each pod and itself
    assert all(embedded["cells"][f"{i},{i}"][0]["total"] == 0 for i in range(n))
    assert all(embedded["cells"][f"{i},{i}"][0]["loopback"] == 1 for i in range(n))
    first = embedded["cells"]["0,1"][0]["explain"]
    assert first.startswith(f"{_keys(data)[0]} -> {_keys(data)[1]} 80/TCP: allowed")


class _Page(HTMLParser):
    """Text of the elements that show names: SVG labels, options, findings, title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.found: dict[str, list[str]] = {}
        self.option_values: list[str] = []
        self.row_headers: list[str] = []
        self.cells: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        values = dict(attrs)
        if tag == "option":
            self.option_values.append(values["value"] or "")
        if tag == "td" and "data-from" in values:
            self.cells.append(
                (values["data-from"] or "", values["data-to"] or "", values["data-state"] or "")
            )

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, text: str) -> None:
        if self.stack:
            self.found.setdefault(self.stack[-1], []).append(text)


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def test_every_name_is_html_text(page: str, data: ReportData) -> None:
    parsed = _parse(page)
    assert parsed.found["text"] == _keys(data)  # the SVG graph's labels
    namespaces = sorted({safe_text(g.namespace) for g in data.groups})
    assert parsed.option_values[1 : 1 + len(namespaces)] == namespaces
    assert parsed.found["title"] == [safe_text(f"report {NAMES[0]}")]
    shown = "".join(parsed.found["td"])
    for name in NAMES:
        assert safe_text(f"message {name}") in shown
    assert len(parsed.found["script"]) == 2  # the data, the program: nothing else ran


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (Debian package chromium)")
def test_chromium_draws_the_heatmap_with_hostile_names(
    page: str, data: ReportData, tmp_path: Path
) -> None:
    """Before: '<!--<script>' in the data made the data script swallow the program and
    the page showed no heatmap at all (0 cells)."""
    path = tmp_path / "hostile.html"
    path.write_text(page, encoding="utf-8")
    common = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*common, "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    parsed = _parse(dom)
    keys = _keys(data)
    assert len(parsed.cells) == len(keys) ** 2  # the page's script drew every cell
    assert {(a, b) for a, b, _ in parsed.cells} == {(a, b) for a in keys for b in keys}
    states = {(a, b): state for a, b, state in parsed.cells}
    assert all(states[a, b] == ("loopback" if a == b else "all") for a in keys for b in keys)
    assert [t for t in parsed.found["th"] if t in keys] == keys + keys  # columns, then rows
    assert parsed.found["title"] == [safe_text(f"report {NAMES[0]}")]  # no injected script ran


# --- DOT -----------------------------------------------------------------------------


def _dot_tokens(text: str) -> list[str]:
    """Graphviz's lexer for what matrix_dot writes: a quoted string ends at an unescaped
    quote; in it \\" is a quote, \\\\ stays a pair, backslash-newline is dropped.
    Quoted strings come back as ``"…`` (their value), the rest as themselves."""
    tokens: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in " \t\n":
            i += 1
        elif c == '"':
            value, i = [], i + 1
            while text[i] != '"':  # IndexError: unterminated
                if text[i] == "\\" and text[i + 1] == '"':
                    value.append('"')
                    i += 2
                elif text[i] == "\\" and text[i + 1] == "\\":
                    value.append("\\\\")
                    i += 2
                elif text[i] == "\\" and text[i + 1] == "\n":
                    i += 2
                else:
                    value.append(text[i])
                    i += 1
            tokens.append('"' + "".join(value))
            i += 1
        elif text.startswith("->", i):
            tokens.append("->")
            i += 2
        elif c in "{}[];,=":
            tokens.append(c)
            i += 1
        elif m := re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+", text[i:]):
            tokens.append(m.group())
            i += m.end()
        else:
            raise AssertionError(f"not DOT here: {text[i : i + 20]!r}")  # '<' would be HTML
    return tokens


def _label(value: str) -> str:
    """What a label shows for an ID's value: \\\\ is a backslash, \\n a line break."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value)


def _matrix(names: list[str]) -> Matrix:
    groups = tuple(Group(f"shop/{n}", "shop", ()) for n in names)
    cells = tuple(
        tuple(Cell(1, 1 if (i + j) % 2 else 2) for j in range(len(names)))
        for i in range(len(names))
    )
    return Matrix(groups, cells, None, None)


DOT_QUOTE = [
    ("shop/web", '"shop/web"'),
    ('a"b', '"a\\"b"'),
    ("back\\slash\\", '"back\\\\slash\\\\"'),
    ("two\nlines", '"two\\nlines"'),
    ("<b>html</b>", '"<b>html</b>"'),
    ("esc\x1b\r", '"esc\\\\x1b\\\\x0d"'),  # shown as text, the backslash doubled
    ("\\N \\G", '"\\\\N \\\\G"'),  # not the node or graph name
]


@pytest.mark.parametrize(("name", "quoted"), DOT_QUOTE)
def test_dot_quote(name: str, quoted: str) -> None:
    assert dot_quote(name) == quoted
    (value,) = _dot_tokens(quoted)
    assert _label(value[1:]) == safe_text(name)


def test_dot_is_valid_with_hostile_names() -> None:
    matrix = _matrix(NAMES)
    text = matrix_dot(matrix)
    keys = [safe_text(g.key) for g in matrix.groups]
    ids = ['"' + dot_quote(g.key)[1:-1].replace('\\"', '"') for g in matrix.groups]
    edges: list[str] = []
    for i in range(len(keys)):
        for j in range(len(keys)):
            if i != j:
                dashed = ["[", "style", "=", "dashed", ",", "label", "=", '"some', "]"]
                edges += [ids[i], "->", ids[j], *(dashed if (i + j) % 2 == 0 else []), ";"]
    header = ["digraph", "netfence", "{", "rankdir", "=", "LR", ";", "node", "["]
    header += ["shape", "=", "box", ",", "fontsize", "=", "10", "]", ";"]
    nodes = [t for node in ids for t in (node, ";")]
    assert _dot_tokens(text) == [*header, *nodes, *edges, "}"]
    assert [_label(node[1:]) for node in ids] == keys  # each node shows its name
    assert len(set(ids)) == len(ids)
    assert len(text.splitlines()) == 3 + len(keys) + len(keys) * (len(keys) - 1) + 1


# --- CSV and the text matrix -------------------------------------------------------------

CSV_NAMES = ["comma,name", 'quote"name', "new\nline", "carriage\rreturn", "=1+2", "esc\x1b[31m"]


def test_csv_keeps_one_row_per_workload() -> None:
    """Before: a carriage return in a name was written bare and split its row."""
    matrix = _matrix(CSV_NAMES)
    rows = list(csv.reader(io.StringIO(matrix_csv(matrix), newline="")))
    keys = [safe_text(g.key) for g in matrix.groups]
    assert rows[0] == ["from", *keys]
    assert [r[0] for r in rows[1:]] == keys
    assert all(len(r) == len(keys) + 1 for r in rows)
    assert "\r" not in matrix_csv(matrix) and "\x1b" not in matrix_csv(matrix)


def test_matrix_lines_show_names_escaped() -> None:
    matrix = _matrix(NAMES)
    lines = matrix_lines(matrix)
    text = "\n".join(lines)
    assert not {c for c in text if ord(c) < 0x20 and c != "\n"}
    assert all(safe_line(g.key) in text for g in matrix.groups)
    assert len(lines) == 1 + len(NAMES) + 4  # no name adds a line
    widths = {len(line) for line in lines[1 : 1 + len(NAMES)]}
    assert len(widths) == 1  # columns aligned on the escaped names


# --- JSON and SARIF -----------------------------------------------------------------------


def test_json_and_sarif_carry_any_text_and_pass_the_terminal_unchanged() -> None:
    findings = [_finding(n) for n in NAMES]
    for value in (lint_data(findings), lint_sarif(findings), matrix_data(_matrix(NAMES))):
        text = json.dumps(value, indent=2)
        assert json.loads(text) == value
        out = io.StringIO()
        SafeStream(out).write(text)
        assert out.getvalue() == text
    messages = [r["message"]["text"] for r in lint_sarif(findings)["runs"][0]["results"]]
    assert messages == [f"message {n}" for n in NAMES]


def test_terminal_table_sends_only_its_own_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal the rich table: names are text (not rich markup), and the only
    escape sequences written are its colours."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("NO_COLOR", raising=False)
    names = ["[red]markup[/red]", "osc\x1b]0;pwned\x07", "cr\rnl\nx"]
    matrix_table(_matrix(names))
    text = out.getvalue()
    assert "\x1b[" in text  # coloured
    assert safe_text(text, keep_sgr=True) == text  # and nothing but colour
    for name in names:
        assert safe_line(f"shop/{name}") in text
