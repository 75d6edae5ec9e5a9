"""Hostile workflows on a real hub and worker: template bombs and zip bombs fail their node, the worker's
memory stays bounded, and a runaway render leaves the worker's other executions running."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import psutil
import pytest
import pytest_asyncio

from tests.documents import xlsx_bomb_bytes
from tests.support import HubClient, HubStack, hub_stack, linear

RUNAWAY = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
BOMBS = [
    '{{ "%0999999999d" % 1 }}',
    '{{ "{:>999999999}".format(1) }}',
    '{{ "x" * 10**9 }}',
    "{{ 2 ** (10 ** 8) }}",
    '{{ "x".ljust(999999999) }}',
    '{{ "x"|center(999999999) }}',
    '{% set ns = namespace(s="x" * 1000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}',
]


@pytest.fixture(scope="module")
def limits_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    # A budget large enough that the runaway render is still running when the other execution ends; its
    # node's timeout or a cancel stops it.
    with hub_stack(
        tmp_path_factory.mktemp("limits"), HUB_TEMPLATE_MAX_ITERATIONS="1000000000000", HUB_TEMPLATE_MAX_SECONDS="600"
    ) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def limits_client(limits_stack: HubStack) -> AsyncIterator[HubClient]:
    client = HubClient(limits_stack)
    yield client
    await client.close()


def _error(body: dict[str, Any], node_id: str) -> str:
    (node,) = [node for node in body["nodes"] if node["nodeId"] == node_id]
    return str(node["error"])


def _worker_rss(stack: HubStack) -> int:
    (worker,) = stack.live_workers()
    return int(psutil.Process(worker.pid).memory_info().rss)


async def test_template_and_zip_bombs_fail_their_node_and_the_worker_stays_small(
    limits_client: HubClient, limits_stack: HubStack
) -> None:
    warm = await limits_client.execute(linear(("start", "trigger", {}), ("out", "output", {"value": "{{ 1 }}"})))
    assert (await limits_client.wait_for(warm))["status"] == "completed"
    before = _worker_rss(limits_stack)
    for template in BOMBS:
        execution_id = await limits_client.execute(
            linear(("start", "trigger", {}), ("bomb", "output", {"value": template}))
        )
        body = await limits_client.wait_for(execution_id)
        assert body["status"] == "failed", body
        assert "config.value" in _error(body, "bomb")
    upload = await limits_client.http.post("/api/files", files={"file": ("bomb.xlsx", xlsx_bomb_bytes(300))})
    assert upload.status_code == 201, upload.text
    workflow = linear(("start", "trigger", {}), ("read", "excelInput", {"fileId": upload.json()["fileId"]}))
    body = await limits_client.wait_for(await limits_client.execute(workflow))
    assert body["status"] == "failed"
    assert "HUB_MAX_UNCOMPRESSED_MB" in _error(body, "read")
    assert _worker_rss(limits_stack) - before < 150 * 1024 * 1024


async def test_a_runaway_render_does_not_stall_another_execution_on_the_same_worker(
    limits_client: HubClient,
) -> None:
    runaway = await limits_client.execute(linear(("start", "trigger", {}), ("spin", "output", {"value": RUNAWAY})))
    await limits_client.events_of_type(runaway, "node.started", 2)
    quick = await limits_client.execute(linear(("start", "trigger", {}), ("out", "output", {"value": "{{ 21 * 2 }}"})))
    body = await limits_client.wait_for(quick)
    assert body["status"] == "completed"
    assert body["finalOutput"] == {"out": 42}
    assert (await limits_client.execution(runaway))["status"] == "running"
    cancelled = await limits_client.http.post(f"/api/executions/{runaway}/cancel")
    assert cancelled.status_code in (200, 202), cancelled.text
    assert (await limits_client.wait_for(runaway))["status"] == "cancelled"


async def test_a_runaway_render_fails_its_node_at_the_node_timeout(limits_client: HubClient) -> None:
    workflow = linear(("start", "trigger", {}), ("spin", "output", {"value": RUNAWAY, "timeoutSeconds": 1}))
    body = await limits_client.wait_for(await limits_client.execute(workflow))
    assert body["status"] == "failed"
    assert "timed out after 1 s" in _error(body, "spin")


@pytest.mark.parametrize("depth", [80, 300])
async def test_a_template_nested_too_deeply_is_a_422_naming_the_field(limits_client: HubClient, depth: int) -> None:
    template = "{{ " + "(" * depth + "1" + ")" * depth + " }}"
    workflow = linear(("start", "trigger", {}), ("out", "output", {"value": template}))
    response = await limits_client.http.post(
        "/api/workflows/execute", json={"workflowId": "wf", "workflow": workflow, "inputs": {}}
    )
    assert response.status_code == 422, response.text
    problems = {problem["path"]: problem["message"] for problem in response.json()["problems"]}
    assert "nests too deeply" in problems["nodes[1].config.value"]


async def test_templates_past_the_workflow_total_are_a_422(limits_client: HubClient) -> None:
    long_template = "{{ input }}" + " " * 60_000
    nodes = [("start", "trigger", {})] + [(f"n{index}", "output", {"value": long_template}) for index in range(10)]
    response = await limits_client.http.post(
        "/api/workflows/execute", json={"workflowId": "wf", "workflow": linear(*nodes), "inputs": {}}
    )
    assert response.status_code == 422, response.text
    assert any("HUB_TEMPLATE_MAX_WORKFLOW_CHARS" in problem["message"] for problem in response.json()["problems"])
