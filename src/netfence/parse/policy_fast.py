"""NetworkPolicies whose spec (or whose spec's parts) were already found valid,
converted without checking them again: a large cluster repeats the same few
policy shapes (the same rules and pod selectors in namespace after namespace).

``PolicyMemo.convert`` answers for a ``networking.k8s.io/v1`` NetworkPolicy when
the full path (``build.convert_fully``: ``validation.network_policy_errors`` then
``policy.to_policy``) would keep it without a single diagnostic, with the very
value it would make. A spec, each of its rules and its pod selector are checked
and converted once per distinct JSON text (which tells 80 from 80.0 and true,
and keys in their order): every check of a rule or selector looks at it alone
(``validation.spec_is_valid``), and so does its conversion. Everything outside
the spec is checked every time: plain metadata (a name and a namespace) with the
memory of valid names, any other the full way. Anything else (a problem
anywhere, a spec that is not a map) is None: the full path runs, and reports.
The tests check the two against each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from netfence.model.diagnostics import ObjectRef, Source
from netfence.model.labels import LabelSelector
from netfence.model.policy import Rule
from netfence.parse.policy import PolicySpec, policy_spec, selector, to_rule, with_spec
from netfence.parse.validation import (
    API_VERSION,
    errors_outside_spec,
    spec_is_valid,
    valid_pod_selector,
    valid_rule,
)
from netfence.parse.validation_meta import dns1123_label_errors, dns1123_subdomain_errors

#: What one policy converts to: (table, key, value, ref), as in build._Converted.
Plain = tuple[str, str, object, ObjectRef]

# Values the decoders never give but orjson would write as a string or as a
# plain number or map are refused (TypeError): timestamps, subclasses, dataclasses.
_EXACT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
_EXACT |= orjson.OPT_PASSTHROUGH_DATACLASS
_REMEMBERED = 1 << 14  # entries of each memory, then it starts again
_TOP = frozenset(("apiVersion", "kind", "metadata", "spec", "status"))
_PLAIN_META = frozenset(("name", "namespace"))
_INVALID = object()


def _json(value: object) -> bytes | None:
    """The exact JSON text of a value, or None when it may stand for another (NaN
    and infinities are written as null, so a text with a null is not used)."""
    try:
        text = orjson.dumps(value, option=_EXACT)
    except TypeError:  # an integer past 64 bits, a key that is no string, ...
        return None
    return None if b"null" in text else text


class _Memory(dict[Any, Any]):
    """Verdicts (a converted value, or _INVALID) by exact JSON text, bounded."""

    def verdict(self, key: object, make: Callable[[], object]) -> object:
        if key is None:
            return make()
        found = self.get(key, None)
        if found is None:
            if len(self) >= _REMEMBERED:
                self.clear()
            found = self[key] = make()
        return found


class PolicyMemo:
    """Valid NetworkPolicy specs and their parts, converted (bounded memory)."""

    def __init__(self) -> None:
        self._specs = _Memory()
        self._rules = _Memory()
        self._selectors = _Memory()
        self._names: set[str] = set()
        self._namespaces: set[str] = set()

    def convert(self, obj: dict[str, Any], default_namespace: str, source: Source) -> Plain | None:
        if obj.get("apiVersion") != API_VERSION:
            return None  # other groups' NetworkPolicy kinds, or an invalid version
        spec = obj.get("spec")
        if spec.__class__ is not dict:
            return None
        converted = self._specs.verdict(_json(spec), lambda: self._spec(spec))
        if converted is _INVALID or not self._valid_outside_spec(obj):
            return None
        assert isinstance(converted, PolicySpec)
        meta = obj["metadata"]  # valid: a map with a name
        namespace = meta.get("namespace") or default_namespace
        policy = with_spec(converted, namespace, obj, source)
        ref = ObjectRef("NetworkPolicy", namespace, policy.name)
        return "policies", f"NetworkPolicy/{namespace}/{policy.name}", policy, ref

    def _spec(self, spec: dict[str, Any]) -> object:
        if not spec_is_valid(spec, self._rule_is_valid, self._selector_is_valid):
            return _INVALID
        return policy_spec(spec, self._rule, self._pod_selector)

    def _rule_verdict(self, raw: object, direction: str) -> object:
        def make() -> object:
            if not valid_rule(raw, direction):
                return _INVALID
            return to_rule(raw, "from" if direction == "ingress" else "to")  # type: ignore[arg-type]

        text = _json(raw)
        return self._rules.verdict(None if text is None else (direction, text), make)

    def _rule_is_valid(self, raw: object, direction: str) -> bool:
        return self._rule_verdict(raw, direction) is not _INVALID

    def _rule(self, raw: Any, peers_field: str) -> Rule:
        found = self._rule_verdict(raw, "ingress" if peers_field == "from" else "egress")
        assert isinstance(found, Rule)  # validated
        return found

    def _selector_verdict(self, raw: object) -> object:
        def make() -> object:
            return selector(raw) if valid_pod_selector(raw) else _INVALID  # type: ignore[arg-type]

        return self._selectors.verdict(_json(raw), make)

    def _selector_is_valid(self, raw: object) -> bool:
        return self._selector_verdict(raw) is not _INVALID

    def _pod_selector(self, raw: Any) -> LabelSelector:
        found = self._selector_verdict(raw)
        assert isinstance(found, LabelSelector)  # validated
        return found

    def _valid_outside_spec(self, obj: dict[str, Any]) -> bool:
        """``not errors_outside_spec(obj)``; for plain metadata (only a name and a
        namespace, strings: the shapes are right, nothing else is checked) by the
        names and namespaces found valid before."""
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or not _PLAIN_META.issuperset(meta):
            return not errors_outside_spec(obj)
        if not _TOP.issuperset(obj):
            return not errors_outside_spec(obj)  # an unknown field: said there
        name, namespace = meta.get("name"), meta.get("namespace")
        if name.__class__ is not str or namespace.__class__ not in (str, type(None)):
            return not errors_outside_spec(obj)
        return _known(self._names, name, dns1123_subdomain_errors) and (
            not namespace or _known(self._namespaces, namespace, dns1123_label_errors)
        )


def _known(valid: set[str], text: str, errors: Callable[[str], list[str]]) -> bool:
    if text in valid:
        return True
    if errors(text):
        return False
    if len(valid) >= _REMEMBERED:
        valid.clear()
    valid.add(text)
    return True
