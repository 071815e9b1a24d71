"""The retail flow fixtures are tests/flows/retail_traffic.py's output: the same
traffic in every format (NETFENCE_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

import pytest
from tests.conftest import ROOT, assert_golden
from tests.flows.retail_traffic import FIXTURES


@pytest.mark.parametrize("name", list(FIXTURES))
def test_fixture_is_the_traffic_module_output(name: str) -> None:
    assert_golden(name, "\n".join(FIXTURES[name]()) + "\n", ROOT / "tests" / "fixtures" / "flows")
