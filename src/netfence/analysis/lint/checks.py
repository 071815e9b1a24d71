"""The checks. Each looks at the compiled policies against the cluster they apply to.

IDs are stable; docs/lint.md gives each one's rationale and fix.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from netfence.analysis.lint.containment import rule_within, selector_within
from netfence.analysis.lint.dns import DNS_BLOCKED, DNS_TCP_BLOCKED, dns_findings
from netfence.analysis.lint.findings import Check, Finding, LintReport, Needs, Skipped
from netfence.analysis.lint.tiers import RUNS as TIER_RUNS
from netfence.compile.compiled import CompiledPolicy, CompiledPolicySet, PeerMatcher
from netfence.compile.ir import PeerEnd, PodsSelected, in_scope
from netfence.model.cluster import NAMESPACE_NAME_LABEL, Cluster, Pod, Service
from netfence.model.diagnostics import ObjectRef, Severity
from netfence.model.labels import Labels, LabelSelector
from netfence.model.policy import Direction, IPBlock


@dataclass(frozen=True)
class Context:
    cluster: Cluster
    compiled: CompiledPolicySet

    @functools.cached_property
    def dns(self) -> tuple[Finding, ...]:
        return tuple(dns_findings(self.cluster, self.compiled))

    @functools.cached_property
    def namespaces_with_pods(self) -> frozenset[str]:
        return frozenset(p.namespace for p in self.cluster.pods)

    @functools.cached_property
    def selectable_by_namespace(self) -> dict[str, list[Pod]]:
        """The pods selectors can match (not hostNetwork), by namespace, in input order."""
        out: dict[str, list[Pod]] = {}
        for p in self.cluster.pods:
            if not p.host_network:
                out.setdefault(p.namespace, []).append(p)
        return out

    @functools.cached_property
    def _services(self) -> dict[str, list[Service]]:
        out: dict[str, list[Service]] = {}
        for service in self.cluster.services:
            out.setdefault(service.namespace, []).append(service)
        return out

    def services_in(self, namespace: str) -> list[Service]:
        """The namespace's Services, in input order."""
        return self._services.get(namespace, [])

    @functools.cached_property
    def _backends(self) -> dict[int, tuple[Pod, ...]]:
        return {}

    def backends(self, service: Service) -> tuple[Pod, ...]:
        """``cluster.service_backends``, computed once per Service."""
        found = self._backends.get(id(service))
        if found is None:
            found = self._backends[id(service)] = self.cluster.service_backends(service)
        return found


def peer_matches_a_pod(ctx: Context, m: PeerMatcher) -> bool:
    """Does the (selector) peer match any selectable pod? The namespaces first: only
    the pods of those in the peer's namespace scope are tried."""
    selection = m.selection
    if not isinstance(selection, PodsSelected):
        return False
    for namespace, pods in ctx.selectable_by_namespace.items():
        labels = ctx.cluster.namespace_labels(namespace)
        if in_scope(selection.namespaces, namespace, labels) and any(
            m.matches(PeerEnd(None, p, labels)) for p in pods
        ):
            return True
    return False


def _selected(ctx: Context, policy: CompiledPolicy) -> list[Pod]:
    return [p for p in ctx.cluster.pods_in(policy.policy.namespace) if policy.selects(p)]


def _finding(
    check: Check, policy: CompiledPolicy, message: str, field: str | None = None
) -> Finding:
    p = policy.policy
    return Finding(check, message, p.source, ObjectRef("NetworkPolicy", p.namespace, p.name), field)


def dns_blocked(ctx: Context) -> Iterator[Finding]:
    """Evaluated with the engine (lint/dns.py): another policy that allows DNS (as
    the workshop's allow-ui-egress does) keeps it quiet."""
    return (f for f in ctx.dns if f.check is DNS_BLOCKED and not _policy_covered(ctx, f))


def dns_tcp_blocked(ctx: Context) -> Iterator[Finding]:
    return (f for f in ctx.dns if f.check is DNS_TCP_BLOCKED and not _policy_covered(ctx, f))


def _policy_covered(ctx: Context, finding: Finding) -> bool:
    """A policy of another kind may already allow DNS where this finding's policy is
    (NF114): the DNS checks stay quiet there rather than recommend what it may do."""
    return finding.obj is not None and _covered(ctx, finding.obj.namespace or "")


