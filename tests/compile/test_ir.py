"""compile/ir.py against the obvious reading of the API text: every peer kind's
selection selects exactly what the field-by-field rules say, one endpoint at a
time and as index sets over a cluster's pods; address ranges contain exactly the
block minus its excepts."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.compile.test_label_index import labels, selectors

from netfence.compile.addresses import AddressRanges
from netfence.compile.ir import (
    ClusterIndex,
    NamesMatching,
    PeerEnd,
    PodsSelected,
    of_peer,
    of_policy_port,
    of_tier_peer,
    of_tier_port,
    port_matches,
    selects,
)
from netfence.compile.names import domain_matches
from netfence.model.cluster import Cluster, Namespace, Node, Pod
from netfence.model.labels import Labels, LabelSelector
from netfence.model.policy import IPAddress, IPBlock, Peer
from netfence.model.ports import ContainerPort, PolicyPort, Protocol
from netfence.model.tiers import NamedPort, NamespacedPods, PortRange, TierPeer, TierPort

NAMESPACES = ["a", "b", "c"]
ADDRESSES = [f"10.1.{i}.{j}" for i in range(3) for j in (1, 2, 200)] + ["fd00::1", "fd00::2:1"]

optional_selector = st.one_of(st.none(), selectors)
networks = st.sampled_from(
    ["10.1.0.0/16", "10.1.1.0/24", "10.1.2.200/32", "0.0.0.0/0", "fd00::/64", "fd00::2:0/112"]
).map(ipaddress.ip_network)


@st.composite
def ip_blocks(draw: st.DrawFn) -> IPBlock:
    cidr = draw(networks)
    excepts = draw(st.lists(networks, max_size=2))
    return IPBlock(cidr, tuple(e for e in excepts if e.version == cidr.version))


peers = st.one_of(
    st.builds(
        lambda p, n: Peer(pod_selector=p, namespace_selector=n),
        optional_selector,
        optional_selector,
    ),
    st.builds(lambda b: Peer(ip_block=b), ip_blocks()),
    st.builds(
        lambda n: Peer(domain_names=tuple(n)),
        st.lists(st.sampled_from(["x.io", "*.x.io"]), min_size=1),
    ),
)
tier_peers = st.one_of(
    st.builds(lambda s: TierPeer(namespaces=s), selectors),
    st.builds(lambda n, p: TierPeer(pods=NamespacedPods(n, p)), selectors, selectors),
    st.builds(lambda s: TierPeer(nodes=s), selectors),
    st.builds(lambda n: TierPeer(networks=tuple(n)), st.lists(networks, min_size=1, max_size=2)),
    st.builds(
        lambda n: TierPeer(domain_names=tuple(n)),
        st.lists(st.sampled_from(["x.io", "*.x.io"]), min_size=1),
    ),
)


@st.composite
def pods(draw: st.DrawFn, index: int) -> Pod:
    ip = draw(st.sampled_from(ADDRESSES))
    ports = (ContainerPort(80, Protocol.TCP, "web"), ContainerPort(53, Protocol.UDP, "dns"))
    return Pod(
        namespace=draw(st.sampled_from(NAMESPACES)),
        name=f"p{index}",
        labels=draw(labels),
        ips=(ipaddress.ip_address(ip),),
        host_network=draw(st.booleans()),
        ports=ports[: draw(st.integers(0, 2))],
    )


@st.composite
def ends(draw: st.DrawFn) -> PeerEnd:
    ip = draw(st.one_of(st.none(), st.sampled_from(ADDRESSES).map(ipaddress.ip_address)))
    pod = draw(st.one_of(st.none(), pods(0)))
    pod = None if pod is None or pod.host_network else pod
    node = draw(st.one_of(st.none(), st.builds(lambda lab: Node("n", lab), labels)))
    name = draw(st.sampled_from([None, "x.io", "a.x.io", "y.io"]))
    return PeerEnd(ip, pod, draw(labels), node, name)


def peer_selects(peer: Peer, namespace: str, end: PeerEnd) -> bool:
    """The API text field by field: the oracle."""
    if peer.domain_names is not None:
        return end.name is not None and any(domain_matches(p, end.name) for p in peer.domain_names)
    if peer.ip_block is not None:
        return end.ip is not None and peer.ip_block.contains(end.ip)
    if end.pod is None:
        return False
    if peer.namespace_selector is None:
        if end.pod.namespace != namespace:
            return False
    elif not peer.namespace_selector.matches(end.namespace_labels):
        return False
    return peer.pod_selector is None or peer.pod_selector.matches(end.pod.labels)


def tier_peer_selects(peer: TierPeer, end: PeerEnd) -> bool:
    if peer.namespaces is not None:
        return end.pod is not None and peer.namespaces.matches(end.namespace_labels)
    if peer.pods is not None:
        return (
            end.pod is not None
            and peer.pods.namespace_selector.matches(end.namespace_labels)
            and peer.pods.pod_selector.matches(end.pod.labels)
        )
    if peer.nodes is not None:
        return end.node is not None and peer.nodes.matches(end.node.labels)
    if peer.networks is not None:
        return end.ip is not None and any(
            end.ip.version == n.version and end.ip in n for n in peer.networks
        )
    assert peer.domain_names is not None
    return end.name is not None and any(domain_matches(p, end.name) for p in peer.domain_names)


@settings(max_examples=500)
@given(peers, st.sampled_from(NAMESPACES), ends())
def test_a_network_policy_peer_selects_what_the_api_text_says(
    peer: Peer, namespace: str, end: PeerEnd
) -> None:
    assert selects(of_peer(peer, namespace), end) == peer_selects(peer, namespace, end)


@settings(max_examples=500)
@given(tier_peers, ends())
def test_a_tier_peer_selects_what_the_api_text_says(peer: TierPeer, end: PeerEnd) -> None:
    assert selects(of_tier_peer(peer), end) == tier_peer_selects(peer, end)


def test_names_are_their_own_selection() -> None:
    assert isinstance(of_peer(Peer(domain_names=("x.io",)), "a"), NamesMatching)
    assert of_peer(Peer(pod_selector=LabelSelector()), "a") == of_peer(Peer(), "a")


@settings(max_examples=300)
@given(ip_blocks(), st.sampled_from(ADDRESSES).map(ipaddress.ip_address))
def test_address_ranges_contain_the_block_minus_its_excepts(block: IPBlock, ip: IPAddress) -> None:
    assert AddressRanges.of_blocks((block,)).contains(ip) == block.contains(ip)


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    found = [draw(pods(i)) for i in range(draw(st.integers(0, 8)))]
    namespaces = tuple(
        Namespace(n, draw(labels).with_label("kubernetes.io/metadata.name", n))
        for n in NAMESPACES[:2]
    )
    return Cluster(namespaces, tuple(found))


def _labels_of(cluster: Cluster) -> Mapping[str, Labels]:
    return {p.namespace: cluster.namespace_labels(p.namespace) for p in cluster.pods}


@settings(max_examples=300)
@given(
    clusters(),
    st.lists(st.one_of(peers, tier_peers), min_size=1, max_size=4),
    st.sampled_from(NAMESPACES),
)
def test_the_index_backend_selects_the_pods_the_endpoint_backend_selects(
    cluster: Cluster, written: list[Peer | TierPeer], namespace: str
) -> None:
    index = ClusterIndex(cluster)
    labels_of = _labels_of(cluster)
    for peer in written:
        selection = of_peer(peer, namespace) if isinstance(peer, Peer) else of_tier_peer(peer)
        if not isinstance(selection, PodsSelected):
            continue
        expected = {
            i
            for i, p in enumerate(cluster.pods)
            if not p.host_network and selects(selection, PeerEnd(None, p, labels_of[p.namespace]))
        }
        assert index.pods(selection) == expected


policy_ports = st.builds(
    PolicyPort,
    protocol=st.sampled_from(list(Protocol)),
    port=st.one_of(st.none(), st.sampled_from([53, 80, 81]), st.sampled_from(["web", "dns"])),
    end_port=st.none(),
) | st.builds(lambda p: PolicyPort(Protocol.TCP, 80, p), st.sampled_from([80, 81, 443]))
tier_ports: st.SearchStrategy[TierPort] = st.one_of(
    st.builds(
        lambda proto, lo, width: PortRange(proto, lo, lo + width),
        st.sampled_from(list(Protocol)),
        st.sampled_from([53, 80]),
        st.integers(0, 2),
    ),
    st.builds(NamedPort, st.sampled_from(["web", "dns"])),
)


@settings(max_examples=400)
@given(
    policy_ports,
    st.sampled_from([53, 80, 81, 82]),
    st.sampled_from(list(Protocol)),
    st.one_of(st.none(), pods(1)),
)
def test_a_policy_port_matches_what_the_api_text_says(
    spec: PolicyPort, port: int, protocol: Protocol, destination: Pod | None
) -> None:
    expected = spec.protocol is protocol and (
        spec.port is None
        or (
            destination is not None and destination.named_port(spec.port, protocol) == port
            if isinstance(spec.port, str)
            else spec.port <= port <= (spec.end_port or spec.port)
        )
    )
    assert port_matches(of_policy_port(spec), port, protocol, destination) == expected


@settings(max_examples=400)
@given(
    tier_ports,
    st.sampled_from([53, 80, 81, 82]),
    st.sampled_from(list(Protocol)),
    st.one_of(st.none(), pods(1)),
)
def test_a_tier_port_matches_what_the_api_text_says(
    spec: TierPort, port: int, protocol: Protocol, destination: Pod | None
) -> None:
    if isinstance(spec, NamedPort):
        expected = destination is not None and destination.named_port(spec.name, protocol) == port
    else:
        expected = spec.contains(protocol, port)
    assert port_matches(of_tier_port(spec), port, protocol, destination) == expected
