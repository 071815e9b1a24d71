"""The schemas of the cluster-wide policy CRDs, transcribed as ``tier_schema`` nodes.

Sources (facts of the APIs, written here in netfence's own notation):

- AdminNetworkPolicy, BaselineAdminNetworkPolicy: policy.networking.k8s.io/v1alpha1,
  network-policy-api v0.1.8, the *experimental* channel CRDs (a superset of the
  standard ones: they add the ``networks``/``nodes`` egress peers to BANP and the
  ``domainNames`` egress peer to ANP).
- ClusterNetworkPolicy policy.networking.k8s.io/v1alpha2: v0.2.0's experimental CRD
  (NPEP-187 ``protocols``), and the same version's CRD as it was before NPEP-187
  (commit 3a7295a "Changes to implement option #3 for the port matching" replaced
  ``ports``: ``portNumber``/``portRange``/``namedPort`` and pods peers that require
  both selectors). ``PRE_NPEP187_CNP`` is the CRD of 3a7295a's parent.
- Amazon EKS ClusterNetworkPolicy and ApplicationNetworkPolicy,
  networking.k8s.aws/v1alpha1: aws/amazon-network-policy-controller-k8s
  ``config/crd/bases``.

CEL rules are predicates over the decoded value (nulls removed from objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netfence.parse.tier_schema import (
    SELECTOR,
    Arr,
    Cel,
    Int,
    IntOrStr,
    Node,
    Opaque,
    Str,
    Struct,
)
from netfence.parse.validation import parse_cidr

DOMAIN_PATTERN = (
    r"^(\*\.)?([a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+"
    r"[a-zA-z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$"
)
PORT = Int(1, 65535)


def _items(value: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = value.get(key) or []
    return [i for i in items if isinstance(i, Mapping)]


def _any_has(items: list[Mapping[str, Any]], keys: tuple[str, ...]) -> bool:
    return any(item.get(k) is not None for item in items for k in keys)


def is_cidr(text: str) -> bool:
    """Kubernetes CEL ``isCIDR``: an IPv4 or IPv6 prefix (host bits may be set), no
    leading zeros, no zone, no IPv4-mapped IPv6 address."""
    return parse_cidr(text)[0] is not None


IS_CIDR = Cel(is_cidr, "Invalid CIDR format provided", "isCIDR(self)")
START_BEFORE_END = Cel(
    lambda r: r["start"] < r["end"],
    "Start port must be less than End port",
    "self.start < self.end",
)
BANP_NAME = Cel(
    lambda o: o["metadata"]["name"] == "default",
    'Only one baseline admin network policy with metadata.name="default" can be created in the '
    "cluster",
    "self.metadata.name == 'default'",
)


def _no_named_port(peers: tuple[str, ...], ports_key: str, named_key: str, message: str) -> Cel:
    def holds(rule: Mapping[str, Any]) -> bool:
        addressed = _any_has(_items(rule, "to"), peers)
        return not (addressed and _any_has(_items(rule, ports_key), (named_key,)))

    rule = (
        f"!(self.to.exists(peer, {' || '.join(f'has(peer.{p})' for p in peers)}) && "
        f"has(self.{ports_key}) && self.{ports_key}.exists(port, has(port.{named_key})))"
    )
    return Cel(holds, message, rule)


_NAMED_PORT_MESSAGE = "{0} peer cannot be set with namedPorts since there are no namedPorts for {0}"
NAMED_PORT_WITH_ADDRESSES = _no_named_port(
    ("networks", "nodes", "domainNames"),
    "ports",
    "namedPort",
    _NAMED_PORT_MESSAGE.format("networks/nodes/domainNames"),
)
NAMED_PORT_WITH_ADDRESSES_BANP = _no_named_port(
    ("networks", "nodes"), "ports", "namedPort", _NAMED_PORT_MESSAGE.format("networks/nodes")
)
NAMED_PORT_WITH_ADDRESSES_V1A2 = _no_named_port(
    ("networks", "nodes", "domainNames"),
    "protocols",
    "destinationNamedPort",
    _NAMED_PORT_MESSAGE.format("networks/nodes/domainNames"),
)
DOMAIN_NAMES_ACCEPT_ONLY = Cel(
    lambda r: not (r.get("action") != "Accept" and _any_has(_items(r, "to"), ("domainNames",))),
    "domainNames peer can only be used with Accept action",
    "!(self.action != 'Accept' && self.to.exists(peer, has(peer.domainNames)))",
)


def _exclusive(first: str) -> Cel:
    return Cel(
        lambda p: not (p.get(first) is not None and p.get("domainNames") is not None),
        f"{first} and domainNames are mutually exclusive",
        f"!(has(self.{first}) && has(self.domainNames))",
    )


# --- building blocks --------------------------------------------------------------------


def pods_peer(namespace_selector_required: bool) -> Struct:
    required = ("namespaceSelector", "podSelector") if namespace_selector_required else ()
    return Struct(
        {"namespaceSelector": SELECTOR, "podSelector": SELECTOR},
        required=required or ("podSelector",),
    )


def exactly_one(properties: Mapping[str, Node], rules: tuple[Cel, ...] = ()) -> Struct:
    return Struct(properties, min_properties=1, max_properties=1, rules=rules)


def networks(cidr_rule: bool) -> Arr:
    item = Str(max_length=43, rules=(IS_CIDR,) if cidr_rule else ())
    return Arr(item, min_items=1, max_items=25, is_set=True)


DOMAIN_NAMES = Arr(Str(pattern=DOMAIN_PATTERN), min_items=1, max_items=25, is_set=True)


def v1alpha1_port(range_rule: bool, one_of: bool) -> Struct:
    """``portNumber``/``portRange``/``namedPort``. ``protocol`` is defaulted to TCP
    before validation, so its ``required`` never fails."""
    number = Struct({"port": PORT, "protocol": Str()}, required=("port",))
    port_range = Struct(
        {"start": PORT, "end": PORT, "protocol": Str()},
        required=("end", "start"),
        rules=(START_BEFORE_END,) if range_rule else (),
    )
    fields: dict[str, Node] = {"namedPort": Str(), "portNumber": number, "portRange": port_range}
    return exactly_one(fields) if one_of else Struct(fields)


def _v1alpha2_protocol() -> Struct:
    port_range = Struct(
        {"start": PORT, "end": PORT}, required=("end", "start"), rules=(START_BEFORE_END,)
    )
    destination = exactly_one({"number": PORT, "range": port_range})
    attributes = Struct({"destinationPort": destination}, min_properties=1)
    return exactly_one(
        {"tcp": attributes, "udp": attributes, "sctp": attributes, "destinationNamedPort": Str()}
    )


def rule(
    peers_key: str,
    peer: Struct,
    ports_key: str,
    port: Struct,
    actions: tuple[str, ...],
    limit: int,
    rules: tuple[Cel, ...] = (),
) -> Struct:
    hints = {"ports": "ports is the schema of v1alpha1 and of CNP before v0.2.0"}
    if ports_key == "ports":
        hints = {"protocols": "protocols is the NPEP-187 schema of CNP v0.2.0"}
    return Struct(
        {
            "name": Str(max_length=100),
            "action": Str(enum=actions),
            peers_key: Arr(peer, min_items=1, max_items=limit),
            ports_key: Arr(port, min_items=1, max_items=limit),
        },
        required=("action", peers_key),
        rules=rules,
        hints=hints,
    )


def root(spec: Struct, required: tuple[str, ...], rules: tuple[Cel, ...] = ()) -> Struct:
    return Struct(
        {
            "apiVersion": Str(),
            "kind": Str(),
            "metadata": Opaque(),
            "spec": spec,
            "status": Opaque(),
        },
        required=required,
        rules=rules,
    )


def tier_spec(
    ingress: Struct, egress: Struct, subject: Struct, limit: int, extra: Mapping[str, Node]
) -> Struct:
    required = tuple(k for k in ("priority", "subject", "tier") if k in extra or k == "subject")
    return Struct(
        {
            "subject": subject,
            "ingress": Arr(ingress, max_items=limit),
            "egress": Arr(egress, max_items=limit),
            **extra,
        },
        required=required,
    )


# --- the kinds --------------------------------------------------------------------------

_V1A1_PODS = pods_peer(True)
_V1A1_SUBJECT = exactly_one({"namespaces": SELECTOR, "pods": _V1A1_PODS})
_V1A1_INGRESS_PEER = exactly_one({"namespaces": SELECTOR, "pods": _V1A1_PODS})
_V1A1_PORT = v1alpha1_port(range_rule=False, one_of=True)
_PRIORITY: dict[str, Node] = {"priority": Int(0, 1000)}

ADMIN_NETWORK_POLICY = root(
    tier_spec(
        rule("from", _V1A1_INGRESS_PEER, "ports", _V1A1_PORT, ("Allow", "Deny", "Pass"), 100),
        rule(
            "to",
            exactly_one(
                {
                    "namespaces": SELECTOR,
                    "pods": _V1A1_PODS,
                    "nodes": SELECTOR,
                    "networks": networks(True),
                    "domainNames": DOMAIN_NAMES,
                }
            ),
            "ports",
            _V1A1_PORT,
            ("Allow", "Deny", "Pass"),
            100,
            (NAMED_PORT_WITH_ADDRESSES,),
        ),
        _V1A1_SUBJECT,
        100,
        _PRIORITY,
    ),
    ("metadata", "spec"),
)

BASELINE_ADMIN_NETWORK_POLICY = root(
    tier_spec(
        rule("from", _V1A1_INGRESS_PEER, "ports", _V1A1_PORT, ("Allow", "Deny"), 100),
        rule(
            "to",
            exactly_one(
                {
                    "namespaces": SELECTOR,
                    "pods": _V1A1_PODS,
                    "nodes": SELECTOR,
                    "networks": networks(True),
                }
            ),
            "ports",
            _V1A1_PORT,
            ("Allow", "Deny"),
            100,
            (NAMED_PORT_WITH_ADDRESSES_BANP,),
        ),
        _V1A1_SUBJECT,
        100,
        {},
    ),
    ("metadata", "spec"),
    (BANP_NAME,),
)

_TIERS: dict[str, Node] = {"priority": Int(0, 1000), "tier": Str(enum=("Admin", "Baseline"))}
_ACTIONS = ("Accept", "Deny", "Pass")


def _cnp(pods: Struct, ports_key: str, port: Struct, named_rule: Cel) -> Struct:
    ingress_peer = exactly_one({"namespaces": SELECTOR, "pods": pods})
    egress_peer = exactly_one(
        {
            "namespaces": SELECTOR,
            "pods": pods,
            "nodes": SELECTOR,
            "networks": networks(True),
            "domainNames": DOMAIN_NAMES,
        }
    )
    return root(
        tier_spec(
            rule("from", ingress_peer, ports_key, port, _ACTIONS, 25),
            rule("to", egress_peer, ports_key, port, _ACTIONS, 25, (named_rule,)),
            exactly_one({"namespaces": SELECTOR, "pods": pods}),
            25,
            _TIERS,
        ),
        ("metadata", "spec"),
    )


CLUSTER_NETWORK_POLICY = _cnp(
    pods_peer(False), "protocols", _v1alpha2_protocol(), NAMED_PORT_WITH_ADDRESSES_V1A2
)
PRE_NPEP187_CLUSTER_NETWORK_POLICY = _cnp(
    pods_peer(True),
    "ports",
    v1alpha1_port(range_rule=True, one_of=True),
    NAMED_PORT_WITH_ADDRESSES,
)

_EKS_PORT = v1alpha1_port(range_rule=True, one_of=False)
_EKS_PODS = pods_peer(True)
EKS_CLUSTER_NETWORK_POLICY = root(
    tier_spec(
        rule(
            "from",
            exactly_one({"namespaces": SELECTOR, "pods": _EKS_PODS}),
            "ports",
            _EKS_PORT,
            _ACTIONS,
            100,
        ),
        rule(
            "to",
            exactly_one(
                {
                    "namespaces": SELECTOR,
                    "pods": _EKS_PODS,
                    "networks": networks(False),
                    "domainNames": DOMAIN_NAMES,
                }
            ),
            "ports",
            _EKS_PORT,
            _ACTIONS,
            100,
            (DOMAIN_NAMES_ACCEPT_ONLY,),
        ),
        exactly_one({"namespaces": SELECTOR, "pods": _EKS_PODS}),
        100,
        _TIERS,
    ),
    (),
)

_IP_BLOCK = Struct({"cidr": Str(), "except": Arr(Str())}, required=("cidr",))
_NP_PORT = Struct({"port": IntOrStr(), "endPort": Int(), "protocol": Str()})
_NP_PEER = {"podSelector": SELECTOR, "namespaceSelector": SELECTOR, "ipBlock": _IP_BLOCK}
_APP_EGRESS_PEER = Struct(
    {**_NP_PEER, "domainNames": Arr(Str(pattern=DOMAIN_PATTERN), min_items=1, is_set=True)},
    rules=(_exclusive("ipBlock"), _exclusive("podSelector"), _exclusive("namespaceSelector")),
)
APPLICATION_NETWORK_POLICY = root(
    Struct(
        {
            "podSelector": SELECTOR,
            "policyTypes": Arr(Str()),
            "ingress": Arr(
                Struct({"from": Arr(Struct(_NP_PEER)), "ports": Arr(_NP_PORT)}),
            ),
            "egress": Arr(
                Struct(
                    {"to": Arr(_APP_EGRESS_PEER), "ports": Arr(_NP_PORT)},
                    hints={"from": 'egress rules list their peers under "to"'},
                ),
            ),
        },
        required=("podSelector",),
    ),
    (),
)
