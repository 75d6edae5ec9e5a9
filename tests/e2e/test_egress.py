"""The egress guard and the response caps, end to end through a real hub and worker.

Only loopback is ever contacted: the stack allows one loopback port (the hostile service's) and one for a
webhook receiver that holds its answer, and every refusal is of a loopback address, a literal that needs
no lookup, or ``localhost``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psutil
import pytest
import pytest_asyncio

from hub.push import VapidKeys
from tests.fakes import GateService, HostileService, TargetService
from tests.support import HubClient, HubStack, ServiceServer, hub_stack, linear

WORKER_GROWTH_LIMIT_MB = 150


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    with ServiceServer(HostileService().app) as server:
        yield server.url


@pytest.fixture(scope="module")
def gate() -> Iterator[tuple[GateService, str]]:
    service = GateService()
    with ServiceServer(service.app) as server:
        yield service, server.url


@pytest.fixture(scope="module")
def guarded_stack(
    tmp_path_factory: pytest.TempPathFactory, hostile: str, gate: tuple[GateService, str]
) -> Iterator[HubStack]:
    keys = VapidKeys.generate()
    allowed = ",".join(url.removeprefix("http://") for url in (hostile, gate[1]))
    with hub_stack(
        tmp_path_factory.mktemp("egress"),
        HUB_EGRESS_ALLOW=allowed,
        HUB_DELIVERY_TIMEOUT_SECONDS="60",
        HUB_VAPID_PUBLIC_KEY=keys.public_key,
        HUB_VAPID_PRIVATE_KEY=keys.private_key,
    ) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def hub(guarded_stack: HubStack) -> AsyncIterator[HubClient]:
    client = HubClient(guarded_stack)
    yield client
    await client.close()


async def _call(hub: HubClient, url: str, **config: Any) -> dict[str, Any]:
    """Runs one http node to ``url``; returns the finished execution."""
    execution_id = await hub.execute(linear(("start", "trigger", {}), ("call", "http", {"url": url, **config})))
    return await hub.wait_for(execution_id)


def _node_error(execution: dict[str, Any]) -> str:
    assert execution["status"] == "failed", execution
    return str(execution["error"])


async def test_an_http_node_cannot_read_the_hubs_own_api(hub: HubClient) -> None:
    error = _node_error(await _call(hub, f"{hub.stack.url}/api/executions"))
    assert "127.0.0.1 is a loopback address" in error
    assert "HUB_EGRESS_ALLOW" in error


async def test_localhost_is_refused_as_the_loopback_address_it_resolves_to(hub: HubClient) -> None:
    error = _node_error(await _call(hub, f"http://localhost:{hub.stack.port}/api/executions"))
    assert "localhost" in error and "loopback address" in error


@pytest.mark.parametrize("host", ["2130706433", "0x7f.0.0.1", "0x7f000001", "127.1", "[::ffff:127.0.0.1]"])
async def test_other_spellings_of_loopback_are_refused(hub: HubClient, host: str) -> None:
    error = _node_error(await _call(hub, f"http://{host}:{hub.stack.port}/api/executions"))
    assert "loopback address" in error


async def test_an_octal_spelling_is_not_even_a_url_the_hub_accepts(hub: HubClient) -> None:
    workflow = linear(("start", "trigger", {}), ("call", "http", {"url": f"http://0177.0.0.1:{hub.stack.port}/"}))
    response = await hub.http.post("/api/workflows/execute", json={"workflowId": "wf", "workflow": workflow})
    assert response.status_code == 422
    assert [problem["path"] for problem in response.json()["problems"]] == ["nodes[1].config.url"]


async def test_an_allowed_loopback_port_is_reached(hub: HubClient, hostile: str) -> None:
    execution = await _call(hub, f"{hostile}/ok")
    assert execution["status"] == "completed", execution


async def test_a_redirect_from_an_allowed_port_to_one_not_allowed_is_refused(
    hub: HubClient, hostile: str, target: tuple[TargetService, str]
) -> None:
    error = _node_error(await _call(hub, f"{hostile}/redirect?to={target[1]}/echo"))
    assert f"port {target[1].rsplit(':', 1)[1]} is refused" in error


async def _peak_growth_mb(hub: HubClient, url: str) -> tuple[dict[str, Any], float]:
    """The execution of one http node to ``url``, and how far the worker's RSS rose above its start meanwhile."""
    worker = psutil.Process(hub.stack.live_workers()[0].pid)
    start = peak = worker.memory_info().rss
    run = asyncio.create_task(_call(hub, url))
    while not run.done():
        peak = max(peak, worker.memory_info().rss)
        await asyncio.sleep(0.02)
    return await run, (peak - start) / (1024 * 1024)


