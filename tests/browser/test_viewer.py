"""The execution viewer in Chromium: live progress, a lost socket, a reload, cancel, streamed tokens."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Locator, Page, WebSocketRoute, expect

from tests.browser.conftest import gated_workflow
from tests.fakes import GateService
from tests.support import HubClient, linear


def node(page: Page, node_id: str) -> Locator:
    return page.locator(f'#nodes li[data-node-id="{node_id}"]')


async def start_gated(hub: HubClient, gates: tuple[GateService, str]) -> tuple[str, list[str]]:
    """Starts a trigger, three gated http steps and an output; returns the execution id and the gate names."""
    workflow, names = gated_workflow(gates[1])
    return await hub.execute(workflow), names


async def open_viewer(page: Page, hub: HubClient, execution_id: str) -> None:
    await page.goto(f"{hub.stack.url}/ui/executions/{execution_id}")


async def test_the_viewer_shows_running_nodes_turning_completed_in_order(
    page: Page, hub: HubClient, gates: tuple[GateService, str]
) -> None:
    service = gates[0]
    execution_id, names = await start_gated(hub, gates)
    await open_viewer(page, hub, execution_id)
    await expect(page.locator("#title")).to_have_text("Gated steps")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    for index, name in enumerate(names, start=1):
        current = node(page, f"step{index}")
        await expect(current).to_have_attribute("data-status", "running")
        await expect(page.locator("#current-node")).to_have_text(f"Step {index}")
        for later in range(index + 1, len(names) + 1):
            await expect(node(page, f"step{later}")).to_have_attribute("data-status", "pending")
        service.release(name)
        await expect(current).to_have_attribute("data-status", "completed")
        await expect(current.locator(".duration")).not_to_be_empty()
    await expect(page.locator("#status")).to_have_text("Completed")
    await expect(page.locator("#percentage")).to_have_text("100 %")
    await expect(page.locator("#final-output")).to_contain_text('"gate"')
    await expect(page.locator("#cancel")).to_be_disabled()
    await expect(page.locator("#connection")).to_have_attribute("data-state", "done")


async def test_a_socket_killed_mid_run_flips_the_badge_to_polling_and_the_view_still_completes(
    page: Page, hub: HubClient, gates: tuple[GateService, str]
) -> None:
    service = gates[0]
    execution_id, names = await start_gated(hub, gates)
    network = {"up": True}
    open_routes: list[WebSocketRoute] = []

    async def route(socket: WebSocketRoute) -> None:
        if not network["up"]:
            await socket.close(code=4000, reason="network cut by the test")
            return
        socket.connect_to_server()
        open_routes.append(socket)

    await page.route_web_socket("**/ws/executions/**", route)
    await open_viewer(page, hub, execution_id)
    await expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    service.release(names[0])
    await expect(node(page, "step1")).to_have_attribute("data-status", "completed")

    network["up"] = False
    for socket in open_routes:
        await socket.close(code=4000, reason="network cut by the test")
    await expect(page.locator("#connection")).to_have_attribute("data-state", "polling")
    await expect(page.locator("#connection")).to_have_text("Polling")
    service.release(*names[1:])

    await expect(page.locator("#status")).to_have_text("Completed")
    for index in range(1, len(names) + 1):
        await expect(node(page, f"step{index}")).to_have_attribute("data-status", "completed")
    await expect(node(page, "result")).to_have_attribute("data-status", "completed")
    await expect(page.locator("#percentage")).to_have_text("100 %")
    stored = await hub.events(execution_id)
    await expect(page.locator("#log li")).to_have_count(len(stored))


async def test_a_page_reloaded_mid_run_resumes_with_its_history(
    page: Page, hub: HubClient, gates: tuple[GateService, str]
) -> None:
    service = gates[0]
    execution_id, names = await start_gated(hub, gates)
    await open_viewer(page, hub, execution_id)
    service.release(names[0])
    await expect(node(page, "step1")).to_have_attribute("data-status", "completed")
    await expect(node(page, "step2")).to_have_attribute("data-status", "running")

    await page.reload()
    await expect(node(page, "step1")).to_have_attribute("data-status", "completed")
    await expect(node(page, "step2")).to_have_attribute("data-status", "running")
    await expect(page.locator("#log")).to_contain_text("Step 1 completed")
    service.release(*names[1:])
    await expect(page.locator("#status")).to_have_text("Completed")
    await expect(node(page, "step3")).to_have_attribute("data-status", "completed")
    stored = await hub.events(execution_id)
    await expect(page.locator("#log li")).to_have_count(len(stored))


async def test_the_cancel_button_stops_a_running_execution(
    page: Page, hub: HubClient, gates: tuple[GateService, str]
) -> None:
    execution_id, _ = await start_gated(hub, gates)
    await open_viewer(page, hub, execution_id)
    await expect(node(page, "step1")).to_have_attribute("data-status", "running")
    await page.locator("#cancel").click()
    await expect(page.locator("#status")).to_have_text("Cancelled")
    await expect(page.locator("#error")).to_contain_text("Cancelled by request")
    await expect(page.locator("#cancel")).to_be_disabled()
    assert (await hub.execution(execution_id))["status"] == "cancelled"


async def test_llm_tokens_appear_in_the_node_as_they_stream(page: Page, hub: HubClient) -> None:
    prompt = "tell me about the tides of the moon"
    workflow = linear(("start", "trigger", {}), ("ask", "llm", {"model": "gpt-test", "prompt": prompt, "stream": True}))
    execution_id = await hub.execute(workflow)
    await open_viewer(page, hub, execution_id)
    await expect(page.locator('#nodes li[data-node-id="ask"] .tokens')).to_have_text(f"Echo: {prompt}")
    await expect(page.locator("#status")).to_have_text("Completed")


async def test_a_failed_execution_shows_its_error_and_the_failed_node(page: Page, hub: HubClient) -> None:
    workflow = linear(("start", "trigger", {}), ("broken", "http", {"url": "http://127.0.0.1:9/nothing-listens"}))
    execution_id = await hub.execute(workflow)
    await open_viewer(page, hub, execution_id)
    await expect(page.locator("#status")).to_have_text("Failed")
    await expect(node(page, "broken")).to_have_attribute("data-status", "failed")
    await expect(page.locator("#error")).not_to_be_empty()


async def test_an_unknown_execution_says_so(page: Page, hub: HubClient) -> None:
    await open_viewer(page, hub, "no-such-execution")
    await expect(page.locator("#load-error")).to_have_text("No execution with id no-such-execution.")


async def test_a_screenshot_of_the_finished_view_is_written_at_desktop_and_phone_width(
    page: Page, hub: HubClient, output_dir: Path
) -> None:
    execution_id = await hub.execute(linear(("start", "trigger", {}), ("mark", "addField", {"fields": {"ok": True}})))
    await hub.wait_for(execution_id)
    for name, width in (("desktop", 1100), ("phone", 390)):
        await page.set_viewport_size({"width": width, "height": 900})
        await open_viewer(page, hub, execution_id)
        await expect(page.locator("#status")).to_have_text("Completed")
        await expect(page.locator("#final-output")).to_be_visible()
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
        path = output_dir / f"viewer-finished-{name}.png"
        await page.screenshot(path=path, full_page=True)
        assert path.stat().st_size > 10_000
