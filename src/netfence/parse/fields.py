"""Typed access to decoded manifests that records wrong types as diagnostics.

Every getter takes the value and its field path, returns a safe default when the
value has the wrong type, and records an error naming the path.
"""

from __future__ import annotations

import ipaddress
from _socket import AF_INET, inet_pton  # socket.py without its enum set-up (start-up)
from dataclasses import dataclass, field
from typing import Any

from netfence.model.diagnostics import Diagnostic, ObjectRef, Source, error
from netfence.model.labels import Labels
from netfence.model.policy import IPAddress
from netfence.parse.documents import type_name
from netfence.parse.validation_shapes import map_key


@dataclass
class FieldReader:
    source: Source | None
    obj: ObjectRef | None
    problems: list[Diagnostic] = field(default_factory=list)

    def fail(self, path: str, message: str) -> None:
        self.problems.append(error(message, self.source, self.obj, path))

    def _wrong(self, path: str, expected: str, value: object) -> None:
        self.fail(path, f"expected {expected}, got {type_name(value)}")

    def mapping(self, value: object, path: str) -> dict[str, Any]:
        if value is None:
            return {}
        if isinstance(value, dict):
            return value
        self._wrong(path, "an object", value)
        return {}

    def listing(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self._wrong(path, "a list", value)
        return []

    def string(self, value: object, path: str, default: str = "") -> str:
        if value is None:
            return default
        if isinstance(value, str):
            return value
        self._wrong(path, "a string", value)
        return default

    def integer(self, value: object, path: str, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self._wrong(path, "an integer", value)
        return default

    def boolean(self, value: object, path: str) -> bool:
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        self._wrong(path, "a boolean", value)
        return False

    def labels(self, value: object, path: str) -> Labels:
        pairs: dict[str, str] = {}
        for key, label in self.mapping(value, path).items():
            name = map_key(key)
            if name is None or not (label is None or isinstance(label, str)):
                self._wrong(f"{path}.{key}", "a string", label)
            else:
                pairs[name] = label or ""
        return Labels.of(pairs)

    def ip(self, value: object, path: str) -> IPAddress | None:
        """The address, or None; a string that is no address is reported by the
        validation of the object (``netfence.parse.validation_objects``)."""
        text = self.string(value, path)
        return parse_ip(text) if text else None


def parse_ip(text: str) -> IPAddress | None:
    """An IP address, or None. Dotted IPv4 (the bulk of any cluster) goes through
    the C parser (inet_pton, which rejects leading zeros as ipaddress does). A zone
    (``fe80::1%eth0``) or a character no address has (a NUL) is no address."""
    if "%" in text or "\x00" in text or not text.isascii():
        return None
    try:
        return ipaddress.IPv4Address(int.from_bytes(inet_pton(AF_INET, text), "big"))
    except OSError:
        pass
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
