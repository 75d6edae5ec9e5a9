"""Durable executions: worker, hub and Redis crashes, cancel, timeouts, waits and retries, on real processes
and real signals, under both engines."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import pytest_asyncio
import redis

from tests.conftest import ENGINES, stack_env
from tests.e2e.faults import (
    check_a_killed_workers_run_completes_on_another,
    check_a_socket_dropped_by_a_hub_crash_resumes_with_after,
)
from tests.fakes import TargetService
from tests.support import HubClient, HubStack, gapless, hub_stack, lease_owner, linear

LEASE_SECONDS = 3


@pytest.fixture(scope="module")
def durable(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    """Two workers with a short lease, so that recovery happens within seconds; once per engine, and on
    PostgreSQL for the tests marked so (see ``pytest_generate_tests`` in tests/conftest.py)."""
    with ExitStack() as resources:
        engine, database_env = stack_env(request, resources)
        directory = tmp_path_factory.mktemp(f"durable-{request.param}")
        with hub_stack(
            directory,
            engine=engine,
            workers=2,
            HUB_WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
            HUB_WORKER_GRACE_SECONDS="20",
            **database_env,
        ) as stack:
            yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def hub(durable: HubStack) -> AsyncIterator[HubClient]:
    """A client of the durable stack; after each test the stack has two live workers again."""
    client = HubClient(durable)
    yield client
    await client.close()
    durable.workers = durable.live_workers()
    while len(durable.workers) < 2:
        durable.start_worker()


@pytest.mark.postgres
async def test_a_killed_workers_execution_completes_on_another_without_rerunning_finished_nodes(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    await check_a_killed_workers_run_completes_on_another(hub, hub.stack.worker_running, target)


async def test_sigterm_lets_the_running_node_finish_then_another_worker_resumes(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    service, url = target
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        ("slow", "http", {"url": f"{url}/slow/{key}-slow?seconds=2"}),
        ("after", "http", {"url": f"{url}/count/{key}-after"}),
    )
    execution_id = await hub.execute(workflow)
    await hub.first_event(execution_id, "node.started", "slow")
    draining = hub.stack.worker_running(lease_owner(await hub.events(execution_id)))
    draining.send_signal(signal.SIGTERM)
    body = await hub.wait_for(execution_id)
    assert body["status"] == "completed", body
    assert service.calls[f"{key}-slow"] == 1
    assert service.calls[f"{key}-after"] == 1
    events = await hub.events(execution_id)
    slow = [e["type"] for e in events if e.get("nodeId") == "slow"]
    assert slow == ["node.started", "node.completed"]
    assert any(e["type"] == "execution.recovered" for e in events)
    assert draining.wait(timeout=60) == 0


@pytest.mark.postgres
async def test_a_socket_dropped_by_a_hub_crash_resumes_with_after_and_misses_nothing(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    await check_a_socket_dropped_by_a_hub_crash_resumes_with_after(
        hub, hub, lambda: hub.stack.restart_hub(signal.SIGKILL), target[1]
    )


async def test_an_execution_completes_across_a_redis_restart_and_its_socket_misses_nothing(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        ("before", "http", {"url": f"{target[1]}/slow/{key}-a?seconds=2"}),
        ("after", "http", {"url": f"{target[1]}/count/{key}-b"}),
        ("last", "http", {"url": f"{target[1]}/slow/{key}-c?seconds=1"}),
    )
    execution_id = await hub.execute(workflow)
    watcher = asyncio.create_task(hub.watch(execution_id, after=0))
    await hub.first_event(execution_id, "node.started", "before")
    await asyncio.to_thread(hub.stack.restart_redis)
    body = await hub.wait_for(execution_id)
    assert body["status"] == "completed", body
    watched = await watcher
    assert gapless(watched) and watched == await hub.events(execution_id)
    after_restart = await hub.execute(linear(("start", "trigger", {})))
    assert (await hub.wait_for(after_restart))["status"] == "completed"


async def test_cancelling_a_running_execution_stops_its_running_node(
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
    await hub.first_event(execution_id, "node.started", "long")
    asked = time.monotonic()
    response = await hub.http.post(f"/api/executions/{execution_id}/cancel")
    assert response.status_code == 202 and response.json()["cancelRequested"] is True
    body = await hub.wait_for(execution_id, timeout=30)
    took = time.monotonic() - asked
    assert body["status"] == "cancelled"
    assert took < 30, "the 60 s node was not interrupted"
    events = await hub.events(execution_id)
    assert events[-1]["type"] == "execution.cancelled"
    assert service.calls[f"{key}-never"] == 0
    assert [n["status"] for n in body["nodes"] if n["nodeId"] == "long"] == ["cancelled"]


async def test_cancelling_twice_is_harmless_and_a_finished_execution_answers_409(hub: HubClient) -> None:
    finished = await hub.execute(linear(("start", "trigger", {})))
    await hub.wait_for(finished)
    response = await hub.http.post(f"/api/executions/{finished}/cancel")
    assert response.status_code == 409 and "completed" in response.json()["error"]
    waiting = await hub.execute(linear(("start", "trigger", {}), ("pause", "wait", {"seconds": 600})))
    await hub.wait_for(waiting, {"waiting"})
    first = await hub.http.post(f"/api/executions/{waiting}/cancel")
    second = await hub.http.post(f"/api/executions/{waiting}/cancel")
    assert (first.status_code, first.json()["status"]) == (200, "cancelled")
    assert (second.status_code, second.json()["status"]) == (200, "cancelled")
    assert [e["type"] for e in await hub.events(waiting)].count("execution.cancelled") == 1


async def test_a_wait_node_resumes_on_its_timer_with_no_worker_busy_in_between(hub: HubClient) -> None:
    workflow = linear(("start", "trigger", {}), ("pause", "wait", {"seconds": 4}), ("out", "output", {}))
    execution_id = await hub.execute(workflow, {"n": 1})
    body = await hub.wait_for(execution_id, {"waiting", "completed"})
    assert body["status"] == "waiting", body
    client = redis.Redis.from_url(hub.stack.redis.url)
    try:
        while client.keys("arq:in-progress:*"):
            await asyncio.sleep(0.05)
    finally:
        client.close()
    rows = await hub.stack.query("SELECT status, leaseOwner FROM workflow_executions WHERE id = ?", execution_id)
    assert tuple(rows[0]) == ("waiting", None), "the wait ended before its job did: no moment without a busy worker"
    body = await hub.wait_for(execution_id)
    assert body["status"] == "completed" and body["finalOutput"] == {"out": {"n": 1}}
    types = [e["type"] for e in await hub.events(execution_id)]
    assert types.index("execution.waiting") < types.index("execution.resumed") < types.index("execution.completed")


async def test_per_node_timeout_fails_the_node_with_a_timeout_error(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        ("slow", "http", {"url": f"{target[1]}/slow/{uuid.uuid4().hex}?seconds=30", "timeoutSeconds": 0.5}),
    )
    execution_id = await hub.execute(workflow)
    body = await hub.wait_for(execution_id)
    assert body["status"] == "failed" and "timed out after 0.5 s" in body["error"]
    types = [e["type"] for e in await hub.events(execution_id) if e.get("nodeId") == "slow"]
    assert types == ["node.started", "node.timeout", "node.failed"]


async def test_max_duration_fails_the_execution_with_a_clear_error(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    workflow = linear(("start", "trigger", {}), ("slow", "http", {"url": f"{target[1]}/slow/x?seconds=60"}))
    execution_id = await hub.execute(workflow, maxDurationSeconds=1)
    body = await hub.wait_for(execution_id, timeout=40)
    assert body["status"] == "failed"
    assert "maxDurationSeconds" in body["error"]


async def test_retry_runs_from_the_failed_node_reusing_earlier_outputs(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    service, url = target
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        ("first", "http", {"url": f"{url}/count/{key}-first"}),
        ("flaky", "http", {"url": f"{url}/flaky/{key}-flaky?failures=1"}),
        ("out", "output", {"value": "{{ nodes.first.body.count }}"}),
    )
    failed = await hub.execute(workflow)
    assert (await hub.wait_for(failed))["status"] == "failed"
    response = await hub.http.post(f"/api/executions/{failed}/retry")
    assert response.status_code == 202 and response.json()["retryOf"] == failed
    body = await hub.wait_for(response.json()["executionId"])
    assert body["status"] == "completed" and body["retryOf"] == failed
    assert body["finalOutput"] == {"out": 1}
    assert service.calls[f"{key}-first"] == 1 and service.calls[f"{key}-flaky"] == 2
    assert (await hub.http.post(f"/api/executions/{body['executionId']}/retry")).status_code == 409


async def test_a_finished_execution_is_never_taken_over(hub: HubClient) -> None:
    execution_id = await hub.execute(linear(("start", "trigger", {})))
    finished = await hub.wait_for(execution_id)
    await hub.stack.execute(
        "UPDATE workflow_executions SET leaseOwner = 'ghost:1:x', leaseExpiresAt = 1 WHERE id = ?", execution_id
    )
    await asyncio.sleep(LEASE_SECONDS)
    again = await hub.execution(execution_id)
    assert again["status"] == "completed" and again["lastSeq"] == finished["lastSeq"]


async def test_a_worker_that_lost_its_lease_stops_without_writing(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    service, url = target
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        ("slow", "http", {"url": f"{url}/slow/{key}-slow?seconds=1"}),
        ("after", "http", {"url": f"{url}/count/{key}-after"}),
    )
    execution_id = await hub.execute(workflow)
    await hub.first_event(execution_id, "node.started", "slow")
    frozen = hub.stack.worker_running(lease_owner(await hub.events(execution_id)))
    frozen.send_signal(signal.SIGSTOP)
    try:
        await hub.first_event(execution_id, "execution.recovered")
    finally:
        frozen.send_signal(signal.SIGCONT)
    body = await hub.wait_for(execution_id)
    await asyncio.sleep(2)
    events = await hub.events(execution_id)
    assert body["status"] == "completed" and gapless(events)
    assert [e["type"] for e in events].count("execution.completed") == 1
    assert service.calls[f"{key}-after"] == 1


async def test_webhook_wait_resumes_from_the_call_after_hub_and_workers_restart(
    hub: HubClient, target: tuple[TargetService, str]
) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        ("approval", "webhook", {"mode": "wait"}),
        ("out", "output", {}),
    )
    execution_id = await hub.execute(workflow)
    body = await hub.wait_for(execution_id, {"waiting"})
    waiting = next(e for e in await hub.events(execution_id) if e["type"] == "node.waiting")
    assert waiting["data"]["resumeUrl"] == f"/api/executions/{execution_id}/resume/approval"
    stack = hub.stack
    for worker in stack.live_workers():
        stack.stop_process(worker)
    stack.stop_process(stack.hub)
    await asyncio.to_thread(stack.start_hub)
    stack.workers = []
    await asyncio.to_thread(stack.start_worker)
    assert (await hub.http.post(f"/api/executions/{execution_id}/resume/nope", json={})).status_code == 409
    response = await hub.http.post(f"/api/executions/{execution_id}/resume/approval", json={"approved": True})
    assert response.status_code == 202
    body = await hub.wait_for(execution_id)
    assert body["status"] == "completed" and body["finalOutput"] == {"out": {"approved": True}}
    assert (await hub.http.post(f"/api/executions/{execution_id}/resume/approval", json={})).status_code == 409


@pytest.mark.parametrize("engine", ENGINES)
async def test_cancelling_a_pending_execution_means_it_never_starts(tmp_path: Path, engine: str) -> None:
    with hub_stack(tmp_path, engine=engine, workers=0) as stack:
        client = HubClient(stack)
        try:
            execution_id = await client.execute(linear(("start", "trigger", {})))
            response = await client.http.post(f"/api/executions/{execution_id}/cancel")
            assert (response.status_code, response.json()["status"]) == (200, "cancelled")
            await asyncio.to_thread(stack.start_worker)
            await asyncio.sleep(2)
            body = await client.execution(execution_id)
            assert body["status"] == "cancelled" and body["startedAt"] is None
            assert [e["type"] for e in await client.events(execution_id)] == ["execution.cancelled"]
        finally:
            await client.close()


@pytest.mark.parametrize("engine", ENGINES)
async def test_four_workers_run_fifty_concurrent_executions_without_database_locked(
    tmp_path: Path, engine: str
) -> None:
    workflow = linear(
        ("start", "trigger", {}),
        *((f"step{i}", "addField", {"fields": {f"f{i}": i}}) for i in range(3)),
        ("out", "output", {}),
    )
    with hub_stack(tmp_path, engine=engine, workers=4) as stack:
        client = HubClient(stack)
        try:
            ids = await asyncio.gather(*(client.execute(workflow, {"n": n}) for n in range(50)))
            bodies = [await client.wait_for(execution_id, timeout=240) for execution_id in ids]
        finally:
            await client.close()
    assert [body["status"] for body in bodies] == ["completed"] * 50
    logs = "".join(path.read_text(errors="replace") for path in tmp_path.glob("*.log"))
    assert "database is locked" not in logs
