"""meta/v1 validation of raw manifests: names, labels, selectors, object metadata.

The part of ``netfence.parse.validation`` that is not specific to NetworkPolicy;
the loader reuses it for Pods, Services and Namespaces. Every public name here is
re-exported by ``netfence.parse.validation``.

Formats (upstream k8s.io/apimachinery/pkg/util/validation). ``*_errors`` return the
API server's reasons, empty when the value is valid; ``is_*`` say whether it is::

    dns1123_label_errors(s)      / is_dns1123_label(s)       namespaces
    dns1123_subdomain_errors(s)  / is_dns1123_subdomain(s)   object names
    dns1035_label_errors(s)      / is_dns1035_label(s)       Service names
    qualified_name_errors(s)     / is_qualified_name(s)      label keys
    label_value_errors(s)        / is_label_value(s)
    iana_svc_name_errors(s)      / is_iana_svc_name(s)       named ports

Raw values, as decoded from YAML/JSON (they never raise; FieldError is in
``netfence.parse.validation_shapes``)::

    validate_label_map(value, field_path) -> list[FieldError]        labels, Service selectors
    validate_label_selector(value, field_path) -> list[FieldError]   meta/v1 LabelSelector
    validate_object_meta(value, field_path="metadata") -> list[FieldError]

The ``*_errors(value, path)`` forms of the last three skip the type checks, for
callers that ran ``check_shape`` on the whole object already.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from netfence.parse.validation_shapes import (
    ANYTHING,
    INTEGER,
    STRING,
    STRING_MAP,
    FieldError,
    ListOf,
    Obj,
    as_map,
    check_shape,
    child,
    forbidden,
    index,
    invalid,
    list_at,
    objects_at,
    required,
    str_at,
    string_items,
)

# --- formats (k8s.io/apimachinery/pkg/util/validation) ----------------------------------

_DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = _DNS_LABEL + r"(\." + _DNS_LABEL + ")*"
_LABEL_KEY_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _LABEL_KEY_NAME + ")?"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL_RE = re.compile(_DNS_LABEL)
_DNS1035_LABEL_RE = re.compile(_DNS1035_LABEL)
_DNS_SUBDOMAIN_RE = re.compile(_DNS_SUBDOMAIN)
_LABEL_KEY_NAME_RE = re.compile(_LABEL_KEY_NAME)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE)
_PORT_NAME_CHARS_RE = re.compile("[-a-z0-9]+")


def _nbytes(value: str) -> int:
    """Go measures strings in bytes; surrogates (invalid UTF-8) still count."""
    return len(value.encode("utf-8", "surrogatepass"))


def _max_len(limit: int) -> str:
    return f"must be no more than {limit} bytes"


def _regex_error(message: str, regex: str, *examples: str) -> str:
    quoted = " or ".join(f"'{e}'" for e in examples)
    return f"{message} (e.g. {quoted}, regex used for validation is '{regex}')"


def dns1123_label_errors(value: str) -> list[str]:
    """RFC 1123 label: at most 63 lowercase alphanumerics or '-', alphanumeric at both ends."""
    errors = [_max_len(63)] if _nbytes(value) > 63 else []
    if not _DNS_LABEL_RE.fullmatch(value):
        if _DNS_SUBDOMAIN_RE.fullmatch(value):
            errors.append("must not contain dots")
        else:
            errors.append(
                _regex_error(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                    "characters or '-', and must start and end with an alphanumeric character",
                    _DNS_LABEL,
                    "my-name",
                    "123-abc",
                )
            )
    return errors


def dns1035_label_errors(value: str) -> list[str]:
    """RFC 1035 label (Service names): an RFC 1123 label that starts with a letter."""
    errors = [_max_len(63)] if _nbytes(value) > 63 else []
    if not _DNS1035_LABEL_RE.fullmatch(value):
        errors.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL,
                "my-name",
                "abc-123",
            )
        )
    return errors


def dns1123_subdomain_errors(value: str) -> list[str]:
    """RFC 1123 subdomain: at most 253 characters, dot-separated RFC 1123 labels."""
    errors = [_max_len(253)] if _nbytes(value) > 253 else []
    if not _DNS_SUBDOMAIN_RE.fullmatch(value):
        errors.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS_SUBDOMAIN,
                "example.com",
            )
        )
    return errors


_LABEL_KEY_MESSAGE = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)


def qualified_name_errors(value: str) -> list[str]:
    """A label key: an optional DNS-subdomain prefix and '/', then a name part of at
    most 63 characters ``[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?``."""
    parts = value.split("/")
    if len(parts) > 2:
        example = "(e.g. 'example.com/MyName')"
        return [
            "a valid label key "
            + _regex_error(_LABEL_KEY_MESSAGE, _LABEL_KEY_NAME, "MyName", "my.name", "123-abc")
            + f" with an optional DNS subdomain prefix and '/' {example}"
        ]
    errors: list[str] = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        errors.extend(
            "prefix part " + m for m in (dns1123_subdomain_errors(prefix) if prefix else [])
        )
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif _nbytes(name) > 63:
        errors.append("name part " + _max_len(63))
    if not _LABEL_KEY_NAME_RE.fullmatch(name):
        errors.append(
            "name part "
            + _regex_error(_LABEL_KEY_MESSAGE, _LABEL_KEY_NAME, "MyName", "my.name", "123-abc")
        )
    return errors


def label_value_errors(value: str) -> list[str]:
    """A label value: empty, or at most 63 characters shaped like a label key's name part."""
    errors = [_max_len(63)] if _nbytes(value) > 63 else []
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(
            _regex_error(
                "a valid label must be an empty string or " + _LABEL_KEY_MESSAGE,
                _LABEL_VALUE,
                "MyValue",
                "my_value",
                "12345",
            )
        )
    return errors


def iana_svc_name_errors(value: str) -> list[str]:
    """IANA_SVC_NAME (RFC 6335), lowercase only: at most 15 characters of [-a-z0-9], at
    least one letter, no hyphen at either end and no two hyphens in a row."""
    errors = [_max_len(15)] if _nbytes(value) > 15 else []
    if not _PORT_NAME_CHARS_RE.fullmatch(value):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not re.search("[a-z]", value):
        errors.append("must contain at least one letter (a-z)")
    if "--" in value:
        errors.append("must not contain consecutive hyphens")
    if value.startswith("-") or value.endswith("-"):
        errors.append("must not begin or end with a hyphen")
    return errors


def is_dns1123_label(value: str) -> bool:
    return not dns1123_label_errors(value)


def is_dns1035_label(value: str) -> bool:
    return not dns1035_label_errors(value)


def is_dns1123_subdomain(value: str) -> bool:
    return not dns1123_subdomain_errors(value)


def is_qualified_name(value: str) -> bool:
    return not qualified_name_errors(value)


def is_label_value(value: str) -> bool:
    return not label_value_errors(value)


def is_iana_svc_name(value: str) -> bool:
    return not iana_svc_name_errors(value)


# --- labels and selectors (meta/v1 validation) ------------------------------------------

LABEL_SELECTOR = Obj(
    {
        "matchLabels": STRING_MAP,
        "matchExpressions": ListOf(
            Obj({"key": STRING, "operator": STRING, "values": ListOf(STRING)})
        ),
    }
)
_IN_OPERATORS = ("In", "NotIn")
_EXISTS_OPERATORS = ("Exists", "DoesNotExist")


def label_map_errors(value: object, path: str) -> list[FieldError]:
    """ValidateLabels: every key a qualified name, every value a label value; both are
    reported at the map's own path, as the API server does."""
    errors: list[FieldError] = []
    for key, item in string_items(value):
        errors.extend(invalid(path, key, m) for m in _key_problems(key))
        errors.extend(invalid(path, item, m) for m in _value_problems(item))
    return errors


# The same label keys and values recur on thousands of objects: their verdicts are
# remembered (short strings only; anything longer than a label key is invalid anyway).
_CACHED_LENGTH = 253


@functools.lru_cache(maxsize=1 << 14)
def _cached_key_problems(key: str) -> tuple[str, ...]:
    return tuple(qualified_name_errors(key))


@functools.lru_cache(maxsize=1 << 14)
def _cached_value_problems(value: str) -> tuple[str, ...]:
    return tuple(label_value_errors(value))


def _key_problems(key: str) -> Sequence[str]:
    return _cached_key_problems(key) if len(key) <= _CACHED_LENGTH else qualified_name_errors(key)


def _value_problems(value: str) -> Sequence[str]:
    if len(value) <= _CACHED_LENGTH:
        return _cached_value_problems(value)
    return label_value_errors(value)


def validate_label_map(value: object, field_path: str) -> list[FieldError]:
    """Types and contents of a ``map[string]string`` of labels at ``field_path``."""
    return check_shape(value, STRING_MAP, field_path) + label_map_errors(value, field_path)


def selector_errors(value: object, path: str) -> list[FieldError]:
    """ValidateLabelSelector on a shape-checked selector."""
    selector = as_map(value)
    errors = label_map_errors(selector.get("matchLabels"), child(path, "matchLabels"))
    expressions = child(path, "matchExpressions")
    for i, item in objects_at(selector, "matchExpressions"):
        errors.extend(requirement_errors(item, index(expressions, i)))
    return errors


def validate_label_selector(value: object, field_path: str) -> list[FieldError]:
    """Types and contents of a meta/v1 LabelSelector at ``field_path``."""
    return check_shape(value, LABEL_SELECTOR, field_path) + selector_errors(value, field_path)


def requirement_errors(requirement: Mapping[str, Any], path: str) -> list[FieldError]:
    """ValidateLabelSelectorRequirement: the key is a qualified name, and every value
    a label value."""
    errors = _operator_errors(requirement, path)
    key = str_at(requirement, "key", "")
    if key is not None:
        errors.extend(invalid(child(path, "key"), key, m) for m in qualified_name_errors(key))
    for i, item in enumerate(list_at(requirement, "values") or []):
        text = "" if item is None else item
        if isinstance(text, str):
            where = index(child(path, "values"), i)
            errors.extend(invalid(where, text, m) for m in label_value_errors(text))
    return errors


def _operator_errors(requirement: Mapping[str, Any], path: str) -> list[FieldError]:
    """API reference (values): "If the operator is In or NotIn, the values array must
    be non-empty. If the operator is Exists or DoesNotExist, the values array must be
    empty." Any other operator is invalid."""
    operator = str_at(requirement, "operator", "")
    values = list_at(requirement, "values")
    if operator is None or values is None:
        return []
    if operator in _IN_OPERATORS:
        if values:
            return []
        detail = "must be specified when `operator` is 'In' or 'NotIn'"
        return [required(child(path, "values"), detail)]
    if operator in _EXISTS_OPERATORS:
        if not values:
            return []
        detail = "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
        return [forbidden(child(path, "values"), detail)]
    detail = "not a valid selector operator (In, NotIn, Exists or DoesNotExist)"
    return [invalid(child(path, "operator"), operator, detail)]


# --- object metadata --------------------------------------------------------------------

OBJECT_META = Obj(
    {
        "name": STRING,
        "generateName": STRING,
        "namespace": STRING,
        "selfLink": STRING,
        "uid": STRING,
        "resourceVersion": STRING,
        "generation": INTEGER,
        "creationTimestamp": ANYTHING,
        "deletionTimestamp": ANYTHING,
        "deletionGracePeriodSeconds": INTEGER,
        "labels": STRING_MAP,
        "annotations": STRING_MAP,
        "ownerReferences": ListOf(ANYTHING),
        "finalizers": ListOf(STRING),
        "managedFields": ListOf(ANYTHING),
    },
    hints={"label": 'did you mean "labels"?', "annotation": 'did you mean "annotations"?'},
)
_ANNOTATIONS_LIMIT = 256 * 1024


NameCheck = Callable[[str], list[str]]


def object_meta_errors(
    value: object,
    path: str,
    name_check: NameCheck = dns1123_subdomain_errors,
    namespaced: bool = True,
) -> list[FieldError]:
    """ValidateObjectMeta on shape-checked metadata; ``name_check`` is the kind's rule
    for names (a DNS-1123 subdomain for most kinds). The API server clears the
    namespace of a cluster-scoped object (``namespaced=False``) instead of
    validating it."""
    meta = as_map(value)
    errors = _name_errors(meta, path, name_check)
    namespace = str_at(meta, "namespace", "")
    if namespace and namespaced:  # empty: the namespace of the request (``-n``) applies
        where = child(path, "namespace")
        errors.extend(invalid(where, namespace, m) for m in dns1123_label_errors(namespace))
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        detail = "must be greater than or equal to 0"
        errors.append(invalid(child(path, "generation"), generation, detail))
    errors.extend(label_map_errors(meta.get("labels"), child(path, "labels")))
    errors.extend(_annotation_errors(meta.get("annotations"), child(path, "annotations")))
    return errors


def validate_object_meta(value: object, field_path: str = "metadata") -> list[FieldError]:
    """Types and contents of the ``metadata`` of a namespaced object."""
    return check_shape(value, OBJECT_META, field_path) + object_meta_errors(value, field_path)


def _name_errors(meta: Mapping[str, Any], path: str, name_check: NameCheck) -> list[FieldError]:
    """ValidateObjectMeta: "name or generateName is required"; a name follows the
    kind's rule.

    generateName alone satisfies ``kubectl create`` but not ``kubectl apply``, and a
    policy needs a name to be explained by, so netfence requires the name.
    """
    name = str_at(meta, "name", "")
    if name is None:
        return []
    where = child(path, "name")
    if not name:
        if str_at(meta, "generateName", ""):
            return [required(where, "name is required (generateName is not supported)")]
        return [required(where, "name or generateName is required")]
    return [invalid(where, name, m) for m in name_check(name)]


def _annotation_errors(value: object, path: str) -> list[FieldError]:
    """ValidateAnnotations: keys are qualified names, ignoring case; keys and values
    together are at most 256 KiB."""
    pairs = string_items(value)
    errors = [invalid(path, k, m) for k, _ in pairs for m in _key_problems(k.lower())]
    if sum(_nbytes(k) + _nbytes(v) for k, v in pairs) > _ANNOTATIONS_LIMIT:
        errors.append(
            FieldError(path, f"Too long: may not be more than {_ANNOTATIONS_LIMIT} bytes")
        )
    return errors
