"""The vectorized whole-cluster analysis equals the per-pair engine, on hundreds
of generated small clusters: every ordered pod pair, every port class."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.analysis.tier_strategies import replicated_cluster, with_tiers

from netfence.analysis.scale.classes import ANALYSIS_IP_VERSION
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.compile import compile_policies
from netfence.engine.evaluate import evaluate
from netfence.model.cluster import Cluster
from netfence.model.diagnostics import Source
from netfence.model.traffic import Connection, Endpoint
from netfence.parse import RawDocument, build_cluster

NAMESPACES = ["a", "b", "c"]
KEYS = ["app", "tier"]
VALUES = ["x", "y", "z"]
PORT_NAMES = ["web", "db"]
PROTOCOLS = ["TCP", "UDP", "SCTP"]

labels = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=2)
requirement = st.one_of(
    st.builds(
        lambda k, v: {"key": k, "operator": "In", "values": v},
        st.sampled_from(KEYS),
        st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True),
    ),
    st.builds(
        lambda k, v: {"key": k, "operator": "NotIn", "values": v},
        st.sampled_from(KEYS),
        st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True),
    ),
    st.builds(lambda k: {"key": k, "operator": "Exists"}, st.sampled_from(KEYS)),
    st.builds(lambda k: {"key": k, "operator": "DoesNotExist"}, st.sampled_from(KEYS)),
)
selector = st.builds(
    lambda ml, me: {
        **({"matchLabels": ml} if ml is not None else {}),
        **({"matchExpressions": me} if me else {}),
    },
    st.one_of(st.none(), labels),
    st.lists(requirement, max_size=1),
)
ns_selector = st.one_of(
    selector,
    st.builds(
        lambda n: {"matchLabels": {"kubernetes.io/metadata.name": n}}, st.sampled_from(NAMESPACES)
    ),
)
ip_block = st.sampled_from(
    [
        {"cidr": "10.9.0.0/16"},
        {"cidr": "10.9.0.0/16", "except": ["10.9.1.0/24"]},
        {"cidr": "0.0.0.0/0", "except": ["10.9.0.0/24"]},
        {"cidr": "10.9.1.2/32"},
    ]
)
peer = st.one_of(
    st.builds(lambda p: {"podSelector": p}, selector),
    st.builds(lambda n: {"namespaceSelector": n}, ns_selector),
    st.builds(lambda p, n: {"podSelector": p, "namespaceSelector": n}, selector, ns_selector),
    st.builds(lambda b: {"ipBlock": b}, ip_block),
    # A null is no field (a nil pointer), never the empty selector.
    st.builds(lambda p: {"podSelector": p, "namespaceSelector": None}, selector),
    st.builds(lambda n: {"namespaceSelector": n, "podSelector": None}, ns_selector),
    st.builds(lambda n: {"namespaceSelector": n, "ipBlock": None}, ns_selector),
)
port = st.one_of(
    st.builds(
        lambda p, n: {"protocol": p, "port": n},
        st.sampled_from(PROTOCOLS),
        st.sampled_from([80, 81, 5432]),
    ),
    st.builds(
        lambda p, n: {"protocol": p, "port": n},
        st.sampled_from(PROTOCOLS),
        st.sampled_from(PORT_NAMES),
    ),
    st.builds(lambda n: {"port": 80, "endPort": n}, st.sampled_from([80, 81, 6000])),
    st.builds(lambda p: {"protocol": p}, st.sampled_from(PROTOCOLS)),
    st.just({"protocol": None, "port": 80, "endPort": None}),
)
rule = st.builds(
    lambda peers, ports: {
        **({"peers": peers} if peers is not None else {}),
        **({"ports": ports} if ports is not None else {}),
    },
    st.one_of(st.none(), st.lists(peer, max_size=2)),
    st.one_of(st.none(), st.lists(port, max_size=2)),
)


# An EKS ApplicationNetworkPolicy's egress peer that holds only names: it matches no
# address (every consumer must read it so, never as an absent selector).
name_peer = st.sampled_from([{"domainNames": ["api.example.com"]}, {"domainNames": ["*.x.io"]}])
application_rule = st.builds(
    lambda peers, ports: {"peers": peers, **({"ports": ports} if ports is not None else {})},
    st.lists(st.one_of(name_peer, peer), min_size=1, max_size=2),
    st.one_of(st.none(), st.lists(port, max_size=2)),
)


@st.composite
def policy(draw: st.DrawFn, index: int) -> dict[str, Any]:
    """A NetworkPolicy, or one time in four an EKS ApplicationNetworkPolicy (the same
    tier) whose egress rules may have ``domainNames`` peers."""
    application = draw(st.integers(0, 3)) == 0
    spec: dict[str, Any] = {"podSelector": draw(selector)}
    types = draw(st.sampled_from([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]]))
    if types is not None:
        spec["policyTypes"] = types
    for direction, field in (("ingress", "from"), ("egress", "to")):
        drawn = application_rule if application and direction == "egress" else rule
        rules = draw(st.one_of(st.none(), st.lists(drawn, max_size=2)))
        if rules is not None:
            spec[direction] = [
                {
                    **({field: r["peers"]} if "peers" in r else {}),
                    **({"ports": r["ports"]} if "ports" in r else {}),
                }
                for r in rules
            ]
    kind = (
        ("networking.k8s.aws/v1alpha1", "ApplicationNetworkPolicy")
        if application
        else (
            "networking.k8s.io/v1",
            "NetworkPolicy",
        )
    )
    return {
        "apiVersion": kind[0],
        "kind": kind[1],
        "metadata": {"name": f"p{index}", "namespace": draw(st.sampled_from(NAMESPACES))},
        "spec": spec,
    }


@st.composite
def pod(draw: st.DrawFn, index: int) -> dict[str, Any]:
    ports = []
    for name, number in (("web", 80), ("db", 5432)):
        if draw(st.booleans()):
            ports.append(
                {
                    "name": name,
                    "containerPort": draw(st.sampled_from([number, 81])),
                    "protocol": draw(st.sampled_from(PROTOCOLS)),
                }
            )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"pod{index}",
            "namespace": draw(st.sampled_from(NAMESPACES)),
            "labels": draw(labels),
        },
        "spec": {
            "hostNetwork": draw(st.sampled_from([False, False, False, True])),
            "nodeName": draw(st.sampled_from(NODES)),
            "containers": [{"name": "c", "ports": ports}],
        },
        "status": {"podIP": f"10.9.{index % 3}.{index + 2}"},
    }


NODES = ["n1", "n2"]


def node_documents(pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The nodes the pods run on, each with the addresses of its hostNetwork pods (a
    hostNetwork pod has its node's address) and one outside the pods: NetworkPolicy's
    local-node rule lets these addresses into the node's isolated pods."""
    nodes = []
    for n, name in enumerate(NODES):
        host = [p["status"]["podIP"] for p in pods if p["spec"]["hostNetwork"]
                and p["spec"]["nodeName"] == name]  # fmt: skip
        addresses = [{"type": "InternalIP", "address": ip} for ip in [*host, f"10.8.0.{n + 1}"]]
        nodes.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                      "status": {"addresses": addresses}})  # fmt: skip
    return nodes


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": draw(labels)}}
        for n in NAMESPACES
    ]
    pods = [draw(pod(i)) for i in range(draw(st.integers(2, 7)))]
    policies = [draw(policy(i)) for i in range(draw(st.integers(0, 5)))]
    docs = [
        RawDocument(Source("gen", i + 1), obj)
        for i, obj in enumerate([*namespaces, *node_documents(pods), *pods, *policies])
    ]
    built = build_cluster(docs)
    assert not built.errors, [d.format() for d in built.errors]
    return built.cluster


