"""The connectivity matrix as a terminal table or CSV."""

from __future__ import annotations

import csv
import io

from netfence.analysis.matrix import Cell, Matrix

SYMBOLS = {"all": "✓", "no": "✗", "some": "~", "none": "·"}


def cell_text(cell: Cell) -> str:
    if cell.state == "some":
        return f"~{cell.allowed}/{cell.total}"
    return SYMBOLS[cell.state]


def matrix_lines(matrix: Matrix) -> list[str]:
    """A plain-text table: rows are sources, columns destinations (numbered)."""
    names = [g.key for g in matrix.groups]
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
    lines.append("✓ all allowed   ✗ all denied   ~a/b a of b allowed   · nothing to probe")
    return lines


STYLES = {"all": "green", "no": "bold red", "some": "yellow", "none": "dim"}


def matrix_table(matrix: Matrix) -> None:
    """On a terminal, a coloured rich table; otherwise the plain lines (stable for diffs)."""
    import sys

    if not sys.stdout.isatty():
        print("\n".join(matrix_lines(matrix)))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("from \\ to")
    for j in range(len(matrix.groups)):
        table.add_column(str(j + 1), justify="right")
    for i, (group, row) in enumerate(zip(matrix.groups, matrix.cells, strict=True)):
        cells = [f"[{STYLES[c.state]}]{cell_text(c)}[/]" for c in row]
        table.add_row(f"{i + 1:>3}. {group.key}", *cells)
    console = Console()
    console.print(table)
    for line in matrix_lines(matrix)[-2:]:
        console.print(line, highlight=False)


def matrix_csv(matrix: Matrix) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["from", *(g.key for g in matrix.groups)])
    for group, row in zip(matrix.groups, matrix.cells, strict=True):
        writer.writerow([group.key, *(f"{c.allowed}/{c.total}" for c in row)])
    return out.getvalue()


def matrix_dot(matrix: Matrix) -> str:
    """Graphviz: a node per workload, an edge per allowed flow (dashed: some pairs only)."""
    lines = ["digraph netfence {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    lines.extend(f'  "{g.key}";' for g in matrix.groups)
    for i, row in enumerate(matrix.cells):
        for j, cell in enumerate(row):
            if i == j or cell.state not in ("all", "some"):
                continue
            style = "" if cell.state == "all" else ' [style=dashed, label="some"]'
            lines.append(f'  "{matrix.groups[i].key}" -> "{matrix.groups[j].key}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"
