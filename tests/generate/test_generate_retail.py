"""netfence generate on the bundled retail scenario's traffic: the golden policies,
the same policies from every flow format, validate and lint clean, the replay
gate (nothing written when an observed flow would be denied), and its options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import ROOT, assert_golden, run_cli
from tests.flows.retail_traffic import ADMIN_DENY

CLUSTER = ["-k", "src/netfence/scenarios/eks-retail/cluster"]
FIXTURES = "tests/fixtures/flows"
FORMATS = ["retail.netfence.jsonl", "retail.hubble.json", "retail.vpc.log", "retail.eks.log"]


def _generate(*args: str) -> dict[str, object]:
    result = run_cli("generate", *args, *CLUSTER, "-o", "json", cwd=ROOT)
    assert result.code == 0, result.err
    data: dict[str, object] = json.loads(result.out)
    return data


def test_golden_retail_policies() -> None:
    result = run_cli("generate", f"{FIXTURES}/retail.netfence.jsonl", *CLUSTER, cwd=ROOT)
    assert result.code == 0, result.err
    assert_golden("generate-retail.yaml", result.out)
    names = [line.split(": ")[1] for line in result.out.splitlines() if line.startswith("  name: ")]
    assert names == [
        "carts", "carts-dynamodb", "catalog", "catalog-mysql", "checkout", "checkout-redis",
        "coredns", "orders", "orders-postgresql", "ui",
    ]  # fmt: skip
    assert "pod-template-hash" not in result.out


def test_every_format_gives_the_same_policies() -> None:
    outputs = [_generate(f"{FIXTURES}/{name}") for name in FORMATS]
    manifests = [o["manifests"] for o in outputs]
    assert all(m == manifests[0] for m in manifests[1:])
    assert all(o["replay"] == outputs[0]["replay"] for o in outputs)
    assert [o["becomes_denied"] for o in outputs[1:]] == [outputs[0]["becomes_denied"]] * 3


def test_output_is_valid_and_lint_clean(tmp_path: Path) -> None:
    out = tmp_path / "policies.yaml"
    args = ["--default-deny", "--baseline", "--out", str(out)]
    result = run_cli("generate", f"{FIXTURES}/retail.hubble.json", *args, *CLUSTER, cwd=ROOT)
    assert result.code == 0, result.err
    assert f"written: {out}" in result.out
    validate = run_cli("validate", "-f", str(out), *CLUSTER, cwd=ROOT)
    assert validate.code == 0 and "warning" not in validate.err, validate.out + validate.err
    lint = run_cli("lint", "-f", str(out), *CLUSTER, "-o", "json", cwd=ROOT)
    findings = json.loads(lint.out)["findings"]
    ours = [f for f in findings if f["severity"] != "notice"]
    assert not ours, ours


def test_replay_failure_writes_nothing(tmp_path: Path) -> None:
    admin = tmp_path / "admin.yaml"
    admin.write_text(ADMIN_DENY)
    out = tmp_path / "policies.yaml"
    result = run_cli("generate", f"{FIXTURES}/retail.vpc.log", "--out", str(out),
                     *CLUSTER, "-f", str(admin), cwd=ROOT)  # fmt: skip
    assert result.code == 1
    assert not out.exists()
    assert "generated policies NOT written" in result.err
    assert "replay: tests/fixtures/flows/retail.vpc.log:21: observed, but denied" in result.err


def test_outside_addresses_and_their_aggregation(tmp_path: Path) -> None:
    flows = tmp_path / "out.jsonl"
    records = [
        {"kind": "netfence.flow", "version": 1, "protocol": "TCP",
         "src": {"ip": "10.244.0.11", "port": 40000 + i}, "dst": {"ip": ip, "port": 443}}
        for i, ip in enumerate(["203.0.113.10", "203.0.113.11", "198.51.100.7"])
    ]  # fmt: skip
    flows.write_text("\n".join(json.dumps(r) for r in records) + "\n")

    def blocks(*args: str) -> list[str]:
        data = _generate(str(flows), *args)
        ui = next(m for m in data["manifests"] if m["metadata"]["name"] == "ui")  # type: ignore[index, union-attr]
        rule = ui["spec"]["egress"][1]
        assert rule["ports"] == [{"protocol": "TCP", "port": 443}]
        return [peer["ipBlock"]["cidr"] for peer in rule["to"]]

    assert blocks() == ["198.51.100.7/32", "203.0.113.10/31"]  # exact: only whole unions merge
    assert blocks("--ipv4-prefix", "24") == ["198.51.100.0/24", "203.0.113.0/24"]
    assert blocks("--ipv4-prefix", "8") == ["198.0.0.0/8", "203.0.0.0/8"]
    assert blocks("--ipv4-prefix", "9") == ["198.0.0.0/9", "203.0.0.0/9"]


def test_a_block_never_covers_a_pod(tmp_path: Path) -> None:
    flows = tmp_path / "out.jsonl"
    record = {"kind": "netfence.flow", "version": 1, "protocol": "TCP",
              "src": {"ip": "10.244.0.11", "port": 40000}, "dst": {"ip": "10.244.9.9", "port": 443}}  # fmt: skip
    flows.write_text(json.dumps(record) + "\n")
    data = _generate(str(flows), "--ipv4-prefix", "16")
    ui = next(m for m in data["manifests"] if m["metadata"]["name"] == "ui")  # type: ignore[index, union-attr]
    assert ui["spec"]["egress"][1]["to"] == [{"ipBlock": {"cidr": "10.244.9.9/32"}}]


@pytest.mark.parametrize("flag", ["--default-deny", "--baseline"])
def test_options_add_their_objects(flag: str) -> None:
    data = _generate(f"{FIXTURES}/retail.netfence.jsonl", flag)
    kinds = [(m["kind"], m["metadata"]["name"]) for m in data["manifests"]]  # type: ignore[index, union-attr]
    if flag == "--default-deny":
        assert kinds.count(("NetworkPolicy", "default-deny")) == 6
    else:
        assert kinds[-1] == ("ClusterNetworkPolicy", "netfence-default")
    assert data["ok"] is True


def test_denied_and_unattributed_flows_are_left_out_and_said() -> None:
    final = [*CLUSTER, "-f", "src/netfence/scenarios/eks-retail/policies/default-deny.yaml", "-n", "ui",
             "-f", "src/netfence/scenarios/eks-retail/policies/allow-ui-egress.yaml"]  # fmt: skip
    drift = f"{FIXTURES}/drift.netfence.jsonl"
    result = run_cli("generate", drift, *final, "-o", "json", cwd=ROOT)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    why = {entry["where"]: entry["why"] for entry in data["left_out"]}
    assert why == {
        f"{drift}:1": "logged as denied (--include-denied makes it observed traffic)",
        f"{drift}:2": "logged as denied (--include-denied makes it observed traffic)",
        f"{drift}:5": "an end is not attributed to one pod",
        f"{drift}:6": "an end is not attributed to one pod",
    }
    assert data["becomes_allowed"] == []  # by pod pairs: the outside address is not in it
    opened = [(f["where"], f["to"]) for f in data["observed_now_denied"]]
    assert opened == [(f"{drift}:3", "203.0.113.10")]
    included = json.loads(
        run_cli("generate", drift, *final, "--include-denied", "-o", "json", cwd=ROOT).out
    )
    gained = [(c["from"], c["to"], c["port"]) for c in included["becomes_allowed"]]
    assert gained == [("ui/deployment/ui", "catalog/statefulset/catalog-mysql", 3306)]
    assert included["replay"]["observed"] == data["replay"]["observed"] + 2


def test_partial_input_is_said_and_the_output_stays_yaml(tmp_path: Path) -> None:
    import yaml

    other = tmp_path / "cilium.yaml"
    other.write_text(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
        "metadata: {name: x, namespace: ui}\nspec: {endpointSelector: {}}\n"
    )
    args = [f"{FIXTURES}/retail.netfence.jsonl", *CLUSTER, "-f", str(other)]
    result = run_cli("generate", *args, cwd=ROOT)
    assert result.code == 0, result.err
    assert "# PARTIAL INPUT" in result.out
    documents = [d for d in yaml.safe_load_all(result.out) if d]
    assert len(documents) == 10
    assert run_cli("generate", *args, "--strict-input", cwd=ROOT).code == 4
