"""Fixtures that start real processes on free ports and always stop them."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.fakes import DownloadService, OpenAIService, TargetService
from tests.support import HubClient, HubStack, ServiceServer, hub_stack

OPENAI_KEY = "sk-test-4f1c9e2a7b"
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


@pytest.fixture(scope="session", params=ENGINES)
def stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    openai_service: tuple[OpenAIService, str],
) -> Iterator[HubStack]:
    """A hub with one worker, once per engine; tests that use it run under both engines."""
    engine = request.param
    directory = tmp_path_factory.mktemp(f"stack-{engine}")
    with hub_stack(directory, engine=engine, OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=openai_service[1]) as running:
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
