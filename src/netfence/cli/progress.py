"""Progress on a terminal: each slow phase says what it does and how long it took.

Only when stderr is a terminal, so pipes, files and tests see clean output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click


@contextmanager
def phase(title: str) -> Iterator[None]:
    if not sys.stderr.isatty():
        yield
        return
    start = time.perf_counter()
    click.echo(f"{title}…", err=True, nl=False)
    try:
        yield
    finally:
        click.echo(f"\r{title}: {time.perf_counter() - start:.1f} s", err=True)
