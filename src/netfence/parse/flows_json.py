"""JSON-lines flow formats: netfence's own audit records and Hubble's flows.

netfence's record (docs/flows.md) names ``kind: netfence.flow``. Hubble's
``hubble observe -o json`` prints one ``GetFlowsResponse`` a line, the flow under
``flow`` (a bare flow object is read too); its fields are the flow proto's names
(``IP``, ``l4``, ``source_port``, ``is_reply``, ``traffic_direction``…), and the
lowerCamelCase names of proto3 JSON are accepted as well (``sourcePort``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from netfence.model.flows import (
    Attribution,
    Flow,
    FlowEnd,
    FlowFormat,
    FlowOrigin,
    LoggedVerdict,
    NamedPod,
)
from netfence.model.ports import Protocol
from netfence.parse.flows_common import (
    OTHER_PROTOCOL,
    LineError,
    Skip,
    address,
    port,
    protocol_name,
)

NETFENCE_KIND = "netfence.flow"
NETFENCE_VERSION = 1
GAP_KIND = "netfence.gap"  # the agent's audit mode: events its rate limit left out


def load_object(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except RecursionError:
        raise LineError(None, "JSON nested too deep") from None
    except ValueError as exc:
        raise LineError(None, f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise LineError(None, f"expected a JSON object, got {type(value).__name__}")
    return value


# --- netfence's own records ----------------------------------------------------------

_VERDICTS = {"allowed": LoggedVerdict.ALLOWED, "denied": LoggedVerdict.DENIED}


def parse_netfence_line(line: str, origin: FlowOrigin) -> Flow | Skip:
    record = load_object(line)
    if record.get("kind") == GAP_KIND:
        return Skip("record gaps (would-be denies the agent's rate limit left out)")
    if record.get("kind") != NETFENCE_KIND:
        raise LineError("kind", f"expected {NETFENCE_KIND!r}, got {record.get('kind')!r}")
    if record.get("version") != NETFENCE_VERSION:
        raise LineError("version", f"unsupported version {record.get('version')!r} (reads 1)")
    protocol = protocol_name(record.get("protocol"), "protocol")
    if protocol is None:
        raise LineError("protocol", f"expected TCP, UDP or SCTP, got {record.get('protocol')!r}")
    return Flow(
        _netfence_end(record.get("src"), "src"),
        _netfence_end(record.get("dst"), "dst"),
        protocol,
        origin,
        time=_optional_text(record, "time"),
        verdict=_netfence_verdict(record),
        reply=_optional_bool(record, "reply"),
        attribution=_netfence_attribution(record.get("decided_by")),
        format=FlowFormat.NETFENCE,
    )


def _netfence_end(value: object, field: str) -> FlowEnd:
    if not isinstance(value, dict):
        raise LineError(field, "expected an object with ip and port")
    pod = value.get("pod")
    named = None
    if pod is not None:
        if (
            not isinstance(pod, str)
            or pod.count("/") != 1
            or pod.startswith("/")
            or pod.endswith("/")
        ):
            raise LineError(f"{field}.pod", f"expected NAMESPACE/NAME, got {pod!r}")
        namespace, name = pod.split("/")
        named = NamedPod(namespace, name)
    return FlowEnd(
        address(value.get("ip"), f"{field}.ip"), port(value.get("port"), f"{field}.port"), named
    )


def _netfence_verdict(record: Mapping[str, Any]) -> LoggedVerdict:
    verdict = record.get("verdict")
    if verdict is None:
        return LoggedVerdict.UNKNOWN
    if verdict not in _VERDICTS:
        raise LineError("verdict", f"expected allowed or denied, got {verdict!r}")
    mode = record.get("mode", "enforce")
    if mode not in ("enforce", "audit"):
        raise LineError("mode", f"expected enforce or audit, got {mode!r}")
    if mode == "audit" and verdict == "denied":
        return LoggedVerdict.WOULD_DENY
    return _VERDICTS[verdict]


def _netfence_attribution(value: object) -> Attribution | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise LineError("decided_by", "expected an object")
    policies = value.get("policies", [])
    if not isinstance(policies, list) or not all(isinstance(p, str) for p in policies):
        raise LineError("decided_by.policies", "expected a list of policy names")
    tier, rule = value.get("tier"), value.get("rule")
    if tier is not None and not isinstance(tier, str):
        raise LineError("decided_by.tier", f"expected a tier name, got {tier!r}")
    if rule is not None and not isinstance(rule, str):
        raise LineError("decided_by.rule", f"expected a rule, got {rule!r}")
    return Attribution(tier, tuple(policies), rule)


def _optional_text(record: Mapping[str, Any], field: str) -> str | None:
    value = record.get(field)
    if value is not None and not isinstance(value, str):
        raise LineError(field, f"expected text, got {value!r}")
    return value


def _optional_bool(record: Mapping[str, Any], field: str) -> bool | None:
    value = record.get(field)
    if value is not None and not isinstance(value, bool):
        raise LineError(field, f"expected true or false, got {value!r}")
    return value


# --- Hubble ----------------------------------------------------------------------------

_HUBBLE_VERDICTS = {
    "FORWARDED": LoggedVerdict.ALLOWED,
    "DROPPED": LoggedVerdict.DENIED,
    "AUDIT": LoggedVerdict.WOULD_DENY,  # "the flow would have been dropped": let through
}
_L4 = {"TCP": Protocol.TCP, "UDP": Protocol.UDP, "SCTP": Protocol.SCTP}


def looks_like_hubble(line: str) -> bool:
    return ('"flow"' in line or '"verdict"' in line) and '"IP"' in line


def parse_hubble_line(line: str, origin: FlowOrigin) -> Flow | Skip:
    record = load_object(line)
    flow = record.get("flow", record)
    prefix = "flow." if "flow" in record else ""
    if not isinstance(flow, dict):
        raise LineError("flow", "expected an object")
    ip = flow.get("IP")
    if ip is None:
        return Skip("Hubble records without IP (agent or debug events, L2 flows)")
    if not isinstance(ip, dict):
        raise LineError(f"{prefix}IP", "expected an object")
    l4 = flow.get("l4")
    if not isinstance(l4, dict):
        raise LineError(f"{prefix}l4", "expected an object")
    layer = next((name for name in _L4 if name in l4), None)
    if layer is None:
        return Skip(OTHER_PROTOCOL)
    ports = l4[layer]
    where = f"{prefix}l4.{layer}"
    if not isinstance(ports, dict):
        raise LineError(where, "expected an object")
    src_port = port(_either(ports, "source_port", "sourcePort", 0), f"{where}.source_port")
    dst_port = port(
        _either(ports, "destination_port", "destinationPort", 0), f"{where}.destination_port"
    )
    src = FlowEnd(address(ip.get("source"), f"{prefix}IP.source"), src_port,
                  _hubble_pod(flow.get("source"), f"{prefix}source"))  # fmt: skip
    dst = FlowEnd(address(ip.get("destination"), f"{prefix}IP.destination"), dst_port,
                  _hubble_pod(flow.get("destination"), f"{prefix}destination"))  # fmt: skip
    return Flow(
        src,
        dst,
        _L4[layer],
        origin,
        time=_hubble_time(flow.get("time", record.get("time"))),
        verdict=_HUBBLE_VERDICTS.get(str(flow.get("verdict", "")), LoggedVerdict.UNKNOWN),
        reply=_hubble_reply(flow, prefix),
        attribution=_hubble_attribution(flow, prefix),
        format=FlowFormat.HUBBLE,
    )


def _either(mapping: Mapping[str, Any], name: str, camel: str, default: object = None) -> Any:
    return mapping.get(name, mapping.get(camel, default))


def _hubble_pod(endpoint: object, field: str) -> NamedPod | None:
    if endpoint is None:
        return None
    if not isinstance(endpoint, dict):
        raise LineError(field, "expected an object")
    namespace, name = endpoint.get("namespace"), _either(endpoint, "pod_name", "podName")
    if not namespace or not name:
        return None  # "world", a node, a remote node: no pod named
    if not isinstance(namespace, str) or not isinstance(name, str):
        raise LineError(field, "namespace and pod_name must be text")
    return NamedPod(namespace, name)


def _hubble_reply(flow: Mapping[str, Any], prefix: str) -> bool | None:
    value = _either(flow, "is_reply", "isReply", flow.get("reply"))
    if value is None:
        return None
    if not isinstance(value, bool):
        raise LineError(f"{prefix}is_reply", f"expected true or false, got {value!r}")
    return value


def _hubble_time(value: object) -> str | None:
    return value if isinstance(value, str) else None


_POLICY_FIELDS = (
    "egress_denied_by",
    "ingress_denied_by",
    "egress_allowed_by",
    "ingress_allowed_by",
)


def _hubble_attribution(flow: Mapping[str, Any], prefix: str) -> Attribution | None:
    """Cilium's ``*_allowed_by`` / ``*_denied_by`` (the policies it names)."""
    named: list[str] = []
    for field in _POLICY_FIELDS:
        camel = "".join(w.capitalize() if i else w for i, w in enumerate(field.split("_")))
        policies = _either(flow, field, camel, [])
        if not isinstance(policies, list):
            raise LineError(f"{prefix}{field}", "expected a list")
        for i, policy in enumerate(policies):
            if not isinstance(policy, dict) or not isinstance(policy.get("name"), str):
                raise LineError(f"{prefix}{field}[{i}]", "expected a policy with a name")
            kind, ns = policy.get("kind"), policy.get("namespace")
            name = f"{ns}/{policy['name']}" if isinstance(ns, str) and ns else policy["name"]
            named.append(name if kind in (None, "", "NetworkPolicy") else f"{kind}:{name}")
    return Attribution(None, tuple(named)) if named else None
