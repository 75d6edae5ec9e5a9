"""The /ui home page in Chromium: the Run form and the live list of recent executions."""

from __future__ import annotations

import json

from playwright.async_api import Page, expect

from tests.support import HubClient, linear


async def test_the_run_form_starts_an_example_and_opens_its_viewer(page: Page, hub: HubClient) -> None:
    await page.goto(f"{hub.stack.url}/ui")
    await page.locator("#example").select_option(label="Weather alert")
    await expect(page.locator("#example-description")).to_contain_text("temperature")
    assert json.loads(await page.locator("#inputs").input_value()) == {"temperature": 35}
    await page.locator("#run").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/ui/executions/*")
    await expect(page.locator("#status")).to_have_text("Completed")
    await expect(page.locator('#nodes li[data-node-id="calm"]')).to_have_attribute("data-status", "skipped")
    await expect(page.locator("#final-output")).to_contain_text('"alert": "heat"')


async def test_the_run_form_runs_pasted_json_with_its_inputs(page: Page, hub: HubClient) -> None:
    workflow = linear(("start", "trigger", {}), ("greet", "addField", {"fields": {"greeting": "hi {{ input.name }}"}}))
    await page.goto(f"{hub.stack.url}/ui")
    await page.locator("#workflow").fill(json.dumps(workflow))
    await page.locator("#inputs").fill('{"name": "Ada"}')
    await page.locator("#run").click()
    await page.wait_for_url("**/ui/executions/*")
    await expect(page.locator("#final-output")).to_contain_text('"greeting": "hi Ada"')


async def test_the_run_form_names_the_field_that_is_not_json(page: Page, hub: HubClient) -> None:
    await page.goto(f"{hub.stack.url}/ui")
    await page.locator("#workflow").fill("{not json")
    await page.locator("#run").click()
    await expect(page.locator("#run-problems")).to_contain_text("Workflow JSON is not valid JSON")
    await expect(page.locator("#workflow")).to_have_attribute("aria-invalid", "true")
    assert page.url.endswith("/ui")


async def test_the_run_form_shows_every_problem_the_hub_finds(page: Page, hub: HubClient) -> None:
    workflow = {"id": "bad", "nodes": [{"id": "x", "type": "teleport"}, {"id": "y", "type": "http", "config": {}}]}
    await page.goto(f"{hub.stack.url}/ui")
    await page.locator("#workflow").fill(json.dumps(workflow))
    await page.locator("#run").click()
    problems = page.locator("#run-problems li")
    await expect(problems).to_have_count(2)
    await expect(problems.nth(0)).to_contain_text("nodes[0].type: unknown node type 'teleport'")
    await expect(problems.nth(1)).to_contain_text("nodes[1].config.url")


async def test_the_list_of_recent_executions_links_to_each_viewer(page: Page, hub: HubClient) -> None:
    await page.goto(f"{hub.stack.url}/ui")
    execution_id = await hub.execute(linear(("start", "trigger", {}), workflow_id="listed-workflow"))
    row = page.locator(f'#executions tr[data-execution-id="{execution_id}"]')
    await expect(row).to_contain_text("listed-workflow")
    await expect(row.locator(".status")).to_have_text("Completed")
    await row.get_by_role("link").click()
    await page.wait_for_url(f"**/ui/executions/{execution_id}")
    await expect(page.locator("#title")).to_have_text("listed-workflow")
