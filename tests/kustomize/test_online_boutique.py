"""Online Boutique (GoogleCloudPlatform/microservices-demo) as its README deploys
it with network policies: ``-k`` on the base plus the network-policies component
gives the real matrix (issue 10: "Done means"), through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

FIXTURE = Path(__file__).parent.parent / "fixtures" / "online-boutique"

# the app's own flows: each *_ADDR env var of its Deployments (expectations.yaml)
FLOWS = (
    {
        ("frontend", to)
        for to in (
            "adservice",
            "cartservice",
            "checkoutservice",
            "currencyservice",
            "productcatalogservice",
            "recommendationservice",
            "shippingservice",
        )
    }
    | {
        ("checkoutservice", to)
        for to in (
            "productcatalogservice",
            "shippingservice",
            "paymentservice",
            "emailservice",
            "currencyservice",
            "cartservice",
        )
    }
    | {
        ("recommendationservice", "productcatalogservice"),
        ("cartservice", "redis-cart"),
        ("loadgenerator", "frontend"),
    }
)


def test_the_component_s_policies_are_read() -> None:
    run = run_cli("validate", "-k", str(FIXTURE))
    assert run.code == 0, run.err
    assert run.out.startswith("valid: 13 NetworkPolicies, 12 pods, 12 services")
    assert "not applied" not in run.err  # it was "components: not applied" with 0 policies


def test_the_expectations_file_passes() -> None:
    run = run_cli("test", "-k", str(FIXTURE), str(FIXTURE / "expectations.yaml"))
    assert run.code == 0, run.out + run.err
    assert run.out.rstrip().endswith("28 passed, 0 failed")


def test_the_matrix_is_the_app_s_flows_plus_the_open_frontend() -> None:
    run = run_cli("matrix", "-k", str(FIXTURE), "-o", "json")
    assert run.code == 0, run.err
    cells = json.loads(run.out)["cells"]
    states: dict[str, set[tuple[str, str]]] = {}
    for cell in cells:
        pair = (cell["from"].rsplit("/", 1)[1], cell["to"].rsplit("/", 1)[1])
        if pair[0] != pair[1]:
            states.setdefault(cell["state"], set()).add(pair)
    names = {name for pair in FLOWS for name in pair}
    assert len(names) == 12
    # the frontend's policy admits everyone (ingress: [{}]); the load generator
    # declares no port, so nothing can be probed towards it
    open_frontend = {(name, "frontend") for name in names if name != "frontend"}
    assert states["all"] == FLOWS | open_frontend
    assert len(states["all"]) == 26
    assert states["none"] == {(name, "loadgenerator") for name in names - {"loadgenerator"}}
    assert len(states["no"]) == 95  # every other flow is denied
    assert ("frontend", "redis-cart") in states["no"]
    assert ("loadgenerator", "checkoutservice") in states["no"]
