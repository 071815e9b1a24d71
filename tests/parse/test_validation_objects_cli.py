"""The reproducers of issue 9 about other kinds, through the command line: a located
error and exit 2 within seconds, never ``internal error`` (exit 70)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.conftest import run_cli

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: big, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: big}}}}
  template: {{metadata: {{labels: {{app: big}}}}}}
"""
POD = """\
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: shop, labels: {{app: web}}}}
spec:
  nodeName: {node}
  containers: [{{name: web, ports: [{{containerPort: 80, protocol: {protocol}}}]}}]
status: {{podIP: {ip}}}
"""
NULL_VALUES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {matchExpressions: [{key: app, operator: In, values: [null, a]}]}}]}]
"""


def _pod(
    name: str = "web-0", node: str = "node-a", protocol: str = "TCP", ip: str = "10.244.0.7"
) -> str:
    return POD.format(name=name, node=node, protocol=protocol, ip=ip)


@pytest.mark.parametrize(
    ("text", "located"),
    [
        (
            DEPLOYMENT.format(replicas=1000000),
            "m.yaml: doc 1: Deployment shop/big: spec.replicas: Invalid value: 1000000: would "
            "expand more than 100000 pods",
        ),
        (
            DEPLOYMENT.format(replicas=2147483648),
            "m.yaml: doc 1: Deployment shop/big: spec.replicas: Invalid value: 2147483648: must "
            "be a 32-bit integer",
        ),
        (
            _pod(node='"../../../../x/daemon"'),
            'm.yaml: doc 1: Pod shop/web-0: spec.nodeName: Invalid value: "../../../../x/daemon": '
            "a lowercase RFC 1123 subdomain",
        ),
        (
            _pod(ip='"fe80::1%eth0"'),
            'm.yaml: doc 1: Pod shop/web-0: status.podIP: Invalid value: "fe80::1%eth0": must be '
            "a valid IP address",
        ),
        (
            _pod(ip='"10.0.0.1\\0"'),
            'm.yaml: doc 1: Pod shop/web-0: status.podIP: Invalid value: "10.0.0.1\\u0000"',
        ),
        (
            _pod(protocol="tcp"),
            "m.yaml: doc 1: Pod shop/web-0: spec.containers[0].ports[0].protocol: Unsupported "
            'value: "tcp"',
        ),
    ],
    ids=["replicas-1e6", "replicas-2e31", "node-name", "ip-zone", "ip-nul", "protocol-tcp"],
)
def test_located_error_exit_2_at_once(tmp_path: Path, text: str, located: str) -> None:
    (tmp_path / "m.yaml").write_text(text)
    started = time.monotonic()
    run = run_cli("matrix", "-f", "m.yaml", cwd=tmp_path)
    assert time.monotonic() - started < 20
    assert run.code == 2, run.err
    assert located in run.err
    assert "internal error" not in run.err and "Traceback" not in run.err


def test_null_in_values_is_the_empty_string(tmp_path: Path) -> None:
    """``values: [null, a]`` is valid for the API server; the null is ""."""
    text = NULL_VALUES + "---\n" + _pod(name="a") + "---\n" + _pod(name="b", ip="10.244.0.8")
    (tmp_path / "m.yaml").write_text(text.replace("{app: web}", "{app: ''}", 1))
    run = run_cli("check", "shop/a", "shop/b", "--port", "80", "-f", "m.yaml", cwd=tmp_path)
    assert run.code == 0, run.err
    assert "ALLOWED" in run.out.splitlines()[0]
    assert "app in (,a)" in run.out
