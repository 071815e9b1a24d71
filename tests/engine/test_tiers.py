"""The tier pipeline, table-driven: Admin (priority, then rules in order, first
match) → NetworkPolicy → Baseline → default allow, per direction, with the
answers recorded as data. Built from model values; the upstream conformance
corpus (tests/corpus/npa_conformance) replays whole truth tables."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pytest

from netfence.compile import compile_policies
from netfence.engine.decision import Decision, Outcome
from netfence.engine.evaluate import evaluate
from netfence.engine.tiers import TierAnswer
from netfence.model.cluster import Cluster, Namespace, Node, Pod
from netfence.model.labels import Labels, LabelSelector
from netfence.model.policy import Direction, NetworkPolicy, Peer, Rule
from netfence.model.ports import ContainerPort, PolicyPort, Protocol
from netfence.model.tiers import (
    ClusterPolicy,
    NamedPort,
    NamespacedPods,
    PortRange,
    RuleAction,
    Subject,
    Tier,
    TierKind,
    TierPeer,
    TierRule,
)
from netfence.model.traffic import Connection, Endpoint

ACCEPT, DENY, PASS = RuleAction.ACCEPT, RuleAction.DENY, RuleAction.PASS
ip = ipaddress.ip_address


def sel(**labels: str) -> LabelSelector:
    return LabelSelector(Labels.of(labels))


NAMESPACES = (
    Namespace("red", Labels.of({"kubernetes.io/metadata.name": "red", "team": "red"})),
    Namespace("blue", Labels.of({"kubernetes.io/metadata.name": "blue", "team": "blue"})),
)
WEB = Pod(
    "red", "web", Labels.of({"app": "web"}), (ip("10.0.1.1"),),
    (ContainerPort(8080, Protocol.TCP, "http"), ContainerPort(53, Protocol.UDP, "dns")),
)  # fmt: skip
DB = Pod("red", "db", Labels.of({"app": "db"}), (ip("10.0.1.2"),))
CLIENT = Pod("blue", "client", Labels.of({"app": "client"}), (ip("10.0.2.1"),))
HOSTNET = Pod("blue", "agent", Labels.of({"app": "agent"}), (ip("192.0.2.10"),), host_network=True)
NODE = Node("n1", Labels.of({"role": "worker"}), (ip("192.0.2.10"),))
EXTERNAL = ip("203.0.113.5")
PODS = {p.name: p for p in (WEB, DB, CLIENT, HOSTNET)}


def policy(
    name: str,
    tier: Tier,
    priority: int | None,
    subject: Subject,
    ingress: tuple[tuple[RuleAction, tuple[TierPeer, ...], object], ...] = (),
    egress: tuple[tuple[RuleAction, tuple[TierPeer, ...], object], ...] = (),
) -> ClusterPolicy:
    def rules(
        specs: tuple[tuple[RuleAction, tuple[TierPeer, ...], object], ...],
    ) -> tuple[TierRule, ...]:
        return tuple(
            TierRule(i, f"r{i}", action, peers, ports)  # type: ignore[arg-type]
            for i, (action, peers, ports) in enumerate(specs)
        )

    kind = TierKind.CLUSTER_NETWORK_POLICY
    return ClusterPolicy(kind, name, tier, priority, subject, rules(ingress), rules(egress))


ALL_NS = Subject(namespaces=LabelSelector())
RED = Subject(namespaces=sel(team="red"))
WEB_ONLY = Subject(pods=NamespacedPods(LabelSelector(), sel(app="web")))
FROM_BLUE = (TierPeer(namespaces=sel(team="blue")),)
FROM_ANY_POD = (TierPeer(namespaces=LabelSelector()),)
TO_NODES = (TierPeer(nodes=sel(role="worker")),)
TO_NET = (TierPeer(networks=(ipaddress.ip_network("203.0.113.0/24"),)),)
TO_PODNET = (TierPeer(networks=(ipaddress.ip_network("10.0.0.0/16"),)),)
TO_NAMES = (TierPeer(domain_names=("*.example.com",)),)
TCP8080 = (PortRange(Protocol.TCP, 8080, 8080),)
NAMED_HTTP = (NamedPort("http"),)

DENY_NP = NetworkPolicy("red", "deny-all", LabelSelector(), (), (), frozenset({Direction.INGRESS}))
ALLOW_BLUE_NP = NetworkPolicy(
    "red", "allow-blue", LabelSelector(),
    (Rule(peers=(Peer(namespace_selector=sel(team="blue")),), ports=(PolicyPort(Protocol.TCP, 8080),)),),
    (), frozenset({Direction.INGRESS}),
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    name: str
    tiers: tuple[ClusterPolicy, ...]
    src: str  # a pod name or an address
    dst: str
    port: int
    allowed: bool
    ingress: Outcome | None = None  # the ingress outcome, when it matters
    egress: Outcome | None = None
    chain: tuple[tuple[str, TierAnswer], ...] = ()  # (direction, answer) of the tiers asked
    policies: tuple[NetworkPolicy, ...] = ()
    protocol: Protocol = Protocol.TCP
    dst_name: str | None = None
    contenders: int = 0


CASES = [
    Case("no tier policy selects the pod: default allow", (
        policy("deny-blue", Tier.ADMIN, 10, Subject(namespaces=sel(team="blue")), ingress=((DENY, FROM_ANY_POD, None),)),
    ), "client", "web", 8080, True, Outcome.NOT_ISOLATED),
    Case("admin deny ingress", (
        policy("deny", Tier.ADMIN, 10, RED, ingress=((DENY, FROM_BLUE, None),)),
    ), "client", "web", 8080, False, Outcome.ADMIN_DENY, chain=(("ingress", TierAnswer.DENY),)),
    Case("admin deny beats a NetworkPolicy that allows", (
        policy("deny", Tier.ADMIN, 10, RED, ingress=((DENY, FROM_BLUE, None),)),
    ), "client", "web", 8080, False, Outcome.ADMIN_DENY, policies=(ALLOW_BLUE_NP,)),
    Case("admin accept beats a NetworkPolicy that denies", (
        policy("accept", Tier.ADMIN, 10, RED, ingress=((ACCEPT, FROM_BLUE, None),)),
    ), "client", "web", 8080, True, Outcome.ADMIN_ACCEPT, policies=(DENY_NP,)),
    Case("lower priority value wins", (
        policy("deny-later", Tier.ADMIN, 20, RED, ingress=((DENY, FROM_BLUE, None),)),
        policy("accept-first", Tier.ADMIN, 5, RED, ingress=((ACCEPT, FROM_BLUE, None),)),
    ), "client", "web", 8080, True, Outcome.ADMIN_ACCEPT),
    Case("rules in written order: the first match answers", (
        policy("ordered", Tier.ADMIN, 10, RED, ingress=((ACCEPT, FROM_BLUE, TCP8080), (DENY, FROM_ANY_POD, None))),
    ), "client", "web", 8080, True, Outcome.ADMIN_ACCEPT),
    Case("a rule whose port does not match is skipped", (
        policy("ordered", Tier.ADMIN, 10, RED, ingress=((ACCEPT, FROM_BLUE, TCP8080), (DENY, FROM_ANY_POD, None))),
    ), "client", "web", 9090, False, Outcome.ADMIN_DENY),
    Case("pass goes to the NetworkPolicy tier, which denies", (
        policy("pass", Tier.ADMIN, 10, RED, ingress=((PASS, FROM_BLUE, None),)),
        policy("accept", Tier.ADMIN, 20, RED, ingress=((ACCEPT, FROM_BLUE, None),)),
    ), "client", "web", 8080, False, Outcome.NO_RULE_MATCHED, policies=(DENY_NP,),
        chain=(("ingress", TierAnswer.PASS),)),
    Case("pass with no NetworkPolicy for the pod reaches the baseline", (
        policy("pass", Tier.ADMIN, 10, RED, ingress=((PASS, FROM_BLUE, None),)),
        policy("default", Tier.BASELINE, None, RED, ingress=((DENY, FROM_ANY_POD, None),)),
    ), "client", "web", 8080, False, Outcome.BASELINE_DENY,
        chain=(("ingress", TierAnswer.PASS), ("ingress", TierAnswer.DENY))),
    Case("a NetworkPolicy that selects the pod is final: baseline never asked", (
        policy("default", Tier.BASELINE, None, RED, ingress=((DENY, FROM_ANY_POD, None),)),
    ), "client", "web", 8080, True, Outcome.ALLOWED_BY_RULE, policies=(ALLOW_BLUE_NP,)),
    Case("baseline accept for an unisolated pod", (
        policy("default", Tier.BASELINE, None, RED, ingress=((ACCEPT, FROM_BLUE, None), (DENY, FROM_ANY_POD, None))),
    ), "client", "web", 8080, True, Outcome.BASELINE_ACCEPT),
    Case("baseline deny of same-namespace traffic", (
        policy("default", Tier.BASELINE, None, RED, ingress=((ACCEPT, FROM_BLUE, None), (DENY, FROM_ANY_POD, None))),
    ), "db", "web", 8080, False, Outcome.BASELINE_DENY),
    Case("egress deny to a network matches external addresses", (
        policy("no-internet", Tier.ADMIN, 1, ALL_NS, egress=((DENY, TO_NET, None),)),
    ), "client", str(EXTERNAL), 443, False, egress=Outcome.ADMIN_DENY),
    Case("networks match pod addresses too", (
        policy("no-pods", Tier.ADMIN, 1, Subject(namespaces=sel(team="blue")), egress=((DENY, TO_PODNET, None),)),
    ), "client", "web", 8080, False, egress=Outcome.ADMIN_DENY),
    Case("nodes peer matches the node's address", (
        policy("no-nodes", Tier.ADMIN, 1, ALL_NS, egress=((DENY, TO_NODES, None),)),
    ), "client", "192.0.2.10", 10250, False, egress=Outcome.ADMIN_DENY),
    Case("a hostNetwork pod is reached by its node's address", (
        policy("no-nodes", Tier.ADMIN, 1, ALL_NS, egress=((DENY, TO_NODES, None),)),
    ), "client", "agent", 9100, False, egress=Outcome.ADMIN_DENY),
    Case("a hostNetwork pod is never a subject", (
        policy("deny-all-egress", Tier.ADMIN, 1, ALL_NS, egress=((DENY, TO_NET, None),)),
    ), "agent", str(EXTERNAL), 443, True, egress=Outcome.HOST_NETWORK),
    Case("a hostNetwork pod is not a pods peer", (
        policy("deny-from-pods", Tier.ADMIN, 1, RED, ingress=((DENY, FROM_ANY_POD, None),)),
    ), "agent", "web", 8080, True, Outcome.NOT_ISOLATED),
    Case("a named port resolves on the destination pod", (
        policy("http", Tier.ADMIN, 1, WEB_ONLY, ingress=((DENY, FROM_BLUE, NAMED_HTTP),)),
    ), "client", "web", 8080, False, Outcome.ADMIN_DENY),
    Case("a named port with another protocol does not match", (
        policy("http", Tier.ADMIN, 1, WEB_ONLY, ingress=((DENY, FROM_BLUE, NAMED_HTTP),)),
    ), "client", "web", 8080, True, Outcome.NOT_ISOLATED, protocol=Protocol.UDP),
    Case("domainNames accept a connection made to a matching name", (
        policy("names", Tier.ADMIN, 1, ALL_NS, egress=((ACCEPT, TO_NAMES, None),)),
        policy("no-internet", Tier.ADMIN, 2, ALL_NS, egress=((DENY, TO_NET, None),)),
    ), "client", str(EXTERNAL), 443, True, egress=Outcome.ADMIN_ACCEPT, dst_name="api.example.com"),
    Case("domainNames: the wildcard needs at least one more label", (
        policy("names", Tier.ADMIN, 1, ALL_NS, egress=((ACCEPT, TO_NAMES, None),)),
        policy("no-internet", Tier.ADMIN, 2, ALL_NS, egress=((DENY, TO_NET, None),)),
    ), "client", str(EXTERNAL), 443, False, egress=Outcome.ADMIN_DENY, dst_name="example.com"),
    Case("domainNames never match a connection made to an address", (
        policy("names", Tier.ADMIN, 1, ALL_NS, egress=((ACCEPT, TO_NAMES, None),)),
        policy("no-internet", Tier.ADMIN, 2, ALL_NS, egress=((DENY, TO_NET, None),)),
    ), "client", str(EXTERNAL), 443, False, egress=Outcome.ADMIN_DENY),
    Case("equal priorities that disagree are reported, first in input order applied", (
        policy("accept", Tier.ADMIN, 7, RED, ingress=((ACCEPT, FROM_BLUE, None),)),
        policy("deny", Tier.ADMIN, 7, RED, ingress=((DENY, FROM_BLUE, None),)),
    ), "client", "web", 8080, True, Outcome.ADMIN_ACCEPT, contenders=1),
    Case("equal priorities that agree are not ambiguous", (
        policy("deny-a", Tier.ADMIN, 7, RED, ingress=((DENY, FROM_BLUE, None),)),
        policy("deny-b", Tier.ADMIN, 7, RED, ingress=((DENY, FROM_BLUE, None),)),
    ), "client", "web", 8080, False, Outcome.ADMIN_DENY),
    Case("egress and ingress are separate: admin accept of egress, NetworkPolicy denies ingress", (
        policy("out", Tier.ADMIN, 1, Subject(namespaces=sel(team="blue")), egress=((ACCEPT, FROM_ANY_POD, None),)),
    ), "client", "web", 8080, False, Outcome.NO_RULE_MATCHED, Outcome.ADMIN_ACCEPT, policies=(DENY_NP,)),
]  # fmt: skip


def _endpoint(text: str, name: str | None = None) -> Endpoint:
    pod = PODS.get(text)
    if pod is not None:
        return Endpoint(pod.ips[0], pod)
    return Endpoint(ip(text), None, name)


def _decide(case: Case) -> Decision:
    cluster = Cluster(NAMESPACES, tuple(PODS.values()), nodes=(NODE,), cluster_policies=case.tiers)
    compiled = compile_policies(case.policies, case.tiers)
    conn = Connection(
        _endpoint(case.src), _endpoint(case.dst, case.dst_name), case.port, case.protocol
    )
    return evaluate(compiled, cluster, conn)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_tier_case(case: Case) -> None:
    decision = _decide(case)
    assert decision.allowed is case.allowed
    if case.ingress is not None:
        assert decision.ingress.outcome is case.ingress
    if case.egress is not None:
        assert decision.egress.outcome is case.egress
    if case.chain:
        asked = [(v.direction.value.lower(), v.answer) for v in decision.ingress.tiers]
        asked += [(v.direction.value.lower(), v.answer) for v in decision.egress.tiers]
        assert asked == list(case.chain)
    contenders = [
        c for v in (decision.ingress, decision.egress) for t in v.tiers for c in t.contenders
    ]
    assert len(contenders) == case.contenders


def test_without_tiers_nothing_is_recorded() -> None:
    """A cluster without cluster-wide policies decides as before, with no tier steps."""
    case = Case("plain", (), "client", "web", 8080, True, policies=(ALLOW_BLUE_NP,))
    decision = _decide(case)
    assert decision.allowed and decision.ingress.tiers == () and decision.egress.tiers == ()


def test_the_rule_that_answered_is_named() -> None:
    tiers = (policy("ordered", Tier.ADMIN, 3, RED, ingress=((ACCEPT, FROM_BLUE, TCP8080), (DENY, FROM_ANY_POD, None))),)  # fmt: skip
    decision = _decide(Case("x", tiers, "db", "web", 8080, False))
    (verdict,) = decision.ingress.tiers
    assert verdict.hit is not None
    assert (verdict.hit.rule.rule, verdict.hit.rule.name, verdict.hit.peer, verdict.hit.port) == (
        1,
        "r1",
        0,
        None,
    )
    assert verdict.hit.rule.policy == "ClusterNetworkPolicy.policy.networking.k8s.io/ordered"
    assert verdict.hit.rule.priority == 3 and verdict.policies == (verdict.hit.rule.policy,)


def test_check_judges_a_resolved_name_against_domain_names() -> None:
    """``check client api.example.com --resolve api.example.com=IP``: the name the
    user gave is what domainNames peers see; the same address given as an
    address is judged by the networks rule."""
    from netfence.engine.check import Verdict, check
    from netfence.engine.targets import resolve_target

    tiers = (
        policy("names", Tier.ADMIN, 1, ALL_NS, egress=((ACCEPT, TO_NAMES, None),)),
        policy("no-internet", Tier.ADMIN, 2, ALL_NS, egress=((DENY, TO_NET, None),)),
    )
    cluster = Cluster(NAMESPACES, tuple(PODS.values()), nodes=(NODE,), cluster_policies=tiers)
    compiled = compile_policies((), tiers)
    source = resolve_target("blue/client", cluster)
    hosts = {"api.example.com": EXTERNAL, "example.com": EXTERNAL}
    verdicts = {
        text: check(compiled, cluster, source, resolve_target(text, cluster, "blue", hosts), 443, Protocol.TCP).verdict
        for text in ("api.example.com", "example.com", str(EXTERNAL))
    }  # fmt: skip
    assert verdicts == {
        "api.example.com": Verdict.ALLOWED,
        "example.com": Verdict.DENIED,
        str(EXTERNAL): Verdict.DENIED,
    }
