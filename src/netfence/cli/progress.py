"""Progress on a terminal: each slow phase says what it does and how long it took.

Only when stderr is a terminal, so pipes, files and tests see clean output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from netfence.render.terminal import raw


@contextmanager
def phase(title: str) -> Iterator[None]:
    if not sys.stderr.isatty():
        yield
        return
    start = time.perf_counter()
    terminal = raw(sys.stderr)  # its carriage return is meant: not through safe_text
    click.echo(f"{title}…", file=terminal, nl=False)
    try:
        yield
    finally:
        click.echo(f"\r{title}: {time.perf_counter() - start:.1f} s", file=terminal)
