"""Settings: read from the environment and .env, the environment winning, bad values named."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.errors import SettingsError
from hub.settings import Engine, Settings, webhook_signing_key


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HUB_PORT=9000\nHUB_ENGINE=native\nOPENAI_API_KEY='sk-from-file'\n")
    settings = Settings.from_env({"HUB_PORT": "9100"}, env_file)
    assert (settings.port, settings.engine, settings.nodes.openai.api_key) == (9100, Engine.NATIVE, "sk-from-file")


@pytest.mark.parametrize(
    ("name", "value"),
    [("HUB_PORT", "eighty"), ("HUB_ENGINE", "celery"), ("HUB_WORKER_LEASE_SECONDS", "0"), ("SMTP_STARTTLS", "maybe")],
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


def test_by_default_the_hub_answers_loopback_names_its_host_and_its_public_url() -> None:
    settings = Settings.from_env({"HUB_HOST": "hub.internal", "HUB_PUBLIC_URL": "https://hub.example.com"}, None)
    assert settings.trusted_hosts() == ["localhost", "127.0.0.1", "hub.internal", "hub.example.com"]


def test_a_hub_listening_on_every_address_does_not_trust_every_host() -> None:
    assert Settings.from_env({"HUB_HOST": "0.0.0.0"}, None).trusted_hosts() == ["localhost", "127.0.0.1"]


def test_hub_allowed_hosts_replaces_the_default_list() -> None:
    settings = Settings.from_env({"HUB_ALLOWED_HOSTS": "hub.example.com, *.example.org"}, None)
    assert settings.trusted_hosts() == ["hub.example.com", "*.example.org"]


def test_allowed_origins_are_normalised_and_include_the_public_url() -> None:
    settings = Settings.from_env(
        {
            "HUB_ALLOWED_ORIGINS": "https://App.example/,http://localhost:3000",
            "HUB_PUBLIC_URL": "https://hub.example/x",
        },
        None,
    )
    assert settings.own_origins() == {"https://app.example", "http://localhost:3000", "https://hub.example"}


def test_a_whsec_webhook_secret_that_is_not_base64_is_refused_without_showing_it() -> None:
    with pytest.raises(SettingsError, match="HUB_WEBHOOK_SECRET") as raised:
        Settings.from_env({"HUB_WEBHOOK_SECRET": "whsec_not*base64!"}, None)
    assert "not*base64" not in str(raised.value)


def test_a_webhook_secret_in_whsec_form_is_keyed_by_its_decoded_bytes() -> None:
    assert webhook_signing_key("whsec_c2VjcmV0LWtleQ==") == b"secret-key"
    assert webhook_signing_key("whsec_c2VjcmV0LWtleQ") == b"secret-key"
    assert webhook_signing_key("plain secret") == b"plain secret"


def test_request_limits_are_settings() -> None:
    settings = Settings.from_env({"HUB_MAX_BODY_MB": "2", "HUB_MAX_NODES": "50", "HUB_MAX_CONNECTIONS": "80"}, None)
    assert (settings.max_body_mb, settings.max_nodes, settings.max_connections) == (2.0, 50, 80)
