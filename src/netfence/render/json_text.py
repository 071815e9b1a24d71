"""JSON output text, as ``json.dumps(data, indent=2)`` writes it, made fast.

The commands' ``-o json`` output can be large (a diff at 20k pods lists thousands
of changes: the standard encoder took 1.8 s of a 5 s command). orjson writes the
same layout (two-space indent, ``": "`` and ``","`` separators, keys in insertion
order) far faster. Its text is used only where it is the standard encoder's:

- ASCII only, without DEL. The standard encoder escapes every non-ASCII character
  and DEL (``ensure_ascii``), which also keeps terminal controls such as C1 characters and
  bidirectional overrides out of the output raw (render/terminal.py); orjson
  writes them as UTF-8, so any non-ASCII output is written again the standard way.
- No float. Both write the shortest text that reads back as the same float, but
  not always alike (``1e+16`` against ``1e16``), and the standard encoder writes
  NaN and infinities where orjson writes null: data with a float is written the
  standard way.
- Anything orjson refuses (an integer past 64 bits, a key that is not a string)
  is written the standard way.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def json_text(data: Any) -> str:
    """``json.dumps(data, indent=2)``, through orjson where that is the same text."""
    if _has_float(data):
        return json.dumps(data, indent=2)
    try:
        out = orjson.dumps(data, option=orjson.OPT_INDENT_2)
    except TypeError:
        return json.dumps(data, indent=2)
    return out.decode() if out.isascii() and b"\x7f" not in out else json.dumps(data, indent=2)


def _has_float(data: Any) -> bool:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, float):
            return True
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return False
