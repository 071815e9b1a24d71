"""The replay property on generated clusters: the generated set allows every
observed flow, and a pod pair and port that was not observed is denied unless a
flow of the same workload pair, port and protocol was (or it is DNS to kube-dns,
which is always kept, or the subject's labels could not tell the workloads apart,
which generate says)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import netfence
from netfence.analysis.diff import State, connectivity_diff
from netfence.analysis.flows import AddressBook, explain_flows, workload_key
from netfence.analysis.generate import Options, generate
from netfence.analysis.generate_check import check_generated
from netfence.engine.connections import pod_connection
from netfence.engine.evaluate import evaluate
from netfence.model.flows import Flow, FlowEnd, FlowOrigin
from netfence.model.ports import Protocol

PORTS = [(80, "http"), (443, None), (5432, "pg"), (53, None)]
LABEL_VALUES = ["web", "db", "api"]


@dataclass(frozen=True)
class Workload:
    namespace: str
    name: str
    labels: dict[str, str]
    replicas: int
    ports: tuple[int, ...]


@st.composite
def clusters(draw: st.DrawFn) -> list[Workload]:
    namespaces = draw(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3, unique=True)
    )
    workloads = []
    for ns in namespaces:
        count = draw(st.integers(1, 3))
        for i in range(count):
            labels = {"app": draw(st.sampled_from(LABEL_VALUES))}  # often shared with another
            if draw(st.booleans()):
                labels["tier"] = draw(st.sampled_from(["front", "back"]))
            if draw(st.booleans()):
                labels["app.kubernetes.io/name"] = f"w{i}"
            ports = tuple(
                sorted(draw(st.sets(st.sampled_from([p for p, _ in PORTS[:3]]), max_size=2)))
            )
            workloads.append(Workload(ns, f"w{i}", labels, draw(st.integers(1, 2)), ports))
    return workloads


def _manifests(workloads: list[Workload]) -> str:
    docs: list[dict[str, object]] = []
    ip = iter(ipaddress.ip_network("10.9.0.0/16").hosts())
    for w in [*workloads, Workload("kube-system", "coredns", {"k8s-app": "kube-dns"}, 1, (53,))]:
        for r in range(w.replicas):
            hash_ = f"h{r}x"  # a per-replica label generate must never select on
            ports = [{"containerPort": p, **({"name": n} if n else {})}
                     for p, n in PORTS if p in w.ports]  # fmt: skip
            if w.name == "coredns":
                ports = [{"containerPort": 53, "protocol": "UDP", "name": "dns"}]
            docs.append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"{w.name}-{hash_}", "namespace": w.namespace,
                             "labels": {**w.labels, "pod-template-hash": hash_},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                  "name": f"{w.name}-{hash_}", "uid": "u",
                                                  "controller": True}]},
                "spec": {"containers": [{"name": "c", "image": "x", "ports": ports}]},
                "status": {"podIPs": [{"ip": str(next(ip))}]},
            })  # fmt: skip
    docs.append({"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "kube-dns", "namespace": "kube-system"},
                 "spec": {"clusterIP": "10.96.0.10", "selector": {"k8s-app": "kube-dns"},
                          "ports": [{"port": 53, "protocol": "UDP"}]}})  # fmt: skip
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


@given(data=st.data(), workloads=clusters())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_set_allows_what_was_observed_and_nothing_else(
    data: st.DataObject, workloads: list[Workload]
) -> None:
    loaded = netfence.loads(_manifests(workloads), "cluster.json")
    pods = loaded.cluster.pods
    pick = st.tuples(
        st.sampled_from(pods), st.sampled_from(pods),
        st.sampled_from([80, 443, 5432, 8080, 53]), st.sampled_from([Protocol.TCP, Protocol.UDP]),
    )  # fmt: skip
    observed = data.draw(st.lists(pick, min_size=1, max_size=8))
    flows = [
        Flow(
            FlowEnd(s.ips[0], 40000 + i),
            FlowEnd(d.ips[0], port),
            proto,
            FlowOrigin("f", i + 1),
            reply=False,
        )
        for i, (s, d, port, proto) in enumerate(observed)
        if s is not d
    ]
    outside = st.sampled_from(["203.0.113.5", "203.0.113.6", "198.51.100.9", "2001:db8::1"])
    for i, (pod, address, out) in enumerate(
        data.draw(st.lists(st.tuples(st.sampled_from(pods), outside, st.booleans()), max_size=3))
    ):
        far = FlowEnd(ipaddress.ip_address(address), 443 if out else 50000 + i)
        near = FlowEnd(pod.ips[0], 50000 + i if out else (pod.ports[0].port if pod.ports else 80))
        src, dst = (near, far) if out else (far, near)
        flows.append(Flow(src, dst, Protocol.TCP, FlowOrigin("f", 100 + i), reply=False))
    prefix = data.draw(st.sampled_from([32, 24, 8]))
    explained = explain_flows(loaded.compiled, loaded.cluster, flows, AddressBook(loaded.cluster))
    extra = data.draw(st.sampled_from(["", "default-deny", "baseline"]))
    options = Options(extra == "default-deny", extra == "baseline", ipv4_prefix=prefix)
    generated = generate(loaded.cluster, explained.flows, options)
    if not generated.used:
        return
    checked = check_generated(loaded.cluster, loaded.compiled, generated)
    assert not checked.invalid, checked.invalid
    assert not checked.failures, [f.flow for f, _ in checked.failures]  # replay
    assert not checked.findings, [f.format() for f in checked.findings]
    before = State(loaded.cluster, loaded.compiled)
    assert checked.diff == connectivity_diff(before, checked.after)  # fast path == oracle
    for subject in generated.subjects:
        assert all(k != "pod-template-hash" for k, _ in subject.labels)

    if extra:
        return  # the pair rule below is for the workload policies alone
    seen = {(workload_key(f.src.pod), workload_key(f.dst.pod), f.flow.dst.port, f.flow.protocol)
            for f in generated.used if f.src.pod and f.dst.pod}  # fmt: skip
    shared = {p for s in generated.subjects for p in s.shared_with}
    dns = {p.key for p in pods if p.namespace == "kube-system"}
    s, d, port, proto = data.draw(pick)
    if s is d or s.key in shared or d.key in shared:
        return
    decision = evaluate(
        checked.after.compiled, checked.after.cluster, pod_connection(s, d, port, proto)
    )
    covered = {workload_key(p) for sub in generated.subjects for p in sub.pods}
    # a pair where neither end has a generated policy stays open (no current policies);
    # otherwise each covered end allows only what was observed for the workload pair
    # and port, and DNS to kube-dns
    expected = (
        (workload_key(s) not in covered and workload_key(d) not in covered)
        or (workload_key(s), workload_key(d), port, proto) in seen
        or (d.key in dns and port == 53)
    )
    assert decision.allowed == expected, (s.key, d.key, port, proto, decision)


@given(data=st.data(), workloads=clusters())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_explain_fast_path_equals_the_oracle(
    data: st.DataObject, workloads: list[Workload]
) -> None:
    """explain_flows' memo (one decision per repeated connection) == the engine asked
    for every flow, on random flows (repeats, outside addresses, both protocols)."""
    loaded = netfence.loads(_manifests(workloads), "cluster.json")
    ips = [p.ips[0] for p in loaded.cluster.pods] + [ipaddress.ip_address("203.0.113.5")]
    end = st.tuples(st.sampled_from(ips), st.sampled_from([53, 80, 443, 5432, 40000, 50000]))
    records = data.draw(st.lists(st.tuples(end, end, st.sampled_from(list(Protocol))), max_size=30))
    flows = [
        Flow(FlowEnd(a[0], a[1]), FlowEnd(b[0], b[1]), proto, FlowOrigin("f", i + 1))
        for i, (a, b, proto) in enumerate(records + records)
    ]
    book = AddressBook(loaded.cluster)
    fast = explain_flows(loaded.compiled, loaded.cluster, flows, book)
    slow = explain_flows(loaded.compiled, loaded.cluster, flows, book, memo=False)
    assert fast == slow