SELECTS_NOTHING = Check(
    "NF102", "selects-nothing", Severity.WARNING,
    "a selector matches no pod or namespace",
    "A selector that matches nothing is almost always a label typo; the policy then "
    "protects or allows nothing it was meant to.",
    "Fix the label (the message suggests the nearest existing one), or delete the rule.",
    Needs.PODS,
)  # fmt: skip


def _labels_suggestion(selector: LabelSelector, existing: set[tuple[str, str]]) -> str:
    """The nearest label that exists in the input: another value of the same key
    (app=wbe: app=web), else another key with the same value. Never a label of
    another key and value: kubernetes.io/metadata.name=kube-system is no typo of
    kubernetes.io/metadata.name=default."""
    for key, value in selector.match_labels.items_:
        if (key, value) in existing:
            continue
        values = sorted(v for k, v in existing if k == key)
        close = difflib.get_close_matches(value, values, n=1, cutoff=0.6)
        if close:
            return f" (did you mean {key}={close[0]}?)"
        keys = sorted(k for k, v in existing if v == value)
        close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
        if close:
            return f" (did you mean {close[0]}={value}?)"
    return ""


# Every cluster has these namespaces, whether the input declares them or not.
SYSTEM_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")


def selects_nothing(ctx: Context) -> Iterator[Finding]:
    """Only where the input shows the pods: a podSelector in a namespace without
    pods in the input, or a peer whose namespaces have none, says nothing.
    Suggestions come from labels in the input only (pods, Namespace objects)."""
    pod_labels = {item for p in ctx.cluster.pods for item in p.labels.items_}
    ns_labels = {
        item
        for ns in ctx.cluster.namespaces
        if ns.declared or ns.name in ctx.namespaces_with_pods
        for item in ns.labels.items_
    }
    for policy in ctx.compiled.policies:
        namespace = policy.policy.namespace
        if namespace in ctx.namespaces_with_pods and not any(
            policy.selects(p) for p in ctx.cluster.pods_in(namespace)
        ):
            hint = _labels_suggestion(policy.target, pod_labels)
            yield _finding(
                SELECTS_NOTHING,
                policy,
                f"spec.podSelector matches no pod{hint}",
                "spec.podSelector",
            )
        for rule in (*policy.ingress, *policy.egress):
            for m in rule.peers or ():
                yield from _peer_nothing(ctx, policy, m, pod_labels, ns_labels)


def _namespace_labels(ctx: Context) -> list[tuple[str, Labels]]:
    known = [(ns.name, ns.labels) for ns in ctx.cluster.namespaces]
    names = {name for name, _ in known}
    return known + [
        (name, ctx.cluster.namespace_labels(name))
        for name in SYSTEM_NAMESPACES
        if name not in names
    ]


def _peer_nothing(
    ctx: Context,
    policy: CompiledPolicy,
    m: PeerMatcher,
    pod_labels: set[tuple[str, str]],
    ns_labels: set[tuple[str, str]],
) -> Iterator[Finding]:
    peer = m.peer
    if peer.ip_block is not None:
        return
    if peer.namespace_selector is None:
        namespaces = [policy.policy.namespace]
    else:
        selector = peer.namespace_selector
        namespaces = [name for name, labels in _namespace_labels(ctx) if selector.matches(labels)]
        if not namespaces:
            hint = _labels_suggestion(selector, ns_labels)
            yield _finding(
                SELECTS_NOTHING,
                policy,
                f"namespaceSelector matches no namespace{hint}",
                f"{m.path}.namespaceSelector",
            )
            return
    if not any(n in ctx.namespaces_with_pods for n in namespaces):
        return  # no pods of those namespaces in the input: nothing to say
    if not peer_matches_a_pod(ctx, m):
        hint = _labels_suggestion(peer.pod_selector, pod_labels) if peer.pod_selector else ""
        yield _finding(SELECTS_NOTHING, policy, f"peer matches no pod{hint}", m.path)


NS_LABEL_MISSING = Check(
    "NF103", "namespace-label-missing", Severity.WARNING,
    "namespaceSelector by a label no namespace carries",
    "Namespaces carry only the labels someone set, but every namespace carries "
    f"{NAMESPACE_NAME_LABEL}; selecting by a label nobody set matches nothing.",
    f"Select namespaces by {NAMESPACE_NAME_LABEL}: <name>, or label the namespaces.",
    Needs.NAMESPACES,
)  # fmt: skip


