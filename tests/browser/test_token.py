"""The viewer on a hub with HUB_API_TOKEN: it asks for the token once, keeps it, and watches live with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Dialog, Page, expect

from tests.support import HubStack, hub_stack

TOKEN = "viewer-token-8e41a2"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    with hub_stack(tmp_path_factory.mktemp("token-ui"), HUB_API_TOKEN=TOKEN) as stack:
        yield stack


async def test_the_viewer_asks_for_the_token_once_and_runs_with_it(page: Page, guarded: HubStack) -> None:
    prompts: list[str] = []

    async def answer(dialog: Dialog) -> None:
        prompts.append(dialog.message)
        await dialog.accept(TOKEN)

    page.on("dialog", answer)
    await page.goto(f"{guarded.url}/ui")
    await page.locator("#example").select_option(label="Weather alert")
    await page.locator("#run").click()
    await page.wait_for_url("**/ui/executions/*")
    await expect(page.locator("#status")).to_have_text("Completed")
    await expect(page.locator("#log")).to_contain_text("Completed in")
    assert len(prompts) == 1 and "access token" in prompts[0]
