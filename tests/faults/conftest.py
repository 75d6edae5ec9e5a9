"""Fixtures for the fault suite: a hub stack of its own with a private Redis that a test may freeze."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from hub.local_redis import LocalRedis
from tests.support import HubClient, HubStack, hub_stack

REDIS_DEADLINE_SECONDS = 1.0
LEASE_SECONDS = 3


@contextlib.contextmanager
def frozen(redis: LocalRedis) -> Iterator[None]:
    """Stops the stack's own Redis process (never the machine's shared one) and lets it go on afterwards."""
    assert redis.process is not None, "the private Redis is not running"
    os.kill(redis.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(redis.process.pid, signal.SIGCONT)


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    """A hub and one worker with a short Redis deadline and a short lease."""
    directory: Path = tmp_path_factory.mktemp("faults")
    with hub_stack(
        directory,
        workers=1,
        HUB_REDIS_TIMEOUT_SECONDS=str(REDIS_DEADLINE_SECONDS),
        HUB_WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
    ) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def hub(faulty: HubStack) -> AsyncIterator[HubClient]:
    client = HubClient(faulty)
    yield client
    await client.close()
