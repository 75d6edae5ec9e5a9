"""Settings: read from the environment and .env, the environment winning, bad values named."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from hub.errors import SettingsError
from hub.settings import DatabaseKind, DatabaseUrl, Engine, Settings, webhook_signing_key


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
        ("HUB_DATABASE_POOL_SIZE", "0"),
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


def test_the_database_defaults_to_a_sqlite_file_under_the_data_dir() -> None:
    settings = Settings.from_env({"HUB_DATA_DIR": "/srv/hub"}, None)
    assert settings.database_url == DatabaseUrl.sqlite(Path("/srv/hub/hub.sqlite3"))


def test_hub_database_still_names_the_sqlite_file() -> None:
    settings = Settings.from_env({"HUB_DATABASE": "/srv/hub/other.sqlite3"}, None)
    assert (settings.database_url.kind, settings.database_url.path) == (
        DatabaseKind.SQLITE,
        Path("/srv/hub/other.sqlite3"),
    )


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///data/hub.sqlite3", Path("data/hub.sqlite3")),
        ("sqlite:////var/lib/hub.sqlite3", Path("/var/lib/hub.sqlite3")),
    ],
)
def test_a_sqlite_url_names_a_relative_or_an_absolute_file(url: str, path: Path) -> None:
    assert Settings.from_env({"HUB_DATABASE_URL": url}, None).database_url.path == path


def test_a_postgresql_url_is_kept_whole_and_its_password_is_a_secret() -> None:
    settings = Settings.from_env({"HUB_DATABASE_URL": "postgresql://hub:pg%2Fpass@db.internal:5432/hub"}, None)
    assert (settings.database_url.kind, settings.database_url.url) == (
        DatabaseKind.POSTGRES,
        "postgresql://hub:pg%2Fpass@db.internal:5432/hub",
    )
    assert {"pg%2Fpass", "pg/pass"} <= set(settings.secrets())
    assert "pg%2Fpass" not in str(settings.database_url)


@pytest.mark.parametrize("url", ["mysql://db/hub", "sqlite://", "postgresql://db.internal:5432/", "postgresql:///hub"])
def test_a_database_url_that_cannot_be_used_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(SettingsError, match="HUB_DATABASE_URL"):
        Settings.from_env({"HUB_DATABASE_URL": url}, None)


def test_hub_database_url_and_hub_database_together_are_refused() -> None:
    with pytest.raises(SettingsError, match="HUB_DATABASE_URL or HUB_DATABASE"):
        Settings.from_env({"HUB_DATABASE_URL": "sqlite:///a.sqlite3", "HUB_DATABASE": "b.sqlite3"}, None)


def test_uploads_live_in_the_files_folder_of_the_data_dir_by_default(tmp_path: Path) -> None:
    files = Settings.from_env({"HUB_DATA_DIR": str(tmp_path)}, None).files
    assert (files.folder, files.bucket, files.url) == (tmp_path / "files", None, (tmp_path / "files").as_uri())


def test_a_file_url_names_the_folder_uploads_live_in() -> None:
    files = Settings.from_env({"HUB_FILES_URL": "file:///srv/shared%20volume/files"}, None).files
    assert (files.folder, files.bucket) == (Path("/srv/shared volume/files"), None)


def test_an_s3_url_names_the_bucket_and_prefix_with_how_to_reach_it() -> None:
    settings = Settings.from_env(
        {
            "HUB_FILES_URL": "s3://hub-uploads/prod/files/",
            "HUB_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "AWS_ACCESS_KEY_ID": "access",
            "AWS_SECRET_ACCESS_KEY": "secret-key-1234",
            "AWS_DEFAULT_REGION": "eu-west-1",
        },
        None,
    )
    files = settings.files
    assert (files.bucket, files.prefix, files.url) == ("hub-uploads", "prod/files/", "s3://hub-uploads/prod/files/")
    assert (files.s3.endpoint_url, files.s3.region, files.s3.access_key_id) == (
        "http://127.0.0.1:9000",
        "eu-west-1",
        "access",
    )
    assert "secret-key-1234" in settings.secrets()


def test_aws_region_wins_over_aws_default_region() -> None:
    settings = Settings.from_env({"AWS_REGION": "eu-south-2", "AWS_DEFAULT_REGION": "us-east-1"}, None)
    assert settings.files.s3.region == "eu-south-2"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_FILES_URL", "files/relative"),
        ("HUB_FILES_URL", "file://relative/files"),
        ("HUB_FILES_URL", "ftp://host/files"),
        ("HUB_FILES_URL", "s3:///no-bucket"),
        ("HUB_FILES_URL", "s3://Bad_Bucket/files"),
        ("HUB_S3_ENDPOINT_URL", "127.0.0.1:9000"),
    ],
)
def test_a_file_store_setting_that_cannot_be_used_is_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value}, None)


def test_credentials_in_an_s3_url_are_refused_without_repeating_them() -> None:
    with pytest.raises(SettingsError, match="HUB_FILES_URL takes no credentials") as refused:
        Settings.from_env({"HUB_FILES_URL": "s3://key:hidden-secret@bucket/files"}, None)
    assert "hidden-secret" not in str(refused.value)


def test_the_egress_policy_allows_the_listed_holes_and_the_operators_base_urls() -> None:
    settings = Settings.from_env(
        {"HUB_EGRESS_ALLOW": "127.0.0.1:9000", "ESIOS_BASE_URL": "http://127.0.0.1:4010"}, None
    )
    policy = settings.nodes.egress_policy()
    loopback = ipaddress.ip_address("127.0.0.1")
    assert [port for port in (9000, 4010, 8000) if policy.allowed("127.0.0.1", loopback, port)] == [9000, 4010]


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