async def test_a_200_mb_answer_fails_the_node_and_the_worker_stays_small(hub: HubClient, hostile: str) -> None:
    execution, growth = await _peak_growth_mb(hub, f"{hostile}/big/200")
    assert "larger than the limit of 10 MB (HUB_HTTP_MAX_RESPONSE_MB)" in _node_error(execution)
    assert growth < WORKER_GROWTH_LIMIT_MB


async def test_a_gzip_bomb_is_capped_when_decompressed(hub: HubClient, hostile: str) -> None:
    execution, growth = await _peak_growth_mb(hub, f"{hostile}/bomb")
    assert "larger than the limit of 10 MB (HUB_HTTP_MAX_RESPONSE_MB)" in _node_error(execution)
    assert growth < WORKER_GROWTH_LIMIT_MB


async def test_an_endless_slow_body_times_out_by_the_overall_deadline(hub: HubClient, hostile: str) -> None:
    error = _node_error(await _call(hub, f"{hostile}/trickle", timeoutSeconds=2))
    assert "timed out after 2 s" in error


async def _execute(hub: HubClient, **extra: Any) -> Any:
    body = {"workflowId": "wf", "workflow": linear(("start", "trigger", {})), **extra}
    return await hub.http.post("/api/workflows/execute", json=body)


async def test_an_unparseable_callback_url_is_422_naming_it(hub: HubClient) -> None:
    response = await _execute(hub, callbackUrl="http://[::1/")
    assert response.status_code == 422
    assert [problem["path"] for problem in response.json()["problems"]] == ["callbackUrl"]


async def test_a_callback_url_to_the_metadata_address_is_422_naming_the_rule(hub: HubClient) -> None:
    response = await _execute(hub, callbackUrl="http://169.254.169.254/latest/meta-data")
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["path"] == "callbackUrl"
    assert "cloud metadata" in problem["message"] and "HUB_EGRESS_ALLOW" in problem["message"]


async def test_a_push_endpoint_on_a_private_address_is_422_at_subscription(hub: HubClient) -> None:
    keys = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}
    subscription = {"endpoint": "http://10.0.0.1/push/abc", "keys": keys}
    response = await hub.http.post("/api/push/subscriptions", json={"subscription": subscription})
    assert response.status_code == 422, response.text
    (problem,) = response.json()["problems"]
    assert problem["path"] == "subscription.endpoint" and "private address" in problem["message"]


async def test_a_delivery_that_fails_unexpectedly_is_recorded_as_failed(hub: HubClient) -> None:
    execution_id = await hub.execute(linear(("start", "trigger", {})))
    await hub.wait_for(execution_id)
    # A target the API now refuses, as a row written before that check existed would hold it.
    with sqlite3.connect(hub.stack.database) as connection:
        connection.execute(
            """INSERT INTO delivery_outbox (id, executionId, kind, target, body, nextAttemptAt, createdAt, updatedAt)
               VALUES (?, ?, 'webhook', 'http://[::1/', '{}', ?, 'now', 'now')""",
            (str(uuid.uuid4()), execution_id, time.time()),
        )
    (delivery,) = await hub.events_of_type(execution_id, "webhook.delivery", 1)
    assert delivery["data"]["outcome"] == "failed"
    assert delivery["data"]["attempt"] == 1
    assert "could not be sent" in delivery["data"]["error"]


async def test_a_receiver_that_holds_its_answer_does_not_hold_up_other_deliveries(
    hub: HubClient, gate: tuple[GateService, str], hostile: str
) -> None:
    service, gate_url = gate
    name = uuid.uuid4().hex
    held = await hub.execute(linear(("start", "trigger", {})), callbackUrl=f"{gate_url}/gate/{name}")
    while name not in service.waiting:
        await asyncio.sleep(0.02)
    other = await hub.execute(linear(("start", "trigger", {})), callbackUrl=f"{hostile}/ok")
    (delivered,) = await hub.events_of_type(other, "webhook.delivery", 1)
    assert delivered["data"]["outcome"] == "delivered"
    assert not [event for event in await hub.events(held) if event["type"] == "webhook.delivery"]
    service.release(name)
    (released,) = await hub.events_of_type(held, "webhook.delivery", 1)
    assert released["data"]["outcome"] == "delivered"
