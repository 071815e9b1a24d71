"""The connectivity matrix as a terminal table or CSV."""

from __future__ import annotations

import csv
import io

from netfence.analysis.matrix import Cell, Matrix
from netfence.render.terminal import raw, safe_line, safe_text

SYMBOLS = {"all": "✓", "no": "✗", "some": "~", "none": "·", "loopback": "↺"}
LEGEND = (
    "✓ all allowed   ✗ all denied   ~a/b a of b allowed   · nothing to probe   "
    "↺ only pods reaching themselves"
)
COUNTED = (
    "counted: connections between distinct pods; a pod reaching itself is always allowed "
    "(loopback) and not counted"
)


def cell_text(cell: Cell) -> str:
    if cell.state == "some":
        return f"~{cell.allowed}/{cell.total}"
    return SYMBOLS[cell.state]


def matrix_lines(matrix: Matrix) -> list[str]:
    """A plain-text table: rows are sources, columns destinations (numbered)."""
    names = [safe_line(g.key) for g in matrix.groups]
    width = max((len(n) for n in names), default=4)
    cells = [[cell_text(c) for c in row] for row in matrix.cells]
    col = max([3, *(len(t) for row in cells for t in row)])
    header = " " * (width + 6) + " ".join(f"{j + 1:>{col}}" for j in range(len(names)))
    lines = [header]
    for i, name in enumerate(names):
        lines.append(f"{i + 1:>3}. {name:<{width}}  " + " ".join(f"{t:>{col}}" for t in cells[i]))
    port = "declared container ports" if matrix.port is None else f"port {matrix.port}"
    proto = "" if matrix.protocol is None else f"/{matrix.protocol.value}"
    lines.append("")
    family = "" if matrix.family is None else f", IPv{matrix.family}"
    lines.append(f"rows: from, columns: to (numbers as rows); probed on {port}{proto}{family}")
    lines.append(LEGEND)
    lines.append(COUNTED)
    return lines


STYLES = {"all": "green", "no": "bold red", "some": "yellow", "none": "dim", "loopback": "dim"}


def matrix_table(matrix: Matrix) -> None:
    """On a terminal, a coloured rich table; otherwise the plain lines (stable for diffs)."""
    import sys

    if not sys.stdout.isatty():
        print("\n".join(matrix_lines(matrix)))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("from \\ to")
    for j in range(len(matrix.groups)):
        table.add_column(str(j + 1), justify="right")
    for i, (group, row) in enumerate(zip(matrix.groups, matrix.cells, strict=True)):
        cells = [f"[{STYLES[c.state]}]{cell_text(c)}[/]" for c in row]
        table.add_row(f"{i + 1:>3}. {escape(safe_line(group.key))}", *cells)
    console = Console(file=raw(sys.stdout))  # its own colours; the names are made safe above
    console.print(table)
    for line in matrix_lines(matrix)[-3:]:
        console.print(line, highlight=False)


def matrix_csv(matrix: Matrix) -> str:
    """One row per source workload. Names are quoted by the csv module where they hold
    a comma, quote or newline; a carriage return (which the module would leave bare,
    splitting the row for a reader) and other control characters are shown escaped."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [safe_text(g.key) for g in matrix.groups]
    writer.writerow(["from", *names])
    for name, row in zip(names, matrix.cells, strict=True):
        writer.writerow([name, *(f"{c.allowed}/{c.total}" for c in row)])
    return out.getvalue()


def dot_quote(text: str) -> str:
    """``text`` as a DOT quoted string, good as a node ID and as a label: the lexer
    ends a quoted string only at an unescaped quote (and keeps ``\\\\`` as a pair), and
    labels read ``\\\\`` as one backslash and ``\\n`` as a line break. So backslashes
    are doubled, quotes escaped, newlines written ``\\n`` and other control characters
    shown as escapes; ``<``/``>`` inside quotes are plain text, never an HTML label."""
    escaped = safe_text(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def matrix_dot(matrix: Matrix) -> str:
    """Graphviz: a node per workload, an edge per allowed flow (dashed: some pairs only)."""
    lines = ["digraph netfence {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    ids = [dot_quote(g.key) for g in matrix.groups]
    lines.extend(f"  {node};" for node in ids)
    for i, row in enumerate(matrix.cells):
        for j, cell in enumerate(row):
            if i == j or cell.state not in ("all", "some"):
                continue
            style = "" if cell.state == "all" else ' [style=dashed, label="some"]'
            lines.append(f"  {ids[i]} -> {ids[j]}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"
