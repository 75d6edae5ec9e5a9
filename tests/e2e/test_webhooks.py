"""Completion webhooks: signed, retried with backoff from the stored outbox, delivered across restarts."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
import pytest_asyncio
from standardwebhooks import Webhook

from tests.fakes import TargetService, WebhookReceiver
from tests.support import HubClient, HubStack, ServiceServer, hub_stack, linear

SECRET = "whsec_" + base64.b64encode(b"3b1f77c0a9e2d4f6").decode()
RETRY_SECONDS = 1.0
MAX_ATTEMPTS = 3


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[WebhookReceiver, str]]:
    service = WebhookReceiver()
    with ServiceServer(service.app) as server:
        yield service, server.url


@pytest.fixture(scope="module")
def webhook_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    with hub_stack(
        tmp_path_factory.mktemp("webhooks"),
        HUB_WEBHOOK_SECRET=SECRET,
        HUB_WEBHOOK_RETRY_SECONDS=str(RETRY_SECONDS),
        HUB_WEBHOOK_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
    ) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def hub(webhook_stack: HubStack) -> AsyncIterator[HubClient]:
    client = HubClient(webhook_stack)
    yield client
    await client.close()


async def _requests(receiver: WebhookReceiver, key: str, count: int, timeout: float = 120) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(receiver.received(key)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"the receiver got {len(receiver.received(key))} of {count} requests for {key}")
        await asyncio.sleep(0.05)
    return receiver.received(key)


async def _deliveries(hub: HubClient, execution_id: str, count: int) -> list[dict[str, Any]]:
    return await hub.events_of_type(execution_id, "webhook.delivery", count)


def _signed(request: dict[str, Any]) -> bool:
    """Verified as a receiver would, with the Standard Webhooks library (it raises when the signature is wrong)."""
    Webhook(SECRET).verify(request["body"], request["headers"])
    return True


async def _run(hub: HubClient, url: str, workflow: dict[str, Any] | None = None) -> tuple[str, str]:
    key = uuid.uuid4().hex
    workflow = workflow or linear(("start", "trigger", {}), ("mark", "addField", {"fields": {"done": True}}))
    return await hub.execute(workflow, callbackUrl=f"{url}/hooks/{key}?fail=0"), key


async def test_a_completed_execution_posts_a_signed_webhook_with_its_result(
    hub: HubClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    execution_id, key = await _run(hub, receiver[1])
    (request,) = await _requests(receiver[0], key, 1)
    assert _signed(request)
    assert request["headers"]["x-hub-delivery"] == request["headers"]["webhook-id"]
    body = orjson.loads(request["body"])
    execution = await hub.execution(execution_id)
    assert body == {
        "executionId": execution_id,
        "workflowId": "wf",
        "status": "completed",
        "finalOutput": {"mark": {"done": True}},
        "error": None,
        "completedAt": execution["completedAt"],
    }


async def test_the_body_only_signature_of_earlier_releases_is_still_sent(
    hub: HubClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    _, key = await _run(hub, receiver[1])
    (request,) = await _requests(receiver[0], key, 1)
    expected = "sha256=" + hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request["headers"]["x-hub-signature-256"], expected)


async def test_each_delivery_attempt_is_an_event_after_the_terminal_one(
    hub: HubClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    execution_id, _ = await _run(hub, receiver[1])
    (delivery,) = await _deliveries(hub, execution_id, 1)
    events = await hub.events(execution_id)
    assert [e["type"] for e in events][-2:] == ["execution.completed", "webhook.delivery"]
    assert delivery["data"]["outcome"] == "delivered"
    assert delivery["data"]["attempt"] == 1 and delivery["data"]["statusCode"] == 200
    assert "?" not in delivery["data"]["target"]


async def test_a_failing_receiver_is_retried_with_backoff_until_it_accepts(
    hub: HubClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    key = uuid.uuid4().hex
    execution_id = await hub.execute(linear(("start", "trigger", {})), callbackUrl=f"{receiver[1]}/hooks/{key}?fail=2")
    requests = await _requests(receiver[0], key, 3)
    assert [r["status"] for r in requests] == [503, 503, 200]
    assert len({r["headers"]["x-hub-delivery"] for r in requests}) == 1
    assert len({r["headers"]["webhook-id"] for r in requests}) == 1
    assert len({r["body"] for r in requests}) == 1 and all(_signed(r) for r in requests)
    assert requests[1]["at"] - requests[0]["at"] >= RETRY_SECONDS
    assert requests[2]["at"] - requests[1]["at"] >= 2 * RETRY_SECONDS
    deliveries = await _deliveries(hub, execution_id, 3)
    assert [d["data"]["outcome"] for d in deliveries] == ["retrying", "retrying", "delivered"]
    assert [d["data"]["attempt"] for d in deliveries] == [1, 2, 3]


async def test_a_receiver_that_never_accepts_is_given_up_after_the_maximum_attempts(
    hub: HubClient, receiver: tuple[WebhookReceiver, str]
) -> None:
    key = uuid.uuid4().hex
    execution_id = await hub.execute(linear(("start", "trigger", {})), callbackUrl=f"{receiver[1]}/hooks/{key}?fail=99")
    deliveries = await _deliveries(hub, execution_id, MAX_ATTEMPTS)
    assert deliveries[-1]["data"]["outcome"] == "failed"
    assert deliveries[-1]["data"]["error"] == "the receiver answered 503"
    await asyncio.sleep(4 * RETRY_SECONDS)
    assert len(receiver[0].received(key)) == MAX_ATTEMPTS


async def test_failed_and_cancelled_executions_post_their_end_too(
    hub: HubClient, receiver: tuple[WebhookReceiver, str], target: tuple[TargetService, str]
) -> None:
    broken = linear(("start", "trigger", {}), ("call", "http", {"url": "http://127.0.0.1:9/nothing-listens"}))
    failed_id, failed_key = await _run(hub, receiver[1], broken)
    slow = linear(
        ("start", "trigger", {}), ("call", "http", {"url": f"{target[1]}/slow/{uuid.uuid4().hex}?seconds=60"})
    )
    cancelled_id, cancelled_key = await _run(hub, receiver[1], slow)
    while not any(e.get("nodeId") == "call" for e in await hub.events(cancelled_id)):
        await asyncio.sleep(0.05)
    await hub.http.post(f"/api/executions/{cancelled_id}/cancel")
    (failed,) = await _requests(receiver[0], failed_key, 1)
    (cancelled,) = await _requests(receiver[0], cancelled_key, 1)
    assert orjson.loads(failed["body"])["status"] == "failed"
    assert orjson.loads(failed["body"])["error"]
    assert orjson.loads(cancelled["body"])["status"] == "cancelled"
    assert {orjson.loads(failed["body"])["executionId"], orjson.loads(cancelled["body"])["executionId"]} == {
        failed_id,
        cancelled_id,
    }


async def test_a_restart_of_the_hub_and_the_worker_between_attempts_still_delivers(
    hub: HubClient, receiver: tuple[WebhookReceiver, str], webhook_stack: HubStack
) -> None:
    key = uuid.uuid4().hex
    execution_id = await hub.execute(linear(("start", "trigger", {})), callbackUrl=f"{receiver[1]}/hooks/{key}?fail=2")
    await _deliveries(hub, execution_id, 1)
    for worker in webhook_stack.live_workers():
        webhook_stack.stop_process(worker, signal.SIGKILL)
    webhook_stack.restart_hub()
    webhook_stack.start_worker()
    requests = await _requests(receiver[0], key, 3)
    assert requests[-1]["status"] == 200
    assert [r["status"] for r in requests[:2]] == [503, 503]
    assert len({r["headers"]["x-hub-delivery"] for r in requests}) == 1
    assert len({r["headers"]["webhook-id"] for r in requests}) == 1
    deliveries = await _deliveries(hub, execution_id, 3)
    assert deliveries[-1]["data"]["outcome"] == "delivered"
