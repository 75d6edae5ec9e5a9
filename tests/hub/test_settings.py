"""Settings: read from the environment and .env, the environment winning, bad values named."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from hub.errors import SettingsError
from hub.settings import Engine, Settings


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HUB_PORT=9000\nHUB_ENGINE=native\nOPENAI_API_KEY='sk-from-file'\n")
    settings = Settings.from_env({"HUB_PORT": "9100"}, env_file)
    assert (settings.port, settings.engine, settings.nodes.openai.api_key) == (9100, Engine.NATIVE, "sk-from-file")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_PORT", "eighty"),
        ("HUB_ENGINE", "celery"),
        ("HUB_WORKER_LEASE_SECONDS", "0"),
        ("SMTP_STARTTLS", "maybe"),
        ("HUB_EGRESS_ALLOW", "10.0.0.0/8,not a host"),
        ("HUB_HTTP_MAX_RESPONSE_MB", "0"),
    ],
)
def test_a_bad_value_is_refused_with_the_variable_named(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value}, None)


def test_secrets_are_collected_for_redaction_including_passwords_in_urls() -> None:
    settings = Settings.from_env(
        {
            "OPENAI_API_KEY": "sk-1234",
            "HUB_MYSQL_REPORTS_URL": "mysql://app:s3cr%40t@db/reports",
            "REDIS_URL": "redis://:redispass@localhost:6379/0",
        },
        None,
    )
    assert {"sk-1234", "s3cr@t", "s3cr%40t", "redispass"} <= set(settings.secrets())
    assert settings.nodes.mysql_urls == {"reports": "mysql://app:s3cr%40t@db/reports"}


def test_the_upload_limit_also_bounds_what_nodes_download() -> None:
    settings = Settings.from_env({"HUB_MAX_UPLOAD_MB": "5"}, None)
    assert (settings.max_upload_mb, settings.nodes.max_file_mb) == (5.0, 5.0)


def test_the_mysql_timeout_is_a_setting_and_not_a_connection() -> None:
    settings = Settings.from_env(
        {"HUB_MYSQL_TIMEOUT_SECONDS": "4.5", "HUB_MYSQL_DEFAULT_URL": "mysql://root:@127.0.0.1/test"}, None
    )
    assert settings.nodes.mysql_timeout_seconds == 4.5
    assert settings.nodes.mysql_urls == {"default": "mysql://root:@127.0.0.1/test"}


def test_the_egress_policy_allows_the_listed_holes_and_the_operators_base_urls() -> None:
    settings = Settings.from_env(
        {"HUB_EGRESS_ALLOW": "127.0.0.1:9000", "ESIOS_BASE_URL": "http://127.0.0.1:4010"}, None
    )
    policy = settings.nodes.egress_policy()
    loopback = ipaddress.ip_address("127.0.0.1")
    assert [port for port in (9000, 4010, 8000) if policy.allowed("127.0.0.1", loopback, port)] == [9000, 4010]
