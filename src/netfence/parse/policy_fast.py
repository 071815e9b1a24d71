"""NetworkPolicies whose spec was already found valid, converted without checking
it again: a large cluster repeats the same few policy shapes (the same spec in
namespace after namespace).

``PolicyMemo.convert`` answers for a ``networking.k8s.io/v1`` NetworkPolicy when
the full path (``build.convert_fully``: ``validation.network_policy_errors`` then
``policy.to_policy``) would keep it without a single diagnostic, with the very
value it would make. The spec is checked and converted once per distinct spec,
remembered by its JSON text (which tells 80 from 80.0 and true, and keys in their
order); everything outside the spec (metadata, apiVersion, unknown fields) is
checked the full way every time. Anything else (a problem anywhere, a spec that
is not a map, a value the JSON text cannot tell apart) is None: the full path
runs, and reports. The tests check the two against each other.
"""

from __future__ import annotations

from typing import Any

import orjson

from netfence.model.diagnostics import ObjectRef, Source
from netfence.parse.policy import PolicySpec, policy_spec, with_spec
from netfence.parse.validation import API_VERSION, errors_outside_spec, spec_is_valid

#: What one policy converts to: (table, key, value, ref), as in build._Converted.
Plain = tuple[str, str, object, ObjectRef]

# Values the decoders never give but orjson would write as a string or as a
# plain number or map are refused (TypeError): timestamps, subclasses, dataclasses.
_EXACT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_EXACT |= orjson.OPT_PASSTHROUGH_DATACLASS
_REMEMBERED = 1 << 14  # specs remembered, then it starts again


class PolicyMemo:
    """Valid NetworkPolicy specs, converted, by JSON text (bounded memory)."""

    def __init__(self) -> None:
        self._specs: dict[bytes, PolicySpec] = {}

    def convert(self, obj: dict[str, Any], default_namespace: str, source: Source) -> Plain | None:
        if obj.get("apiVersion") != API_VERSION:
            return None  # other groups' NetworkPolicy kinds, or an invalid version
        spec = obj.get("spec")
        if spec.__class__ is not dict:
            return None
        converted = self._spec(spec)
        if converted is None or errors_outside_spec(obj):
            return None
        meta = obj["metadata"]  # valid: a map with a name
        namespace = meta.get("namespace") or default_namespace
        policy = with_spec(converted, namespace, obj, source)
        ref = ObjectRef("NetworkPolicy", namespace, policy.name)
        return "policies", f"NetworkPolicy/{namespace}/{policy.name}", policy, ref

    def _spec(self, spec: dict[str, Any]) -> PolicySpec | None:
        """The converted spec when it is valid; None when not (or not provably the
        same as one seen: NaN and infinities are written as null, so a text with a
        null is not remembered)."""
        try:
            text = orjson.dumps(spec, option=_EXACT)
        except TypeError:  # an integer past 64 bits, a key that is no string, ...
            text = b"null"
        known = self._specs.get(text)
        if known is not None:
            return known
        if not spec_is_valid(spec):
            return None
        converted = policy_spec(spec)
        if b"null" not in text:
            if len(self._specs) >= _REMEMBERED:
                self._specs.clear()
            self._specs[text] = converted
        return converted
