"""``Idempotency-Key`` on the endpoints that start executions: a retried request never makes a second run.

The stack has no worker: the executions stay pending, which is all these tests count.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.support import HubClient, HubStack, hub_stack, linear

HEADER = "Idempotency-Key"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    with hub_stack(tmp_path_factory.mktemp("idempotency"), workers=0) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def hub(keyed: HubStack) -> AsyncIterator[HubClient]:
    client = HubClient(keyed)
    yield client
    await client.close()


def _request(workflow_id: str, **inputs: Any) -> dict[str, Any]:
    return {
        "workflowId": workflow_id,
        "workflow": linear(("start", "trigger", {}), workflow_id=workflow_id),
        "inputs": inputs,
    }


async def _executions_of(hub: HubClient, workflow_id: str) -> list[str]:
    response = await hub.http.get("/api/executions", params={"workflowId": workflow_id})
    return [execution["executionId"] for execution in response.json()["executions"]]


def _fresh() -> tuple[str, dict[str, str]]:
    return f"wf-{uuid.uuid4().hex[:8]}", {HEADER: uuid.uuid4().hex}


async def test_a_retry_with_the_same_key_answers_the_first_202_and_makes_no_second_execution(hub: HubClient) -> None:
    workflow_id, headers = _fresh()
    first = await hub.http.post("/api/workflows/execute", json=_request(workflow_id, n=1), headers=headers)
    retry = await hub.http.post("/api/workflows/execute", json=_request(workflow_id, n=1), headers=headers)
    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert await _executions_of(hub, workflow_id) == [first.json()["executionId"]]


async def test_concurrent_retries_with_one_key_make_one_execution(hub: HubClient) -> None:
    workflow_id, headers = _fresh()
    responses = await asyncio.gather(
        *(hub.http.post("/api/workflows/execute", json=_request(workflow_id), headers=headers) for _ in range(10))
    )
    assert {response.status_code for response in responses} == {202}
    assert len({response.json()["executionId"] for response in responses}) == 1
    assert len(await _executions_of(hub, workflow_id)) == 1


async def test_the_same_key_with_a_different_body_is_422_naming_the_header(hub: HubClient) -> None:
    workflow_id, headers = _fresh()
    first = await hub.http.post("/api/workflows/execute", json=_request(workflow_id, n=1), headers=headers)
    other = await hub.http.post("/api/workflows/execute", json=_request(workflow_id, n=2), headers=headers)
    assert first.status_code == 202
    assert other.status_code == 422, other.text
    assert [problem["path"] for problem in other.json()["problems"]] == [HEADER]
    assert await _executions_of(hub, workflow_id) == [first.json()["executionId"]]


async def test_requests_without_a_key_each_make_an_execution(hub: HubClient) -> None:
    workflow_id, _ = _fresh()
    for _ in range(2):
        assert (await hub.http.post("/api/workflows/execute", json=_request(workflow_id))).status_code == 202
    assert len(await _executions_of(hub, workflow_id)) == 2


async def test_an_empty_key_is_422_naming_the_header(hub: HubClient) -> None:
    workflow_id, _ = _fresh()
    response = await hub.http.post("/api/workflows/execute", json=_request(workflow_id), headers={HEADER: ""})
    assert response.status_code == 422, response.text
    assert [problem["path"] for problem in response.json()["problems"]] == [HEADER]


async def test_a_hook_retried_with_the_same_key_makes_one_execution(hub: HubClient) -> None:
    workflow_id, headers = _fresh()
    stored = await hub.http.put(
        f"/api/workflows/{workflow_id}", json=linear(("start", "trigger", {}), workflow_id=workflow_id)
    )
    assert stored.status_code in (200, 201), stored.text
    answers = [await hub.http.post(f"/api/hooks/{workflow_id}", json={"order": 7}, headers=headers) for _ in range(2)]
    assert [answer.status_code for answer in answers] == [202, 202]
    assert answers[0].json() == answers[1].json()
    different = await hub.http.post(f"/api/hooks/{workflow_id}", json={"order": 8}, headers=headers)
    assert different.status_code == 422
    assert len(await _executions_of(hub, workflow_id)) == 1


async def test_a_key_past_its_ttl_makes_a_new_execution(tmp_path: Path) -> None:
    # 0.36 s: each retry before it expires answers the first execution, and the first after makes a second.
    with hub_stack(tmp_path, workers=0, HUB_IDEMPOTENCY_TTL_HOURS="0.0001") as stack:
        async with httpx.AsyncClient(base_url=stack.url, timeout=30) as http:
            workflow_id, headers = _fresh()
            first = await http.post("/api/workflows/execute", json=_request(workflow_id), headers=headers)
            answered = first.json()["executionId"]
            while answered == first.json()["executionId"]:
                retry = await http.post("/api/workflows/execute", json=_request(workflow_id), headers=headers)
                assert retry.status_code == 202, retry.text
                answered = retry.json()["executionId"]
                await asyncio.sleep(0.05)
            listed = await http.get("/api/executions", params={"workflowId": workflow_id})
    assert {execution["executionId"] for execution in listed.json()["executions"]} == {
        first.json()["executionId"],
        answered,
    }
