"""Cluster-wide policies (ClusterNetworkPolicy v1alpha2, tiers Admin and Baseline)
over a cluster of bench/synth.py: subjects and peers chosen among the labels its
namespaces and pods really have, so that they select some pods. Deterministic
for a seed. Used by bench/agent.py (a run with tiers beside the run without) and
by the agent's and the dataplane's tests."""

from __future__ import annotations

import random
from typing import Any

Obj = dict[str, Any]
ACTIONS = ("Accept", "Deny", "Pass")
NETWORKS = (["10.0.0.0/8"], ["10.0.0.0/16", "fd00::/8"], ["192.0.2.0/24"], ["0.0.0.0/0", "::/0"])


def tier_policies(objects: list[Obj], count: int, seed: int) -> list[Obj]:
    """``count`` ClusterNetworkPolicies (about one in four Baseline; one egress rule
    with a ``domainNames`` peer, which the dataplane does not enforce)."""
    rng = random.Random(seed)
    ns_labels = sorted(
        {
            (k, v)
            for o in objects
            if o["kind"] == "Namespace"
            for k, v in (o["metadata"].get("labels") or {}).items()
        }
    )
    pod_labels = sorted(
        {
            (k, v)
            for o in objects
            if o["kind"] == "Pod"
            for k, v in (o["metadata"].get("labels") or {}).items()
            if k in ("app", "tier", "app.kubernetes.io/part-of")
        }
    )

    def namespaces() -> Obj:
        if rng.random() < 0.25:
            return {}  # every namespace
        key, value = rng.choice(ns_labels)
        return {"matchLabels": {key: value}}

    def pods() -> Obj:
        key, value = rng.choice(pod_labels)
        return {"namespaceSelector": namespaces(), "podSelector": {"matchLabels": {key: value}}}

    def peer(egress: bool) -> Obj:
        choices = [{"namespaces": namespaces()}, {"pods": pods()}]
        if egress:  # ingress peers are namespaces and pods only
            choices.append({"networks": rng.choice(NETWORKS)})
        return rng.choice(choices)

    def protocols() -> list[Obj] | None:
        return rng.choice(
            [
                None,
                [{"tcp": {"destinationPort": {"number": 8080}}}],
                [{"tcp": {"destinationPort": {"range": {"start": 9000, "end": 9100}}}}],
                [{"udp": {"destinationPort": {"number": 53}}}],
            ]
        )

    found = []
    for i in range(count):
        tier = "Baseline" if i % 4 == 3 else "Admin"
        rules: dict[str, list[Obj]] = {"ingress": [], "egress": []}
        for direction, field in (("ingress", "from"), ("egress", "to")):
            for r in range(rng.randint(0, 2)):
                actions = ACTIONS if tier == "Admin" else ACTIONS[:2]
                rule: Obj = {
                    "name": f"{direction}-{r}",
                    "action": rng.choice(actions),
                    field: [peer(direction == "egress") for _ in range(rng.randint(1, 2))],
                }
                chosen = protocols()
                if not any("networks" in p for p in rule[field]) and rng.random() < 0.3:
                    chosen = [{"destinationNamedPort": "http"}]  # (not with networks)
                if chosen is not None:
                    rule["protocols"] = chosen
                rules[direction].append(rule)
        if i == 0:
            rules["egress"].append(
                {"name": "to-names", "action": "Accept", "to": [{"domainNames": ["*.example.com"]}]}
            )
        subject = rng.choice([{"namespaces": namespaces()}, {"pods": pods()}])
        spec: Obj = {"tier": tier, "priority": rng.randint(0, 1000), "subject": subject}
        spec.update({k: v for k, v in rules.items() if v})
        found.append(
            {
                "apiVersion": "policy.networking.k8s.io/v1alpha2",
                "kind": "ClusterNetworkPolicy",
                "metadata": {"name": f"guard-{i}"},
                "spec": spec,
            }
        )
    return found