def namespace_label_missing(ctx: Context) -> Iterator[Finding]:
    keys = {k for ns in ctx.cluster.namespaces for k in ns.labels}
    for policy in ctx.compiled.policies:
        for rule in (*policy.ingress, *policy.egress):
            for m in rule.peers or ():
                selector = m.peer.namespace_selector
                if selector is None:
                    continue
                used = {k for k, _ in selector.match_labels.items_} | {
                    r.key for r in selector.match_expressions
                }
                for key in sorted(used - keys):
                    yield _finding(
                        NS_LABEL_MISSING,
                        policy,
                        f"no namespace has the label {key!r}; use {NAMESPACE_NAME_LABEL}",
                        f"{m.path}.namespaceSelector",
                    )


WORLD_EGRESS = Check(
    "NF104", "egress-to-world", Severity.WARNING,
    "egress to 0.0.0.0/0 or ::/0",
    "An ipBlock of the whole address space allows every address outside the cluster "
    "(and, as ipBlocks match pod addresses too, every pod not excepted).",
    "Allow the destinations that are needed (CIDRs of the services used), or add except entries.",
)  # fmt: skip


def egress_to_world(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.compiled.policies:
        for rule in policy.egress:
            for m in rule.peers or ():
                block = m.peer.ip_block
                if block is not None and block.cidr.prefixlen == 0:
                    yield _finding(
                        WORLD_EGRESS,
                        policy,
                        f"egress allowed to {block.cidr}",
                        f"{m.path}.ipBlock.cidr",
                    )


ONE_FAMILY = Check(
    "NF112", "ipblock-one-family", Severity.WARNING,
    "a rule's ipBlocks are of one address family while the selected pods have both",
    "An ipBlock matches addresses of its own family only. In a dual-stack cluster a rule "
    "whose ipBlocks are all IPv4 (or all IPv6) allows nothing of the other family: egress "
    "to 0.0.0.0/0 still leaves the internet unreachable over IPv6.",
    "Add the ipBlock of the other family (::/0 beside 0.0.0.0/0, the service's IPv6 prefix "
    "beside its IPv4 one), or leave out on purpose and say so in a comment.",
    Needs.PODS,
)  # fmt: skip


OTHER_FAMILY = {4: 6, 6: 4}


def ipblock_one_family(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.compiled.policies:
        families = {ip.version for pod in _selected(ctx, policy) for ip in pod.ips}
        if len(families) < 2:
            continue
        for direction in (Direction.INGRESS, Direction.EGRESS):
            for rule in policy.rules(direction):
                blocks = [m for m in rule.peers or () if m.peer.ip_block is not None]
                covered = {b.cidr.version for m in blocks if (b := m.peer.ip_block)}
                if len(covered) == 1:
                    (version,) = covered
                    message = (
                        f"{direction.value.lower()} ipBlocks are IPv{version} only, while the "
                        f"selected pods have IPv{OTHER_FAMILY[version]} addresses too: "
                        "none of that traffic is allowed by this rule"
                    )
                    yield _finding(ONE_FAMILY, policy, message, f"{blocks[0].path}.ipBlock.cidr")


SERVICE_PORT = Check(
    "NF105", "service-port-not-target-port", Severity.WARNING,
    "a policy port is a Service's port, not its pods' targetPort",
    "Policies see the backend pod and its targetPort after the Service is resolved, "
    "never the service port: a rule on port 80 does not match traffic to a Service "
    "port 80 whose targetPort is 8080.",
    "Use the targetPort (number or the container port's name).",
    Needs.PODS,
)  # fmt: skip


def service_port_not_target(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.compiled.policies:
        selected = _selected(ctx, policy)
        for rule in policy.ingress:
            for pm in rule.ports or ():
                if isinstance(pm.port.port, int):
                    yield from _service_ports(ctx, policy, pm.path, pm.port.port, selected)


def _service_ports(
    ctx: Context, policy: CompiledPolicy, path: str, number: int, selected: list[Pod]
) -> Iterator[Finding]:
    """Services of the policy's namespace that send port ``number`` to the selected
    pods on another port."""
    chosen = {id(p) for p in selected}  # the same pod objects: membership by identity
    for service in ctx.services_in(policy.policy.namespace):
        if all(sp.port != number for sp in service.ports):
            continue  # no such Service port: its backends need not be found
        backends = [p for p in ctx.backends(service) if id(p) in chosen]
        for sp in service.ports:
            if not backends or sp.port != number:
                continue
            targets = {t for b in backends if (t := sp.target_on(b)) is not None}
            if targets and number not in targets:
                listen = ", ".join(str(t) for t in sorted(targets))
                message = (
                    f"port {number} is Service {service.key}'s port; its pods listen on {listen}"
                )
                yield _finding(SERVICE_PORT, policy, message, path)


NAMED_PORT = Check(
    "NF106", "named-port-unknown", Severity.WARNING,
    "a named port no selected pod declares with that protocol",
    "A named port is looked up on the destination pod's container ports, with the "
    "rule's protocol; a name nobody declares (or declares for another protocol) matches nothing.",
    "Use a name the pods declare, with its protocol, or the port number.",
    Needs.PODS,
)  # fmt: skip


def named_port_unknown(ctx: Context) -> Iterator[Finding]:
    selectable = [p for p in ctx.cluster.pods if not p.host_network]  # the same for every policy
    for policy in ctx.compiled.policies:
        selected = _selected(ctx, policy)
        for direction, rules in (
            (Direction.INGRESS, policy.ingress),
            (Direction.EGRESS, policy.egress),
        ):
            pods = selected if direction is Direction.INGRESS else selectable
            for rule in rules:
                for pm in rule.ports or ():
                    name = pm.port.port
                    if not isinstance(name, str) or any(
                        p.named_port(name, pm.port.protocol) for p in pods
                    ):
                        continue
                    other = [d.protocol.value for p in pods for d in p.ports if d.name == name]
                    detail = f" (declared for {', '.join(sorted(set(other)))})" if other else ""
                    yield _finding(
                        NAMED_PORT,
                        policy,
                        f"no pod declares port {name!r} for {pm.port.protocol.value}{detail}",
                        pm.path,
                    )


IPBLOCK_PODS = Check(
    "NF107", "ipblock-covers-cluster", Severity.NOTICE,
    "an ipBlock covers pod or Service addresses",
    "ipBlocks match pod addresses too, so a block meant for the outside may also allow "
    "(or, in except, deny) pods; ClusterIPs never match: policies see pod addresses after DNAT.",
    "Select pods with selectors; keep ipBlocks for addresses outside the cluster.",
    Needs.PODS,
)  # fmt: skip


def ipblock_covers_cluster(ctx: Context) -> Iterator[Finding]:
    pod_ips = [ip for p in ctx.cluster.pods for ip in p.ips]
    service_ips = [ip for s in ctx.cluster.services for ip in s.cluster_ips]
    counted: dict[IPBlock, tuple[int, int]] = {}  # policies repeat blocks: count each once
    for policy in ctx.compiled.policies:
        for rule in (*policy.ingress, *policy.egress):
            for m in rule.peers or ():
                block = m.peer.ip_block
                if block is None or block.cidr.prefixlen == 0:
                    continue  # the whole space: NF104 says it
                if block not in counted:
                    counted[block] = (
                        sum(1 for ip in pod_ips if block.contains(ip)),
                        sum(1 for ip in service_ips if ip in block.cidr),
                    )
                pods, services = counted[block]
                if pods or services:
                    what = ", ".join(
                        x
                        for x in (
                            f"{pods} pod address(es)" if pods else "",
                            f"{services} ClusterIP(s)" if services else "",
                        )
                        if x
                    )
                    yield _finding(
                        IPBLOCK_PODS,
                        policy,
                        f"{block.cidr} covers {what}",
                        f"{m.path}.ipBlock.cidr",
                    )


SPLIT_PEER = Check(
    "NF108", "peer-split-or", Severity.NOTICE,
    "a namespaceSelector and a podSelector written as two peers (OR)",
    "Two list items are ORed: '- namespaceSelector: …' and '- podSelector: …' allow every pod "
    "of those namespaces OR the matching pods of the policy's own namespace. One item with "
    "both keys (AND) is usually what was meant.",
    "If you meant 'these pods in those namespaces', put both selectors in one list item.",
)  # fmt: skip


def split_peer(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.compiled.policies:
        for rule in (*policy.ingress, *policy.egress):
            peers = rule.peers or ()
            only_ns = [
                m
                for m in peers
                if m.peer.namespace_selector is not None and m.peer.pod_selector is None
            ]
            only_pod = [
                m
                for m in peers
                if m.peer.pod_selector is not None and m.peer.namespace_selector is None
            ]
            if only_ns and only_pod:
                yield _finding(
                    SPLIT_PEER,
                    policy,
                    f"{only_ns[0].path} and {only_pod[0].path} are ORed; one item would AND them",
                    rule.origin.path,
                )


JOINED_PEER = Check(
    "NF111", "peer-and-empty", Severity.WARNING,
    "one peer ANDs a namespaceSelector and a podSelector that match nothing together",
    "In one list item the selectors are ANDed: the pods matching podSelector inside the "
    "namespaces matching namespaceSelector. When each selector matches something alone but "
    "nothing together, two items (OR) were probably meant.",
    "If you meant 'those namespaces, or those pods', write two list items.",
    Needs.PODS,
)  # fmt: skip


def joined_peer(ctx: Context) -> Iterator[Finding]:
    pods = [p for p in ctx.cluster.pods if not p.host_network]
    for policy in ctx.compiled.policies:
        for rule in (*policy.ingress, *policy.egress):
            for m in rule.peers or ():
                ns, pod = m.peer.namespace_selector, m.peer.pod_selector
                if ns is None or pod is None or ns.is_empty or pod.is_empty:
                    continue
                if peer_matches_a_pod(ctx, m):
                    continue  # they match together: nothing to say (the cheapest test first)
                in_namespaces = any(
                    ns.matches(ctx.cluster.namespace_labels(n)) for n in ctx.selectable_by_namespace
                )
                matching_pods = any(pod.matches(p.labels) for p in pods)
                if in_namespaces and matching_pods:
                    message = (
                        "its namespaceSelector and podSelector each match pods, but none together"
                    )
                    yield _finding(JOINED_PEER, policy, message, m.path)


NO_DEFAULT_DENY = Check(
    "NF109", "no-default-deny", Severity.NOTICE,
    "a namespace with pods has no default-deny policy",
    "Without a policy selecting every pod of the namespace for ingress and egress, "
    "pods no other policy selects accept and open any connection.",
    "Add a default-deny policy (podSelector: {}, policyTypes: [Ingress, Egress]), then "
    "allow what is needed.",
    Needs.PODS,
)  # fmt: skip


def no_default_deny(ctx: Context) -> Iterator[Finding]:
    for ns in ctx.cluster.namespaces:
        pods = [p for p in ctx.cluster.pods_in(ns.name) if not p.host_network]
        if not pods or _covered(ctx, ns.name):
            continue  # covered: a policy of another kind may already deny (NF114)
        policies = ctx.compiled.by_namespace.get(ns.name, ())
        missing = [
            d.value
            for d in Direction
            if not any(c.target.is_empty and c.policy.isolates(d) for c in policies)
        ]
        if missing:
            yield Finding(
                NO_DEFAULT_DENY,
                f"{len(pods)} pod(s) and no default-deny for {' and '.join(missing)}",
                ns.source,
                ObjectRef("Namespace", None, ns.name),
            )


SHADOWED = Check(
    "NF110", "shadowed-policy", Severity.NOTICE,
    "a policy is redundant: another selects every pod it selects and allows all it allows",
    "Shown for every pod that could ever exist, not only today's: the other policy's "
    "podSelector contains this one's, isolates the same directions, and each of this "
    "policy's rules is contained in one of its rules (peers, namespaces, ipBlocks, ports). "
    "Deleting a redundant policy changes nothing; keeping it misleads readers.",
    "Delete the redundant policy, or narrow the other one if it allows more than intended.",
)  # fmt: skip


def shadowed(ctx: Context) -> Iterator[Finding]:
    for policy in ctx.compiled.policies:
        for other in ctx.compiled.by_namespace.get(policy.policy.namespace, ()):
            if other is policy or not _covers(other, policy):
                continue
            if _covers(policy, other) and other.policy.name > policy.policy.name:
                continue  # two equivalent policies: report only one of them
            message = (
                f"redundant: {other.policy.key} selects every pod it selects and allows all it does"
            )
            yield _finding(SHADOWED, policy, message)
            break


def _covers(outer: CompiledPolicy, inner: CompiledPolicy) -> bool:
    if not inner.policy.policy_types <= outer.policy.policy_types:
        return False
    if not selector_within(inner.target, outer.target):
        return False
    return all(
        any(rule_within(rule, candidate) for candidate in outer.rules(d))
        for d in inner.policy.policy_types
        for rule in inner.rules(d)
    )


def _covered(ctx: Context, namespace: str) -> bool:
    """A policy of another kind (not evaluated) may decide this namespace's traffic."""
    return any(p.may_affect((namespace,)) for p in ctx.cluster.other_policies)


NOT_EVALUATED = Check(
    "NF114", "not-evaluated-policy", Severity.NOTICE,
    "a policy of another kind (Cilium, Calico, AdminNetworkPolicy, EKS) is not evaluated",
    "netfence recognises these kinds but does not evaluate them yet, so a verdict involving "
    "a pod they may select can be wrong. Checks that recommend adding policy (NF101, "
    "NF109) are not reported where such a policy may already do what they would recommend: "
    "in its namespace, or everywhere for a cluster-wide kind.",
    "Check the verdicts that name this policy by hand, or test them in a cluster running "
    "its CNI; use --strict-input to make CI fail on inputs netfence cannot fully evaluate.",
)  # fmt: skip


def not_evaluated(ctx: Context) -> Iterator[Finding]:
    for other in ctx.cluster.other_policies:
        where = "every namespace" if other.namespace is None else f"namespace {other.namespace}"
        yield Finding(
            NOT_EVALUATED,
            f"not evaluated; NF101 and NF109 are not reported for {where}, since it may "
            "already allow DNS or deny by default there",
            other.source,
            ObjectRef(other.kind, other.namespace, other.name),
        )


CHECKS: tuple[tuple[Check, Callable[[Context], Iterator[Finding]]], ...] = (
    (DNS_BLOCKED, dns_blocked),
    (SELECTS_NOTHING, selects_nothing),
    (NS_LABEL_MISSING, namespace_label_missing),
    (WORLD_EGRESS, egress_to_world),
    (SERVICE_PORT, service_port_not_target),
    (NAMED_PORT, named_port_unknown),
    (IPBLOCK_PODS, ipblock_covers_cluster),
    (SPLIT_PEER, split_peer),
    (NO_DEFAULT_DENY, no_default_deny),
    (SHADOWED, shadowed),
    (JOINED_PEER, joined_peer),
    (ONE_FAMILY, ipblock_one_family),
    (DNS_TCP_BLOCKED, dns_tcp_blocked),
    (NOT_EVALUATED, not_evaluated),
    *TIER_RUNS,
)

TIER_CHECKS = frozenset(check for check, _ in TIER_RUNS)

NO_PODS = "no pods in the input"
NO_NAMESPACES = "no pods or Namespace objects in the input"


def _missing(check: Check, cluster: Cluster) -> str | None:
    """Why ``check`` cannot run on ``cluster``, or None when it can."""
    if check.needs is Needs.NOTHING or cluster.pods:
        return None
    if check.needs is Needs.NAMESPACES and any(ns.declared for ns in cluster.namespaces):
        return None
    return NO_PODS if check.needs is Needs.PODS else NO_NAMESPACES


def lint_report(cluster: Cluster, compiled: CompiledPolicySet) -> LintReport:
    """Every check that the input's cluster state allows; the others are skipped."""
    ctx = Context(cluster, compiled)
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    for check, run in CHECKS:
        if check in TIER_CHECKS and not compiled.tiers:
            continue  # nothing for them to read: not run, and not "skipped" either
        reason = _missing(check, cluster)
        if reason is not None:
            skipped.append(Skipped(check, reason))
        else:
            findings.extend(run(ctx))
    return LintReport(tuple(findings), tuple(skipped))


def lint(cluster: Cluster, compiled: CompiledPolicySet) -> list[Finding]:
    return list(lint_report(cluster, compiled).findings)