def scalar_allowed(
    cluster: Cluster, compiled: Any, src: Any, dst: Any, port: int, protocol: Any
) -> bool:
    conn = Connection(
        Endpoint(src.ip_of_version(ANALYSIS_IP_VERSION), src),
        Endpoint(dst.ip_of_version(ANALYSIS_IP_VERSION), dst),
        port,
        protocol,
    )
    return evaluate(compiled, cluster, conn).allowed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters())
def test_vectorized_analysis_equals_the_engine_for_every_pair_and_port_class(
    cluster: Cluster,
) -> None:
    assert_equals_engine(cluster)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters().flatmap(with_tiers))
def test_with_cluster_wide_tiers_the_analysis_equals_the_engine(cluster: Cluster) -> None:
    """Admin and Baseline policies (priorities that tie, Pass, networks, nodes,
    named ports) around the generated NetworkPolicies."""
    assert_equals_engine(cluster)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replicated_cluster())
def test_tiers_that_read_addresses_split_replicas_as_the_engine_does(cluster: Cluster) -> None:
    """Replicas that only ``networks`` or a ``nodes`` peer tell apart."""
    assert_equals_engine(cluster)


def assert_equals_engine(cluster: Cluster) -> None:
    """Every ordered pod pair on every port class (two ports of each), and the
    summary's count per port class, against the engine."""
    compiled = compile_policies(cluster.policies, cluster.cluster_policies)
    analysis = ClusterAnalysis(cluster, compiled)
    class_of = {pod.key: c for c, members in enumerate(analysis.table.members) for pod in members}
    for q, port_class in enumerate(analysis.ports.classes):
        matrix = analysis.class_matrix(q)
        samples = {port_class.representative, port_class.ranges[-1][1]}
        expected_pairs = 0
        for src in cluster.pods:
            for dst in cluster.pods:
                if src is dst:
                    continue
                verdicts = {
                    scalar_allowed(cluster, compiled, src, dst, p, port_class.protocol)
                    for p in samples
                }
                assert len(verdicts) == 1, f"port class {port_class.format()} is not uniform"
                allowed = verdicts.pop()
                assert matrix[class_of[src.key], class_of[dst.key]] == allowed, (
                    f"{src.key} -> {dst.key} on {port_class.format()}: engine {allowed}"
                )
                expected_pairs += allowed
        assert analysis.allowed_pairs(q) == expected_pairs, port_class.format()


