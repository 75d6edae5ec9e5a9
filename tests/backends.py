"""Real servers the tests talk to: an aiosmtpd SMTP server, databases of their own on the machine's MariaDB and
PostgreSQL, and moto's standalone S3 server."""

from __future__ import annotations

import email
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import httpx
import psycopg
import pymysql
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from hub.processes import free_port, terminate

REFUSED_DOMAIN = "refused.example"
"""The mail server refuses every recipient at this domain, as a server refuses an unknown mailbox."""


@dataclass(frozen=True)
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage


class MailServer:
    """An SMTP server (aiosmtpd) on a free port; with a user and password it offers AUTH and checks them."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.user, self.password = user, password
        self.received: list[ReceivedMail] = []
        self.port = free_port()
        options: dict[str, Any] = {}
        if user is not None:
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)

    def __enter__(self) -> MailServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def env(self) -> dict[str, str]:
        """The settings that point the sendEmail node at this server."""
        env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_STARTTLS": "false"}
        env["SMTP_FROM"] = "hub@example.com"
        if self.user is not None and self.password is not None:
            env.update({"SMTP_USER": self.user, "SMTP_PASSWORD": self.password})
        return env

    def messages_to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.received if address in mail.recipients]

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        expected = LoginPassword((self.user or "").encode(), (self.password or "").encode())
        return AuthResult(success=isinstance(data, LoginPassword) and data == expected, handled=False)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.endswith(f"@{REFUSED_DOMAIN}"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class MariaDBAccount:
    """A database and a user with a password of their own, on the machine's MariaDB (127.0.0.1:3306)."""

    database: str = field(default_factory=lambda: f"hub_test_{secrets.token_hex(4)}")
    user: str = field(default_factory=lambda: f"hub_test_{secrets.token_hex(4)}")
    password: str = field(default_factory=lambda: f"pw-{secrets.token_hex(8)}")
    host: str = "127.0.0.1"
    port: int = 3306

    @property
    def url(self) -> str:
        return f"mysql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"

    def connect(self) -> pymysql.connections.Connection[Any]:
        """A plain connection as the test user, for the test's own checks."""
        return pymysql.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, database=self.database
        )


@contextmanager
def mariadb_account(account: MariaDBAccount) -> Iterator[MariaDBAccount]:
    """Creates the account's database and user as root, and drops both afterwards.

    MariaDB not answering skips the tests that need it on a developer's machine, and fails them in CI,
    where .ci/run starts it.
    """
    try:
        root = pymysql.connect(host=account.host, port=account.port, user="root", password="", autocommit=True)
    except pymysql.MySQLError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"MariaDB is not answering on {account.host}:{account.port}: {error}")
    try:
        with root.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{account.database}` CHARACTER SET utf8mb4")
            cursor.execute(f"CREATE USER '{account.user}'@'{account.host}' IDENTIFIED BY %s", (account.password,))
            cursor.execute(f"GRANT ALL ON `{account.database}`.* TO '{account.user}'@'{account.host}'")
        yield account
    finally:
        with root.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{account.database}`")
            cursor.execute(f"DROP USER IF EXISTS '{account.user}'@'{account.host}'")
        root.close()


POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
"""The machine's PostgreSQL (trust authentication), where each test run creates a database of its own."""
_POSTGRES_PREFIX = "hub_test_"


def postgres_url(database: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


@contextmanager
def postgres_database() -> Iterator[str]:
    """Creates a database with a random name on the machine's PostgreSQL, yields its URL, and drops it.

    Each database is labelled with the pid and host of the run that made it, so a later run drops those whose run died
    before its own clean-up (never another live run's). PostgreSQL not answering skips the tests that need it
    on a developer's machine, and fails them in CI, where .ci/run starts it.
    """
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"PostgreSQL is not answering at 127.0.0.1:5432: {error}")
    name = f"{_POSTGRES_PREFIX}{secrets.token_hex(6)}"
    try:
        _drop_orphans(admin)
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute(f"COMMENT ON DATABASE \"{name}\" IS '{_label(os.getpid())}'")
        yield postgres_url(name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@contextmanager
def postgres_schema(database_url: str) -> Iterator[str]:
    """A schema of its own in the run's database, for one test: yields a URL whose connections work in it
    (``search_path``), and drops it with everything in it afterwards. Cheaper than a database per test."""
    name = f"test_{secrets.token_hex(6)}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{database_url}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')


@contextmanager
def postgres_stack_env(database_url: str) -> Iterator[dict[str, str]]:
    """The settings that put a hub stack on a schema of its own in the run's PostgreSQL database, made by
    ``hub migrate`` (``hub serve`` and ``hub worker`` refuse a PostgreSQL schema that is not current)."""
    with postgres_schema(database_url) as url:
        env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
        subprocess.run([sys.executable, "-m", "hub", "migrate"], env={**env, "HUB_DATABASE_URL": url}, check=True)
        yield {"HUB_DATABASE_URL": url}


def _drop_orphans(admin: psycopg.Connection[Any]) -> None:
    rows = admin.execute(
        "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname LIKE %s",
        (_POSTGRES_PREFIX + "%",),
    ).fetchall()
    for name, label in rows:
        pid = label.split("@")[0] if label else ""
        if pid.isdigit() and label == _label(int(pid)) and not _alive(int(pid)):
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _label(pid: int) -> str:
    """Who made a test database: a pid on this host (the label of a database made elsewhere never matches)."""
    return f"{pid}@{socket.gethostname()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class S3Server:
    """moto's standalone S3 server, a process of its own on a free port of 127.0.0.1, speaking the real protocol."""

    access_key_id = "hub-test-access-key"
    secret_access_key = "hub-test-secret-7c1e9a4f"
    region = "us-east-1"

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self._log_path = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> S3Server:
        log = self._log_path.open("ab")
        moto_server = Path(sys.executable).with_name("moto_server")
        self._process = subprocess.Popen(
            [str(moto_server), "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=log
        )
        log.close()
        deadline = time.monotonic() + 60
        while not self._answers():
            if self._process.poll() is not None or time.monotonic() > deadline:
                terminate(self._process)
                raise RuntimeError(f"moto's S3 server did not start; see {self._log_path}")
            time.sleep(0.1)
        return self

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/moto-api/", timeout=2).status_code < 500
        except httpx.HTTPError:
            return False

    def __exit__(self, *exc: object) -> None:
        terminate(self._process)

    def client(self) -> Any:
        """A plain boto3 client, for the tests' own looks into the bucket."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def new_bucket(self) -> str:
        bucket = f"hub-test-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def env(self, bucket: str, prefix: str = "uploads") -> dict[str, str]:
        """The settings that put the hub's and the workers' files in ``bucket`` under ``prefix``."""
        return {
            "HUB_FILES_URL": f"s3://{bucket}/{prefix}",
            "HUB_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_REGION": self.region,
        }
