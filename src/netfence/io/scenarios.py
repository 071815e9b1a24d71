"""Bundled scenarios: package data, found through importlib.resources."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from netfence.errors import TargetError
from netfence.io.manifests import read_text
from netfence.parse.scenario import Scenario, parse_scenario


def scenarios_root() -> Path:
    return Path(str(resources.files("netfence") / "scenarios"))


def bundled_names() -> list[str]:
    return sorted(p.parent.name for p in scenarios_root().glob("*/scenario.yaml"))


def scenario_dir(name: str) -> Path:
    path = scenarios_root() / name
    if not (path / "scenario.yaml").is_file():
        raise TargetError(f"no bundled scenario {name!r} (bundled: {', '.join(bundled_names())})")
    return path


def load_scenario(name: str) -> tuple[Scenario, Path]:
    directory = scenario_dir(name)
    file = directory / "scenario.yaml"
    return parse_scenario(yaml.safe_load(read_text(str(file))), str(file)), directory