def test_ingress_named_port_resolves_per_destination_class() -> None:
    """Two pods selected by one policy whose named port 'web' is 80 on one and 81
    on the other: each is reachable on its own number only."""

    def web_pod(name: str, number: int, ip: str) -> dict[str, Any]:
        return {
            "kind": "Pod",
            "metadata": {"name": name, "namespace": "a", "labels": {"app": "x"}},
            "spec": {
                "containers": [{"name": "c", "ports": [{"name": "web", "containerPort": number}]}]
            },
            "status": {"podIP": ip},
        }

    client = {
        "kind": "Pod",
        "metadata": {"name": "client", "namespace": "a"},
        "status": {"podIP": "10.9.0.9"},
    }
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "web", "namespace": "a"},
        "spec": {
            "podSelector": {"matchLabels": {"app": "x"}},
            "ingress": [{"ports": [{"port": "web"}]}],
        },
    }
    objects = [web_pod("on80", 80, "10.9.0.1"), web_pod("on81", 81, "10.9.0.2"), client, policy]
    cluster = build_cluster([RawDocument(Source("t", i), o) for i, o in enumerate(objects)]).cluster
    analysis = ClusterAnalysis(cluster, compile_policies(cluster.policies))
    by_port = {
        pc.representative: q for q, pc in enumerate(analysis.ports.classes) if pc.named_number
    }
    class_of = {p.name: c for c, members in enumerate(analysis.table.members) for p in members}
    on80 = analysis.class_matrix(by_port[80])
    on81 = analysis.class_matrix(by_port[81])
    assert (
        on80[class_of["client"], class_of["on80"]]
        and not on80[class_of["client"], class_of["on81"]]
    )
    assert (
        on81[class_of["client"], class_of["on81"]]
        and not on81[class_of["client"], class_of["on80"]]
    )
