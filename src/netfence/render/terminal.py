"""Text that reaches a terminal carries no control character from the data.

A name in a manifest can hold any character, and netfence prints names, messages
and file names back. An escape sequence in one could recolour, hide or rewrite
what the terminal shows (move the cursor, overwrite a line with a carriage
return, set the window title or the clipboard), a bidirectional override could
reorder it, and a lone surrogate could not be encoded at all. So every text
output goes through ``safe_text``: such characters are shown as their Python
escape (``\\x1b``, ``\\u202e``, ``\\udcff``), newline and tab stay as they are.

``install()`` wraps ``sys.stdout`` and ``sys.stderr`` in a ``SafeStream`` that
does this to everything written, and also writes any character the stream's
encoding cannot hold as a backslash escape instead of failing. On a terminal,
colour and bold (SGR sequences, ``ESC [ … m``) pass, the way ``less -R`` lets
them: click and rich style the output with them, click removes them itself when
the output is not a terminal, and they can change only how text looks, not
where it goes. JSON output is unchanged: ``json.dumps`` escapes every control
and non-ASCII character itself.
"""

from __future__ import annotations

import codecs
import re
import sys
from collections.abc import Iterable
from typing import TextIO, cast

_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and newline, DEL, C1
    "\u2028\u2029\u202a-\u202e\u2066-\u2069"  # separators, bidirectional controls
    "\ud800-\udfff]"  # surrogates (only lone ones can be in a str)
)
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str, keep_sgr: bool = False) -> str:
    """``text`` with every control character but newline and tab, every bidirectional
    control and every lone surrogate replaced by its visible escape; with
    ``keep_sgr``, colour and bold sequences (``ESC [ … m``) are kept."""
    if not keep_sgr:
        return _UNSAFE.sub(_visible, text)
    parts: list[str] = []
    end = 0
    for match in _SGR.finditer(text):
        parts.append(_UNSAFE.sub(_visible, text[end : match.start()]))
        parts.append(match.group())
        end = match.end()
    parts.append(_UNSAFE.sub(_visible, text[end:]))
    return "".join(parts)


def safe_line(text: str) -> str:
    """``safe_text`` on one line: newline and tab shown as ``\\n`` and ``\\t`` too, for a
    name in a table row or column."""
    return safe_text(text).replace("\n", "\\n").replace("\t", "\\t")


class SafeStream:
    """A text stream that writes ``safe_text`` of what it is given to ``stream``,
    with characters the stream's encoding cannot hold as backslash escapes.

    It offers no ``buffer``, so nothing (click included) writes around it."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            self._encoding = codecs.lookup(self._encoding).name
        except LookupError:
            self._encoding = "utf-8"
        try:
            self._tty = stream.isatty()
        except (AttributeError, ValueError, OSError):
            self._tty = False

    @property
    def wrapped(self) -> TextIO:
        """The stream written to, for output that carries its own escape sequences
        on purpose (a progress line's carriage return)."""
        return self._stream

    @property
    def encoding(self) -> str:
        return self._encoding

    @property
    def errors(self) -> str:
        return "backslashreplace"

    @property
    def closed(self) -> bool:
        return bool(getattr(self._stream, "closed", False))

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def seekable(self) -> bool:
        return False

    def isatty(self) -> bool:
        return self._tty

    def fileno(self) -> int:
        return self._stream.fileno()

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click tells text from binary streams by this
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        clean = safe_text(text, keep_sgr=self._tty)
        if self._encoding != "utf-8":  # UTF-8 holds all that safe_text leaves
            clean = clean.encode(self._encoding, "backslashreplace").decode(self._encoding)
        self._stream.write(clean)
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()


def raw(stream: TextIO) -> TextIO:
    """The stream under a ``SafeStream`` (or ``stream`` itself), for output that is
    made of netfence's own text with deliberate control sequences."""
    return stream.wrapped if isinstance(stream, SafeStream) else stream


def install() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` in a ``SafeStream`` (once)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, SafeStream):
            setattr(sys, name, cast(TextIO, SafeStream(stream)))
