"""An EKS ApplicationNetworkPolicy whose egress rule holds only ``domainNames``
isolates the pods it selects and allows no connection made to an address: every
consumer of the compiled rules reads it so (the engine, the matrix, the class
analysis, lint, the nft ruleset), never as a rule without peers (all addresses)."""

from __future__ import annotations

import pytest

from netfence import api
from netfence.analysis.scale.summary import ClusterAnalysis
from netfence.model.policy import Direction
from netfence.nft.compiler import node_ruleset

NAMES_ONLY = """
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: a, labels: {app: client}}
spec: {containers: [{name: c}]}
status: {podIP: 10.9.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: a, labels: {app: server}}
spec: {containers: [{name: c, ports: [{name: web, containerPort: 80}]}]}
status: {podIP: 10.9.0.3}
---
apiVersion: networking.k8s.aws/v1alpha1
kind: ApplicationNetworkPolicy
metadata: {name: only-names, namespace: a}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
    - to: [{domainNames: [api.example.com, "*.example.org"]}]
      ports: [{port: 443}]
"""


@pytest.fixture(scope="module")
def loaded() -> api.Loaded:
    return api.loads(NAMES_ONLY, "anp.yaml")


def test_the_input_is_complete_and_the_policy_is_in_the_network_policy_tier(
    loaded: api.Loaded,
) -> None:
    assert not loaded.completeness.partial
    (policy,) = loaded.compiled.policies
    (rule,) = policy.egress
    assert rule.peers == () and [m.peer.domain_names for m in rule.names] == [
        ("api.example.com", "*.example.org")
    ]


@pytest.mark.parametrize(
    ("destination", "resolve", "port", "allowed"),
    [
        ("a/server", None, 80, False),
        ("a/server", None, 443, False),
        ("203.0.113.5", None, 443, False),
        ("api.example.com", "203.0.113.5", 443, True),
        ("api.example.com", "203.0.113.5", 80, False),
        ("www.example.org", "198.51.100.4", 443, True),
        ("example.org", "198.51.100.4", 443, False),
    ],
)
def test_check_allows_only_connections_made_to_the_names(
    loaded: api.Loaded, destination: str, resolve: str | None, port: int, allowed: bool
) -> None:
    hosts = {destination: resolve} if resolve else None
    report = api.check(loaded, "a/client", destination, port, resolve=hosts)
    assert report.allowed is allowed, api.explain(report)


def test_the_text_names_the_rule_that_allowed(loaded: api.Loaded) -> None:
    report = api.check(
        loaded, "a/client", "api.example.com", 443, resolve={"api.example.com": "203.0.113.5"}
    )
    text = api.explain(report)
    assert "ApplicationNetworkPolicy:a/only-names" in text
    assert "domainNames api.example.com, *.example.org" in text


def test_the_matrix_and_the_class_analysis_deny_the_client_every_pod(loaded: api.Loaded) -> None:
    grid = api.matrix(loaded, 80)
    keys = [g.key for g in grid.groups]
    client, server = keys.index("a/client"), keys.index("a/server")
    assert grid.cells[client][server].state == "no"
    assert grid.cells[server][client].state == "all"
    analysis = ClusterAnalysis(loaded.cluster, loaded.compiled)
    order = {pod.key: c for c, members in enumerate(analysis.table.members) for pod in members}
    for q in range(len(analysis.ports.classes)):
        matrix = analysis.class_matrix(q)
        assert not matrix[order["a/client"], order["a/server"]]
        assert matrix[order["a/server"], order["a/client"]]


def test_lint_neither_calls_it_unevaluated_nor_shadowed(loaded: api.Loaded) -> None:
    found = {f.check.id for f in api.lint(loaded).findings}
    assert "NF114" not in found and "NF110" not in found


def test_a_names_rule_is_not_shadowed_by_a_rule_without_them() -> None:
    """NF110: a rule allowing names is within another only if that one allows the
    names too (or every destination)."""
    from netfence.analysis.lint.containment import rule_within

    text = (
        NAMES_ONLY
        + """
---
apiVersion: networking.k8s.aws/v1alpha1
kind: ApplicationNetworkPolicy
metadata: {name: to-server, namespace: a}
spec:
  podSelector: {matchLabels: {app: client}}
  egress: [{to: [{podSelector: {}}, {domainNames: [www.example.org]}], ports: [{port: 443}]}]
"""
    )
    policies = {p.policy.name: p for p in api.loads(text).compiled.policies}
    names_only = policies["only-names"].egress[0]
    wider = policies["to-server"].egress[0]
    assert not rule_within(names_only, wider)  # api.example.com is not in "to-server"
    assert rule_within(wider.__class__(wider.origin, (), wider.ports, wider.names), names_only)


def test_the_nft_ruleset_isolates_the_client_and_accepts_nothing_for_it(
    loaded: api.Loaded,
) -> None:
    ruleset = node_ruleset(loaded.compiled, loaded.cluster)
    (eg4,) = [m for m in ruleset.maps if m.name == "eg4"]
    (element,) = [target for address, target in eg4.elements if address == "10.9.0.2"]
    chain_name = element.removeprefix("jump ")
    (chain,) = [c for c in ruleset.chains if c.name == chain_name]
    assert all("accept" not in rule for rule in chain.rules), chain.rules
    assert loaded.compiled.selecting(loaded.cluster.pods[0], Direction.EGRESS)
