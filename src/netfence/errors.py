"""The one exception tree of netfence.

User mistakes in manifests and expectation files are *diagnostics* (data, with a
file, a document and a field path); they reach the user through
``InvalidInputError``, which carries all of them at once. Everything else that
can go wrong is one of the classes below, caught once by the CLI::

    NetfenceError                     base of everything netfence raises on purpose
    ├── InvalidInputError             bad manifests / expectations; carries diagnostics   (exit 2)
    ├── TargetError                   FROM/TO/--port that names nothing in the cluster    (exit 2)
    └── EnvironmentProblem            the world failed: unreadable file, missing tool     (exit 3)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netfence.model.diagnostics import Diagnostic


class NetfenceError(Exception):
    """Base class of every error netfence raises on purpose."""

    exit_code = 2


class InvalidInputError(NetfenceError):
    """The input is wrong; ``diagnostics`` says where and why, all at once."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        first = self.diagnostics[0].format() if self.diagnostics else "invalid input"
        more = len(self.diagnostics) - 1
        super().__init__(first if more <= 0 else f"{first} (and {more} more)")


class TargetError(NetfenceError):
    """A connection endpoint or port that does not exist in the cluster."""


class EnvironmentProblem(NetfenceError):
    """Something outside netfence failed: a file could not be read, a tool is missing."""

    exit_code = 3
