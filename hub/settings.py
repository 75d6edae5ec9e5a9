"""One typed settings object, read from the environment and ``.env`` (the environment wins)."""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dotenv import dotenv_values

from handlers.egress import AllowRule, parse_allow
from handlers.settings import (
    ClimatiqSettings,
    EsiosSettings,
    NodeSettings,
    OpenAISettings,
    SmtpSettings,
    TemplateLimits,
    TwilioSettings,
)
from hub.errors import SettingsError


class Engine(StrEnum):
    PREFECT = "prefect"
    NATIVE = "native"


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Settings:
    """How to reach an S3-compatible store; unset credentials leave botocore's own chain to find them."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None


@dataclass(frozen=True)
class FileStoreSettings:
    """``HUB_FILES_URL``, read: a folder (``file://``), or a bucket and key prefix (``s3://``)."""

    folder: Path = Path("data/files")
    bucket: str | None = None
    prefix: str = ""
    s3: S3Settings = field(default_factory=S3Settings)

    @property
    def url(self) -> str:
        """Where uploads live, as people configure it (credentials are never part of it)."""
        if self.bucket is None:
            return self.folder.absolute().as_uri()
        return f"s3://{self.bucket}/{self.prefix}"


class DatabaseKind(StrEnum):
    SQLITE = "sqlite"
    POSTGRES = "postgresql"


@dataclass(frozen=True)
class DatabaseUrl:
    """Where the store lives: ``sqlite:///relative/path``, ``sqlite:////absolute/path`` (as SQLAlchemy
    writes them) or ``postgresql://user:password@host:5432/db``."""

    kind: DatabaseKind
    url: str
    path: Path | None = None

    @classmethod
    def sqlite(cls, path: Path) -> DatabaseUrl:
        return cls(DatabaseKind.SQLITE, f"sqlite:///{path}", path)

    @classmethod
    def parse(cls, text: str, name: str = "HUB_DATABASE_URL") -> DatabaseUrl:
        scheme, separator, rest = text.partition("://")
        if scheme == "sqlite" and separator:
            path = rest[1:] if rest.startswith("/") else ""
            if not path:
                raise SettingsError(f"{name} must name the SQLite file, as sqlite:///path/to/hub.sqlite3")
            return cls(DatabaseKind.SQLITE, text, Path(path))
        if scheme in ("postgresql", "postgres") and separator:
            parts = urlsplit(text)
            if not parts.hostname or not parts.path.strip("/"):
                raise SettingsError(f"{name} must name the host and the database, as postgresql://host:5432/db")
            return cls(DatabaseKind.POSTGRES, text)
        raise SettingsError(f"{name} must start with sqlite:/// or postgresql://; got {_without_password(text)!r}")

    @property
    def password(self) -> str | None:
        return urlsplit(self.url).password if self.kind is DatabaseKind.POSTGRES else None

    def __str__(self) -> str:
        return _without_password(self.url)


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


@dataclass(frozen=True)
class Settings:
    """Everything the hub and its workers can be told. ``.env.example`` documents each variable."""

    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout_seconds: float = 2.0
    database_url: DatabaseUrl = DatabaseUrl.sqlite(Path("data/hub.sqlite3"))
    database_pool_size: int = 5
    data_dir: Path = Path("data")
    engine: Engine = Engine.PREFECT
    prefect_api_url: str | None = None
    queue_name: str = "hub:queue"
    worker_concurrency: int = 20
    lease_seconds: float = 30.0
    grace_seconds: float = 30.0
    socket_queue_size: int = 1000
    socket_check_seconds: float = 30.0
    max_upload_mb: float = 50.0
    files: FileStoreSettings = field(default_factory=FileStoreSettings)
    max_body_mb: float = 10.0
    max_nodes: int = 1000
    max_connections: int = 5000
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] | None = None
    webhook_secret: str | None = None
    webhook_max_attempts: int = 8
    webhook_retry_seconds: float = 5.0
    delivery_timeout_seconds: float = 10.0
    idempotency_ttl_hours: float = 24.0
    vapid_public_key: str | None = None
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:admin@localhost"
    public_url: str | None = None
    api_token: str | None = None
    log_level: str = "INFO"
    nodes: NodeSettings = field(default_factory=NodeSettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
        values: dict[str, str] = {}
        if env_file is not None and Path(env_file).is_file():
            values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        values.update(os.environ if environ is None else environ)
        read = _Reader(values)
        data_dir = Path(read.text("HUB_DATA_DIR", "data"))
        return cls(
            host=read.text("HUB_HOST", cls.host),
            port=read.integer("HUB_PORT", cls.port, minimum=0, maximum=65535),
            redis_url=read.text("REDIS_URL", cls.redis_url),
            redis_timeout_seconds=read.number("HUB_REDIS_TIMEOUT_SECONDS", cls.redis_timeout_seconds, minimum=0.01),
            database_url=_database_url(read, data_dir),
            database_pool_size=read.integer("HUB_DATABASE_POOL_SIZE", cls.database_pool_size, minimum=1),
            data_dir=data_dir,
            engine=Engine(read.choice("HUB_ENGINE", cls.engine.value, [e.value for e in Engine])),
            prefect_api_url=read.optional("PREFECT_API_URL"),
            queue_name=read.text("HUB_QUEUE", cls.queue_name),
            worker_concurrency=read.integer("HUB_WORKER_CONCURRENCY", cls.worker_concurrency, minimum=1),
            lease_seconds=read.number("HUB_WORKER_LEASE_SECONDS", cls.lease_seconds, minimum=1),
            grace_seconds=read.number("HUB_WORKER_GRACE_SECONDS", cls.grace_seconds, minimum=0),
            socket_queue_size=read.integer("HUB_SOCKET_QUEUE", cls.socket_queue_size, minimum=10),
            socket_check_seconds=read.number("HUB_SOCKET_CHECK_SECONDS", cls.socket_check_seconds, minimum=0.1),
            max_upload_mb=read.number("HUB_MAX_UPLOAD_MB", cls.max_upload_mb, minimum=0.001),
            files=_file_store_settings(read, data_dir),
            max_body_mb=read.number("HUB_MAX_BODY_MB", cls.max_body_mb, minimum=0.001),
            max_nodes=read.integer("HUB_MAX_NODES", cls.max_nodes, minimum=1),
            max_connections=read.integer("HUB_MAX_CONNECTIONS", cls.max_connections, minimum=0),
            allowed_origins=tuple(read.listed("HUB_ALLOWED_ORIGINS")),
            allowed_hosts=tuple(read.listed("HUB_ALLOWED_HOSTS")) or None,
            webhook_secret=read.webhook_secret("HUB_WEBHOOK_SECRET"),
            webhook_max_attempts=read.integer("HUB_WEBHOOK_MAX_ATTEMPTS", cls.webhook_max_attempts, minimum=1),
            webhook_retry_seconds=read.number("HUB_WEBHOOK_RETRY_SECONDS", cls.webhook_retry_seconds, minimum=0.01),
            delivery_timeout_seconds=read.number(
                "HUB_DELIVERY_TIMEOUT_SECONDS", cls.delivery_timeout_seconds, minimum=0.01
            ),
            idempotency_ttl_hours=read.number("HUB_IDEMPOTENCY_TTL_HOURS", cls.idempotency_ttl_hours, minimum=0),
            vapid_public_key=read.optional("HUB_VAPID_PUBLIC_KEY"),
            vapid_private_key=read.optional("HUB_VAPID_PRIVATE_KEY"),
            vapid_subject=read.text("HUB_VAPID_SUBJECT", cls.vapid_subject),
            public_url=read.optional("HUB_PUBLIC_URL"),
            api_token=read.optional("HUB_API_TOKEN"),
            log_level=read.choice("HUB_LOG_LEVEL", cls.log_level, ["DEBUG", "INFO", "WARNING", "ERROR"]),
            nodes=_node_settings(read),
        )

    def trusted_hosts(self) -> list[str]:
        """The Host headers the hub answers: ``HUB_ALLOWED_HOSTS``, or else the loopback names, ``HUB_HOST``
        (unless it listens on every address) and ``HUB_PUBLIC_URL``'s host. A page on another name that
        resolves to this machine (DNS rebinding) is same-origin with itself, so only the Host check stops it."""
        if self.allowed_hosts is not None:
            return list(self.allowed_hosts)
        hosts = ["localhost", "127.0.0.1"]
        if self.host not in _WILDCARD_ADDRESSES:
            hosts.append(self.host)
        if self.public_url and urlsplit(self.public_url).hostname:
            hosts.append(str(urlsplit(self.public_url).hostname))
        return list(dict.fromkeys(hosts))

    def own_origins(self) -> frozenset[str]:
        """Origins besides the request's own that may send state-changing requests, lower-cased, without a
        trailing slash, as browsers write them in ``Origin``."""
        origins = {origin.rstrip("/").lower() for origin in self.allowed_origins}
        if self.public_url:
            public = urlsplit(self.public_url)
            origins.add(f"{public.scheme}://{public.netloc}".lower())
        return frozenset(origins)

    def secrets(self) -> list[str]:
        """Every secret value the hub knows, so logs, events and outputs can be scrubbed of them."""
        found = [
            *self.nodes.secrets(),
            self.webhook_secret,
            self.vapid_private_key,
            self.api_token,
            self.files.s3.secret_access_key,
            self.files.s3.session_token,
            urlsplit(self.redis_url).password,
            self.database_url.password,
            unquote(self.database_url.password or ""),
        ]
        return [value for value in found if value and len(value) >= 4]


def _file_store_settings(read: _Reader, data_dir: Path) -> FileStoreSettings:
    url = read.optional("HUB_FILES_URL")
    s3 = S3Settings(
        endpoint_url=read.url("HUB_S3_ENDPOINT_URL"),
        region=read.optional("AWS_REGION") or read.optional("AWS_DEFAULT_REGION"),
        access_key_id=read.optional("AWS_ACCESS_KEY_ID"),
        secret_access_key=read.optional("AWS_SECRET_ACCESS_KEY"),
        session_token=read.optional("AWS_SESSION_TOKEN"),
    )
    if url is None:
        return FileStoreSettings(folder=data_dir / "files", s3=s3)
    parts = urlsplit(url)
    if parts.scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/"):
            raise SettingsError(
                f"HUB_FILES_URL must name an absolute folder, such as file:///srv/hub/files; got {url!r}"
            )
        return FileStoreSettings(folder=Path(path), s3=s3)
    if parts.scheme == "s3":
        if "@" in parts.netloc:
            raise SettingsError("HUB_FILES_URL takes no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        if not _BUCKET.match(parts.netloc):
            raise SettingsError(f"HUB_FILES_URL must name a bucket, such as s3://my-bucket/uploads; got {url!r}")
        if parts.query or parts.fragment:
            raise SettingsError(f"HUB_FILES_URL takes no query or fragment; got {url!r}")
        prefix = parts.path.strip("/")
        return FileStoreSettings(bucket=parts.netloc, prefix=f"{prefix}/" if prefix else "", s3=s3)
    raise SettingsError(f"HUB_FILES_URL must start with file:// or s3://; got {url!r}")


_WILDCARD_ADDRESSES = frozenset({"0.0.0.0", "::", ""})
WEBHOOK_SECRET_PREFIX = "whsec_"


def webhook_signing_key(secret: str) -> bytes:
    """The HMAC key of a webhook secret: the base64 after ``whsec_`` (the Standard Webhooks form), or else
    the secret's own UTF-8 bytes. Raises ``ValueError`` for a ``whsec_`` secret that is not base64."""
    if secret.startswith(WEBHOOK_SECRET_PREFIX):
        encoded = secret[len(WEBHOOK_SECRET_PREFIX) :]
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except binascii.Error:
            raise ValueError("what follows whsec_ is not base64") from None
        if not key:
            raise ValueError("what follows whsec_ is empty")
        return key
    return secret.encode()


def _database_url(read: _Reader, data_dir: Path) -> DatabaseUrl:
    url, path = read.optional("HUB_DATABASE_URL"), read.optional("HUB_DATABASE")
    if url is not None and path is not None:
        raise SettingsError("Set HUB_DATABASE_URL or HUB_DATABASE (a SQLite file's path), not both")
    if url is not None:
        return DatabaseUrl.parse(url)
    return DatabaseUrl.sqlite(Path(path) if path is not None else data_dir / "hub.sqlite3")


def _node_settings(read: _Reader) -> NodeSettings:
    return NodeSettings(
        http_timeout_seconds=read.number("HUB_HTTP_TIMEOUT_SECONDS", 30.0, minimum=0.001),
        max_response_mb=read.number("HUB_HTTP_MAX_RESPONSE_MB", NodeSettings.max_response_mb, minimum=0.001),
        egress_allow=read.egress_allow("HUB_EGRESS_ALLOW"),
        max_file_mb=read.number("HUB_MAX_UPLOAD_MB", Settings.max_upload_mb, minimum=0.001),
        max_uncompressed_mb=read.number("HUB_MAX_UNCOMPRESSED_MB", NodeSettings.max_uncompressed_mb, minimum=0.001),
        join_max_rows=read.integer("HUB_JOIN_MAX_ROWS", NodeSettings.join_max_rows, minimum=1),
        templates=TemplateLimits(
            max_chars=read.integer("HUB_TEMPLATE_MAX_CHARS", TemplateLimits.max_chars, minimum=1),
            max_workflow_chars=read.integer(
                "HUB_TEMPLATE_MAX_WORKFLOW_CHARS", TemplateLimits.max_workflow_chars, minimum=1
            ),
            max_output_kb=read.integer("HUB_TEMPLATE_MAX_OUTPUT_KB", TemplateLimits.max_output_kb, minimum=1),
            max_iterations=read.integer("HUB_TEMPLATE_MAX_ITERATIONS", TemplateLimits.max_iterations, minimum=1),
            max_seconds=read.number("HUB_TEMPLATE_MAX_SECONDS", TemplateLimits.max_seconds, minimum=0.001),
        ),
        openai=OpenAISettings(
            api_key=read.optional("OPENAI_API_KEY"),
            base_url=read.optional("OPENAI_BASE_URL"),
            timeout_seconds=read.number("OPENAI_TIMEOUT_SECONDS", 120.0, minimum=0.001),
        ),
        smtp=SmtpSettings(
            host=read.optional("SMTP_HOST"),
            port=read.integer("SMTP_PORT", 587, minimum=1, maximum=65535),
            user=read.optional("SMTP_USER"),
            password=read.optional("SMTP_PASSWORD"),
            starttls=read.boolean("SMTP_STARTTLS", True),
            sender=read.optional("SMTP_FROM"),
            timeout_seconds=read.number("SMTP_TIMEOUT_SECONDS", 30.0, minimum=0.001),
        ),
        twilio=TwilioSettings(
            account_sid=read.optional("TWILIO_ACCOUNT_SID"),
            auth_token=read.optional("TWILIO_AUTH_TOKEN"),
            sender=read.optional("TWILIO_FROM"),
            base_url=read.text("TWILIO_BASE_URL", TwilioSettings.base_url),
        ),
        esios=EsiosSettings(
            api_token=read.optional("ESIOS_API_TOKEN"),
            base_url=read.text("ESIOS_BASE_URL", EsiosSettings.base_url),
        ),
        climatiq=ClimatiqSettings(
            api_key=read.optional("CLIMATIQ_API_KEY"),
            base_url=read.text("CLIMATIQ_BASE_URL", ClimatiqSettings.base_url),
            concurrency=read.integer("CLIMATIQ_CONCURRENCY", ClimatiqSettings.concurrency, minimum=1, maximum=64),
        ),
        mysql_urls=read.prefixed("HUB_MYSQL_", "_URL"),
        mysql_timeout_seconds=read.number("HUB_MYSQL_TIMEOUT_SECONDS", 30.0, minimum=0.001),
    )


class _Reader:
    """Typed reads of string settings, each failing with a message that names the variable."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = values

    def optional(self, name: str) -> str | None:
        value = self._values.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def url(self, name: str) -> str | None:
        value = self.optional(name)
        if value is not None and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
            raise SettingsError(f"{name} must be an http:// or https:// address; got {value!r}")
        return value

    def choice(self, name: str, default: str, choices: list[str]) -> str:
        value = self.text(name, default)
        matches = [choice for choice in choices if choice.lower() == value.lower()]
        if not matches:
            raise SettingsError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
        return matches[0]

    def boolean(self, name: str, default: bool) -> bool:
        value = self.optional(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be true or false; got {value!r}")

    def number(self, name: str, default: float, *, minimum: float | None = None) -> float:
        value = self.optional(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name} must be a number; got {value!r}") from None
        if minimum is not None and number < minimum:
            raise SettingsError(f"{name} must be at least {minimum:g}; got {value!r}")
        return number

    def integer(self, name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self.optional(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number; got {value!r}") from None
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            raise SettingsError(f"{name} must be between {minimum} and {maximum}; got {value!r}")
        return number

    def egress_allow(self, name: str) -> tuple[AllowRule, ...]:
        try:
            return parse_allow(self.optional(name) or "")
        except ValueError as error:
            raise SettingsError(f"{name}: {error}") from None

    def listed(self, name: str) -> list[str]:
        """A comma-separated list, blanks dropped."""
        return [item.strip() for item in (self.optional(name) or "").split(",") if item.strip()]

    def webhook_secret(self, name: str) -> str | None:
        value = self.optional(name)
        if value is not None:
            try:
                webhook_signing_key(value)
            except ValueError as error:
                raise SettingsError(f"{name} is not a usable secret: {error}") from None
        return value

    def prefixed(self, prefix: str, suffix: str) -> dict[str, str]:
        """``HUB_MYSQL_DEFAULT_URL`` and friends, keyed by the lower-cased middle part (``default``)."""
        return {
            name[len(prefix) : -len(suffix)].lower(): value
            for name, value in self._values.items()
            if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix) + len(suffix) and value
        }
