"""deploy/compose.yaml, checked without a Docker daemon: every service is there, and every command and setting
of the hub's own services is one the code accepts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.cli import build_parser
from hub.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ENV_EXAMPLE = DEPLOY.parent / ".env.example"


def _services() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services: dict[str, dict[str, Any]] = document["services"]
    return services


def _hub_services() -> dict[str, dict[str, Any]]:
    return {name: service for name, service in _services().items() if service.get("command", [""])[0] == "hub"}


def test_compose_has_the_stack_of_several_machines() -> None:
    services = _services()
    assert {"postgres", "redis", "prefect", "migrate", "hub-a", "hub-b", "worker", "proxy"} <= services.keys()
    assert services["worker"]["deploy"]["replicas"] == 3


@pytest.mark.parametrize("name", sorted(_hub_services()))
def test_each_hub_command_is_one_the_cli_accepts(name: str) -> None:
    command = _hub_services()[name]["command"]
    arguments = build_parser().parse_args(command[1:])
    assert arguments.command == command[1]


@pytest.mark.parametrize("name", sorted(_hub_services()))
def test_each_hub_service_environment_is_valid_settings(name: str) -> None:
    environment = {key: str(value) for key, value in _hub_services()[name]["environment"].items()}
    settings = Settings.from_env(environment, env_file=None)
    assert settings.database_url.url.startswith("postgresql://")


def test_every_hub_setting_in_compose_is_documented_in_env_example() -> None:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    used = {key for service in _hub_services().values() for key in service["environment"] if key.startswith("HUB_")}
    assert used - documented == set()


def test_hubs_and_workers_start_only_after_migrate_succeeded() -> None:
    for name, service in _hub_services().items():
        if name == "migrate":
            continue
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name


def test_the_proxy_balances_every_hub_and_upgrades_sockets() -> None:
    config = (DEPLOY / "nginx.conf").read_text()
    hubs = [name for name, service in _hub_services().items() if service["command"][1] == "serve"]
    port = {name: _hub_services()[name]["environment"]["HUB_PORT"] for name in hubs}
    for name in hubs:
        assert f"server {name}:{port[name]}" in config
    assert "proxy_set_header Upgrade $http_upgrade;" in config
    assert _services()["proxy"]["depends_on"] == hubs
