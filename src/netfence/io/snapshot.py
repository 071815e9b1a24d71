"""What a live read saw, as a file that ``-f`` reads back to the same cluster."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import yaml

from netfence.io.live import LiveRead

_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def snapshot_text(read: LiveRead, form: str = "yaml", now: datetime | None = None) -> str:
    """``yaml``: one document per object, after a comment naming the context, the
    time and what the cluster does not serve; ``list``: one ``v1`` List in YAML;
    ``json``: the List in JSON (no comments: its metadata carries the same facts)."""
    taken = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    objects = [doc.obj for doc in read.documents]
    header = [
        f"netfence snapshot of context {read.context} ({read.server}) at {taken}",
        "not served by the cluster (none read): " + (", ".join(read.not_served) or "nothing"),
        "left out of every object: managedFields, last-applied-configuration,"
        " containers' env/envFrom/command/args",
    ]
    if form == "json":
        listing = {
            "apiVersion": "v1",
            "kind": "List",
            "metadata": {"annotations": {"netfence.dev/snapshot": " | ".join(header)}},
            "items": objects,
        }
        return json.dumps(listing, indent=2, sort_keys=False) + "\n"
    comment = "".join(f"# {line}\n" for line in header)
    if form == "list":
        listing = {"apiVersion": "v1", "kind": "List", "items": objects}
        return comment + yaml.dump(listing, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
    if not objects:
        return comment
    return comment + yaml.dump_all(
        objects, Dumper=_Dumper, sort_keys=False, allow_unicode=True, explicit_start=True
    )
