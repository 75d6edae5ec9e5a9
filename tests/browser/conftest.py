"""Debian's Chromium, driven by Playwright, against a real hub, worker and Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from tests.conftest import OPENAI_KEY
from tests.fakes import GateService, OpenAIService
from tests.support import HubClient, HubStack, ServiceServer, hub_stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def gates() -> Iterator[tuple[GateService, str]]:
    service = GateService()
    with ServiceServer(service.app) as server:
        yield service, server.url
        service.release(*service.waiting)


@pytest.fixture(scope="session")
def browser_stack(
    tmp_path_factory: pytest.TempPathFactory, openai_service: tuple[OpenAIService, str]
) -> Iterator[HubStack]:
    directory = tmp_path_factory.mktemp("browser-stack")
    with hub_stack(directory, engine="native", OPENAI_API_KEY=OPENAI_KEY, OPENAI_BASE_URL=openai_service[1]) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def hub(browser_stack: HubStack) -> AsyncIterator[HubClient]:
    client = HubClient(browser_stack)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; missing, the browser tests are skipped locally and fail in CI."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing; .ci/run installs it with apt-get (packages chromium, chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser_context(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[BrowserContext]:
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900},
        )
        yield context
        await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser_context: BrowserContext) -> AsyncIterator[Page]:
    page = await browser_context.new_page()
    yield page
    await page.close()


def gated_workflow(gates_url: str, steps: int = 3) -> tuple[dict[str, Any], list[str]]:
    """A trigger, then ``steps`` http nodes that each wait for their gate, then an output."""
    names = [f"step-{uuid.uuid4().hex[:8]}" for _ in range(steps)]
    nodes = [
        {"id": "start", "type": "trigger", "label": "Start", "config": {}},
        *(
            {"id": f"step{index}", "type": "http", "label": f"Step {index}", "config": {"url": f"{gates_url}/gate/{n}"}}
            for index, n in enumerate(names, start=1)
        ),
        {"id": "result", "type": "output", "label": "Result", "config": {}},
    ]
    connections = [{"fromNodeId": a["id"], "toNodeId": b["id"]} for a, b in zip(nodes, nodes[1:], strict=False)]
    return {"id": "gated", "name": "Gated steps", "nodes": nodes, "connections": connections}, names
