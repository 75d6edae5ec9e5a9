"""Many hubs, many workers: two hubs and two workers, each process with a data dir of its own (as on machines of
its own), sharing one PostgreSQL database, one Redis and one file store (a shared folder)."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from tests.backends import postgres_stack_env
from tests.documents import csv_bytes
from tests.e2e.faults import (
    check_a_killed_workers_run_completes_on_another,
    check_a_socket_dropped_by_a_hub_crash_resumes_with_after,
)
from tests.fakes import TargetService
from tests.support import HubClient, ScaledOut, gapless, linear, scaled_out

LEASE_SECONDS = 3
CONCURRENT_RUNS = 40


@pytest.fixture(scope="module")
def deployment(postgres: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaledOut]:
    """Two hubs and two workers on a migrated schema of their own, with a short lease so recovery takes seconds."""
    with (
        postgres_stack_env(postgres) as database,
        scaled_out(
            tmp_path_factory.mktemp("scale-out"),
            database["HUB_DATABASE_URL"],
            HUB_WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
            HUB_WORKER_GRACE_SECONDS="20",
        ) as running,
    ):
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def hubs(deployment: ScaledOut) -> AsyncIterator[tuple[HubClient, HubClient]]:
    """A client of each hub; after each test every hub and worker a test stopped runs again."""
    first, second = (HubClient(stack) for stack in deployment.stacks)
    yield first, second
    await first.close()
    await second.close()
    await asyncio.to_thread(deployment.restore)


def _slow(url: str, steps: int, seconds: float) -> dict[str, Any]:
    key = uuid.uuid4().hex
    return linear(
        ("start", "trigger", {}),
        *((f"step{i}", "http", {"url": f"{url}/slow/{key}-{i}?seconds={seconds}"}) for i in range(steps)),
    )


async def test_a_socket_on_one_hub_sees_a_run_started_through_the_other(
    hubs: tuple[HubClient, HubClient], target: tuple[TargetService, str]
) -> None:
    watching, starting = hubs
    execution_id = await starting.execute(_slow(target[1], steps=3, seconds=0.3))
    watched = await watching.watch(execution_id, after=0)
    assert watched[-1]["type"] == "execution.completed"
    assert gapless(watched) and watched == await starting.events(execution_id)


async def test_a_client_whose_hub_is_killed_goes_on_through_the_other_hub_and_misses_nothing(
    hubs: tuple[HubClient, HubClient], target: tuple[TargetService, str]
) -> None:
    doomed, surviving = hubs
    stack = doomed.stack
    await check_a_socket_dropped_by_a_hub_crash_resumes_with_after(
        doomed, surviving, lambda: stack.stop_process(stack.hub, signal.SIGKILL), target[1]
    )


async def test_a_worker_killed_mid_node_leaves_its_run_to_the_other_worker(
    deployment: ScaledOut, hubs: tuple[HubClient, HubClient], target: tuple[TargetService, str]
) -> None:
    await check_a_killed_workers_run_completes_on_another(hubs[0], deployment.worker_running, target)


async def test_forty_concurrent_runs_spread_over_both_hubs_all_complete(hubs: tuple[HubClient, HubClient]) -> None:
    workflow = linear(("start", "trigger", {}), ("mark", "addField", {"fields": {"done": True}}))
    started = await asyncio.gather(*(hubs[i % 2].execute(workflow) for i in range(CONCURRENT_RUNS)))
    finished = await asyncio.gather(
        *(hubs[(i + 1) % 2].wait_for(execution_id, timeout=300) for i, execution_id in enumerate(started))
    )
    assert [body["status"] for body in finished] == ["completed"] * CONCURRENT_RUNS
    assert len(set(started)) == CONCURRENT_RUNS


async def test_a_file_uploaded_through_one_hub_is_read_by_a_run_started_through_the_other(
    hubs: tuple[HubClient, HubClient],
) -> None:
    uploading, starting = hubs
    content = csv_bytes([["name", "city"], ["Ada", "London"], ["Grace", "Arlington"]])
    upload = await uploading.http.post("/api/files", files={"file": ("people.csv", content)})
    assert upload.status_code == 201, upload.text
    workflow = linear(("read", "excelInput", {"fileId": upload.json()["fileId"]}), ("out", "output", {}))
    body = await starting.wait_for(await starting.execute(workflow))
    assert body["status"] == "completed", body
    assert body["finalOutput"]["out"]["rows"] == [
        {"name": "Ada", "city": "London"},
        {"name": "Grace", "city": "Arlington"},
    ]


async def test_a_workflow_stored_through_one_hub_runs_when_started_through_the_other(
    hubs: tuple[HubClient, HubClient],
) -> None:
    storing, starting = hubs
    workflow_id = f"stored-{uuid.uuid4().hex[:8]}"
    workflow = linear(("start", "trigger", {}), ("out", "output", {}), workflow_id=workflow_id)
    assert (await storing.http.put(f"/api/workflows/{workflow_id}", json=workflow)).status_code == 200
    response = await starting.http.post("/api/workflows/execute", json={"workflowId": workflow_id, "inputs": {"n": 7}})
    assert response.status_code == 202, response.text
    body = await starting.wait_for(response.json()["executionId"])
    assert body["status"] == "completed", body
    assert body["workflowId"] == workflow_id and body["finalOutput"] == {"out": {"n": 7}}
