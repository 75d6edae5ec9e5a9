"""Fixtures that start real processes on free ports and always stop them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio

from tests.backends import (
    MailServer,
    MariaDBAccount,
    S3Server,
    mariadb_account,
    postgres_database,
    postgres_stack_env,
)
from tests.fakes import ClimatiqService, DownloadService, EsiosService, OpenAIService, TargetService, TwilioService
from tests.support import HubClient, HubStack, ServiceServer, hub_stack

OPENAI_KEY = "sk-test-4f1c9e2a7b"
SMTP_PASSWORD = "smtp-pass-9d2f1c6e"
TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-token-5b7e3a9c"
ESIOS_TOKEN = "esios-token-1f4c8e2d"
CLIMATIQ_KEY = "climatiq-key-7a3d9b1e"

Served = TypeVar("Served", TwilioService, EsiosService, ClimatiqService)
ENGINES = ["native", "prefect"]


@pytest.fixture(scope="session")
def output_dir() -> Path:
    path = Path(os.environ.get("HUB_TEST_OUTPUT", Path(__file__).resolve().parent.parent / "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def target() -> Iterator[tuple[TargetService, str]]:
    service = TargetService()
    with ServiceServer(service.app) as server:
        yield service, server.url


@pytest.fixture(scope="session")
def openai_service() -> Iterator[tuple[OpenAIService, str]]:
    service = OpenAIService(OPENAI_KEY)
    with ServiceServer(service.app) as server:
        yield service, f"{server.url}/v1"


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    """An SMTP server that wants a login, and keeps every message it accepts."""
    with MailServer("hub", SMTP_PASSWORD) as server:
        yield server


def _served(service: Served) -> Iterator[tuple[Served, str]]:
    """A fake service and the URL it answers on, for as long as the fixture lives."""
    with ServiceServer(service.app) as server:
        yield service, server.url


@pytest.fixture(scope="session")
def twilio() -> Iterator[tuple[TwilioService, str]]:
    yield from _served(TwilioService(TWILIO_SID, TWILIO_TOKEN))


@pytest.fixture(scope="session")
def esios() -> Iterator[tuple[EsiosService, str]]:
    yield from _served(EsiosService(ESIOS_TOKEN))


@pytest.fixture(scope="session")
def climatiq() -> Iterator[tuple[ClimatiqService, str]]:
    yield from _served(ClimatiqService(CLIMATIQ_KEY))


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server, one process for the session; each test module makes buckets of its own."""
    with S3Server(tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture(scope="session")
def mysql_account() -> MariaDBAccount:
    """The names and password of this run's MariaDB database and user; ``mariadb`` creates them."""
    return MariaDBAccount()


@pytest.fixture(scope="session")
def mariadb(mysql_account: MariaDBAccount) -> Iterator[MariaDBAccount]:
    """This run's own database and user on the machine's MariaDB, dropped at the end."""
    with mariadb_account(mysql_account) as account:
        yield account


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The URL of this run's own database on the machine's PostgreSQL, dropped at the end."""
    with postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def service_env(
    openai_service: tuple[OpenAIService, str],
    mail_server: MailServer,
    twilio: tuple[TwilioService, str],
    esios: tuple[EsiosService, str],
    climatiq: tuple[ClimatiqService, str],
    mysql_account: MariaDBAccount,
) -> dict[str, str]:
    """The settings that point every node type at the servers above, credentials included."""
    return {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai_service[1],
        **mail_server.env(),
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM": "+15005550006",
        "TWILIO_BASE_URL": twilio[1],
        "ESIOS_API_TOKEN": ESIOS_TOKEN,
        "ESIOS_BASE_URL": esios[1],
        "CLIMATIQ_API_KEY": CLIMATIQ_KEY,
        "CLIMATIQ_BASE_URL": climatiq[1],
        "CLIMATIQ_CONCURRENCY": "2",
        "HUB_MYSQL_DEFAULT_URL": mysql_account.url,
    }


STACKS = {"native": ("native", "sqlite"), "prefect": ("prefect", "sqlite"), "native-postgres": ("native", "postgres")}
"""The stacks the end-to-end tests run on: each engine on SQLite, and (for tests marked ``postgres``, or for
all of them with HUB_TEST_POSTGRES=all) the native engine on PostgreSQL."""
STACK_FIXTURES = {"stack": "session", "durable": "module"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, scope in STACK_FIXTURES.items():
        if name in metafunc.fixturenames:
            stacks = list(ENGINES)
            if metafunc.definition.get_closest_marker("postgres") or os.environ.get("HUB_TEST_POSTGRES") == "all":
                stacks.append("native-postgres")
            metafunc.parametrize(name, stacks, indirect=True, scope=scope)


def stack_env(request: pytest.FixtureRequest, stack: ExitStack) -> tuple[str, dict[str, str]]:
    """The engine of the stack the test asked for, and the settings that put it on its database."""
    engine, database = STACKS[request.param]
    if database == "postgres":
        return engine, stack.enter_context(postgres_stack_env(request.getfixturevalue("postgres")))
    return engine, {}


@pytest.fixture(scope="session")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, service_env: dict[str, str]
) -> Iterator[HubStack]:
    """A hub with one worker, once per engine (and on PostgreSQL for tests marked so)."""
    with ExitStack() as resources:
        engine, database_env = stack_env(request, resources)
        directory = tmp_path_factory.mktemp(f"stack-{request.param}")
        with hub_stack(directory, engine=engine, **service_env, **database_env) as running:
            yield running


@pytest_asyncio.fixture(loop_scope="session")
async def client(stack: HubStack) -> AsyncIterator[HubClient]:
    hub = HubClient(stack)
    yield hub
    await hub.close()


@pytest.fixture(scope="session")
def downloads() -> Iterator[tuple[DownloadService, str]]:
    service = DownloadService()
    with ServiceServer(service.app) as server:
        yield service, server.url
