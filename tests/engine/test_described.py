"""Described endpoints: label sets that satisfy a selector, and NS:key=value targets."""

from __future__ import annotations

import pytest

from netfence.compile import compile_policies
from netfence.engine.check import Verdict, check
from netfence.engine.described import is_described, labels_satisfying
from netfence.engine.targets import TargetKind, resolve_target
from netfence.errors import TargetError
from netfence.model.cluster import Cluster, Namespace
from netfence.model.labels import Labels, LabelSelector, Operator, Requirement
from netfence.model.policy import Direction, NetworkPolicy, Peer, Rule
from netfence.model.ports import PolicyPort

IN, NOT_IN, EXISTS, ABSENT = Operator.IN, Operator.NOT_IN, Operator.EXISTS, Operator.DOES_NOT_EXIST


def selector(labels: dict[str, str] | None = None, *reqs: Requirement) -> LabelSelector:
    return LabelSelector(Labels.of(labels or {}), tuple(reqs))


@pytest.mark.parametrize(
    ("sel", "expected"),
    [
        (selector(), {}),
        (selector({"app": "web"}), {"app": "web"}),
        (selector(None, Requirement("tier", IN, ("web", "api"))), {"tier": "api"}),
        (selector(None, Requirement("tier", IN, ("web", "api")), Requirement("tier", NOT_IN, ("api",))), {"tier": "web"}),
        (selector(None, Requirement("track", EXISTS)), {"track": "any"}),
        (selector(None, Requirement("track", EXISTS), Requirement("track", NOT_IN, ("any",))), {"track": "any-0"}),
        (selector(None, Requirement("env", NOT_IN, ("prod",)), Requirement("debug", ABSENT)), {}),
        (selector({"app": "web"}, Requirement("app", NOT_IN, ("web",))), None),
        (selector(None, Requirement("app", EXISTS), Requirement("app", ABSENT)), None),
        (selector({"app": "web"}, Requirement("app", IN, ("db",))), None),
    ],
    ids=["empty", "match-labels", "in", "in-minus-notin", "exists", "exists-notin-placeholder",
         "notin-and-absent-leave-out", "label-notin-itself", "exists-and-absent", "label-not-in"],
)  # fmt: skip
def test_labels_satisfying(sel: LabelSelector, expected: dict[str, str] | None) -> None:
    labels = labels_satisfying(sel)
    assert (None if labels is None else dict(labels.items())) == expected
    if labels is not None:
        assert sel.matches(labels)


EMPTY = Cluster((), ())


@pytest.mark.parametrize(
    ("text", "namespace", "labels"),
    [
        ("ui:app.kubernetes.io/name=ui", "ui", {"app.kubernetes.io/name": "ui"}),
        ("shop:app=web, tier=front", "shop", {"app": "web", "tier": "front"}),
        ("ui:", "ui", {}),
    ],
)
def test_described_target_forms(text: str, namespace: str, labels: dict[str, str]) -> None:
    target = resolve_target(text, EMPTY)
    assert target.kind is TargetKind.PODS and target.described
    (pod,) = target.pods
    assert is_described(pod) and pod.namespace == namespace and dict(pod.labels.items()) == labels
    assert target.format().startswith(f"described endpoint {text} (a pod of {namespace} with ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("UI:app=web", "namespace 'UI'"),
        ("ui:app", "'app' is not key=value"),
        ("ui:app=a b", "label value 'a b'"),
        ("ui:-x=1", "label key '-x'"),
        ("ui:app=a,app=b", "label 'app' given twice"),
        ("a/b:80", "expected NAMESPACE:key=value,... or SERVICE[.NAMESPACE]:PORT"),
    ],
)
def test_described_target_errors(text: str, message: str) -> None:
    with pytest.raises(TargetError) as info:
        resolve_target(text, EMPTY)
    assert message in str(info.value)


def test_described_pods_are_judged_with_their_namespace_labels() -> None:
    """A Namespace object's labels count for a described pod of that namespace; a
    namespace without one has only kubernetes.io/metadata.name."""
    policy = NetworkPolicy(
        "db",
        "allow-prod",
        selector({"app": "db"}),
        ingress=(
            Rule(
                peers=(Peer(namespace_selector=selector({"env": "prod"})),),
                ports=(PolicyPort(port=5432),),
            ),
        ),
        egress=(),
        policy_types=frozenset({Direction.INGRESS}),
    )
    prod = Namespace("prod", Labels.of({"kubernetes.io/metadata.name": "prod", "env": "prod"}))
    cluster = Cluster((prod,), (), policies=(policy,))
    compiled = compile_policies(cluster.policies)
    db = resolve_target("db:app=db", cluster)
    for source, verdict in (("prod:app=api", Verdict.ALLOWED), ("dev:app=api", Verdict.DENIED)):
        report = check(compiled, cluster, resolve_target(source, cluster), db, 5432, None)
        assert report.verdict is verdict, source
