"""netfence: Kubernetes network policy semantics, explained.

The public facade is small (``netfence.api``): load manifests into one value of
the cluster and its compiled policies, then ask the engine about connections,
matrices, lint findings and diffs. Its names are imported on first use, so
``import netfence`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

__all__ = [
    "Loaded",
    "check",
    "diff",
    "evaluate",
    "explain",
    "lint",
    "load",
    "loads",
    "matrix",
]


def __getattr__(name: str) -> Any:
    # the root package only re-exports the facade, on first use; modules of every
    # layer read ``netfence.__version__`` without pulling the facade in
    if name in __all__:
        return getattr(importlib.import_module("netfence.api"), name)
    raise AttributeError(f"module 'netfence' has no attribute {name!r}")
