"""A frozen Redis (SIGSTOP: a black-holed network, or a Redis stuck on a slow command) holds no request
past the Redis deadline, and the runs go on once it answers again."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from tests.fakes import TargetService
from tests.faults.conftest import REDIS_DEADLINE_SECONDS, frozen
from tests.support import HubClient, linear

ANSWER_BOUND_SECONDS = REDIS_DEADLINE_SECONDS + 5
"""Generous for a loaded machine, and far below the freeze, which lasts until the test ends it."""


def _workflow() -> dict[str, Any]:
    return linear(("start", "trigger", {}), ("out", "output", {}), workflow_id=f"frozen-{uuid.uuid4().hex[:8]}")


async def _started(hub: HubClient, execution_id: str, node_id: str) -> None:
    while not any(
        event["type"] == "node.started" and event.get("nodeId") == node_id for event in await hub.events(execution_id)
    ):
        await asyncio.sleep(0.05)


async def test_execute_answers_202_within_the_deadline_while_redis_is_frozen(hub: HubClient) -> None:
    with frozen(hub.stack.redis):
        asked = time.monotonic()
        response = await hub.http.post("/api/workflows/execute", json={"workflow": _workflow()})
        took = time.monotonic() - asked
    assert response.status_code == 202, response.text
    assert took < ANSWER_BOUND_SECONDS


async def test_executions_accepted_during_a_freeze_complete_after_it(hub: HubClient) -> None:
    with frozen(hub.stack.redis):
        accepted = [
            (await hub.http.post("/api/workflows/execute", json={"workflow": _workflow()})).json()["executionId"]
            for _ in range(2)
        ]
    for execution_id in accepted:
        assert (await hub.wait_for(execution_id))["status"] == "completed"


async def test_the_hub_logs_a_frozen_redis_once_not_per_request(hub: HubClient) -> None:
    log = hub.stack.directory / "hub.log"
    await hub.wait_for(await hub.execute(_workflow()))
    before = log.read_text().count("Redis did not take execution")
    with frozen(hub.stack.redis):
        for _ in range(3):
            response = await hub.http.post("/api/workflows/execute", json={"workflow": _workflow()})
            assert response.status_code == 202, response.text
    after_freeze = await hub.execute(_workflow())
    await hub.wait_for(after_freeze)
    while "Redis takes jobs again" not in log.read_text().split("Redis did not take execution")[-1]:
        await asyncio.sleep(0.05)
    assert log.read_text().count("Redis did not take execution") == before + 1


async def test_cancel_answers_within_the_deadline_and_stops_the_run_while_redis_is_frozen(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    service, url = target
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        ("long", "http", {"url": f"{url}/slow/{key}?seconds=60"}),
        ("never", "http", {"url": f"{url}/count/{key}-never"}),
    )
    execution_id = await hub.execute(workflow)
    await _started(hub, execution_id, "long")
    with frozen(hub.stack.redis):
        asked = time.monotonic()
        response = await hub.http.post(f"/api/executions/{execution_id}/cancel")
        took = time.monotonic() - asked
        assert response.status_code == 202, response.text
        assert took < ANSWER_BOUND_SECONDS
        body = await hub.wait_for(execution_id, timeout=60)
    assert body["status"] == "cancelled"
    assert service.calls[f"{key}-never"] == 0


async def test_one_idempotency_key_retried_during_and_after_a_freeze_makes_one_execution(hub: HubClient) -> None:
    workflow = _workflow()
    request = {"workflowId": workflow["id"], "workflow": workflow}
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    with frozen(hub.stack.redis):
        during = [
            (await hub.http.post("/api/workflows/execute", json=request, headers=headers)).json()["executionId"]
            for _ in range(2)
        ]
    after = (await hub.http.post("/api/workflows/execute", json=request, headers=headers)).json()["executionId"]
    assert len({*during, after}) == 1
    assert (await hub.wait_for(after))["status"] == "completed"
    listed = await hub.http.get("/api/executions", params={"workflowId": workflow["id"]})
    assert [execution["executionId"] for execution in listed.json()["executions"]] == [after]
