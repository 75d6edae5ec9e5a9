"""The storage contract, the tables beside the run: outbox, push subscriptions, file metadata, records,
and the aggregate's own methods."""

from __future__ import annotations

import time

import pytest

from handlers.contract import RecordFilter, RecordOrder
from hub.events import ExecutionStatus
from hub.storage import CURRENT_VERSION, DeliveryKind, DeliveryStatus, FileRecord, PushTarget, Storage
from hub.workflow import Workflow
from tests.storage.conftest import new_execution

OWNER = "worker-a"
SUBSCRIPTION = {"endpoint": "https://push.example/1", "keys": {"p256dh": "k", "auth": "a"}}


async def _finished(storage: Storage, workflow: Workflow, **fields: object) -> str:
    execution_id = await storage.create_execution(new_execution(workflow, **fields))
    await storage.claim(execution_id, OWNER, 60)
    await storage.finish(execution_id, OWNER, ExecutionStatus.FAILED, error="boom")
    return execution_id


async def test_a_claimed_delivery_is_locked_until_its_attempt_is_recorded(storage: Storage, workflow: Workflow) -> None:
    execution_id = await _finished(storage, workflow, callback_url="http://127.0.0.1:9/hook")
    [delivery] = await storage.outbox.claim_due(lock_seconds=60)
    assert (delivery.execution_id, delivery.attempts) == (execution_id, 0)
    assert await storage.outbox.claim_due(lock_seconds=60) == []
    await storage.outbox.record(
        delivery.id, status=DeliveryStatus.PENDING, attempts=1, next_attempt_at=time.time() - 1, error="503"
    )
    [again] = await storage.outbox.claim_due(lock_seconds=60)
    assert (again.id, again.attempts) == (delivery.id, 1)


async def test_a_delivered_delivery_is_not_claimed_again(storage: Storage, workflow: Workflow) -> None:
    await _finished(storage, workflow, callback_url="http://127.0.0.1:9/hook")
    [delivery] = await storage.outbox.claim_due(lock_seconds=-1)
    await storage.outbox.record(
        delivery.id, status=DeliveryStatus.DELIVERED, attempts=1, next_attempt_at=time.time(), error=None
    )
    assert await storage.outbox.claim_due(lock_seconds=60) == []


async def test_a_push_subscription_becomes_a_delivery_when_its_execution_ends(
    storage: Storage, workflow: Workflow
) -> None:
    subscription_id = await storage.push.add(SUBSCRIPTION, PushTarget(organization_id="org"))
    await storage.push.add(SUBSCRIPTION, PushTarget(organization_id="another"))
    execution_id = await _finished(storage, workflow)
    due = await storage.outbox.claim_due(lock_seconds=60)
    assert [(delivery.kind, delivery.target, delivery.execution_id) for delivery in due] == [
        (DeliveryKind.PUSH, subscription_id, execution_id)
    ]


async def test_subscribing_again_keeps_one_subscription_per_endpoint_and_scope(storage: Storage) -> None:
    first = await storage.push.add(SUBSCRIPTION, PushTarget())
    second = await storage.push.add({**SUBSCRIPTION, "keys": {"p256dh": "k2", "auth": "a"}}, PushTarget())
    assert first == second
    assert await storage.push.get(first) == {**SUBSCRIPTION, "keys": {"p256dh": "k2", "auth": "a"}}


async def test_removing_a_subscription_counts_what_it_removed(storage: Storage) -> None:
    subscription_id = await storage.push.add(SUBSCRIPTION, PushTarget(execution_id="e1"))
    assert await storage.push.remove(SUBSCRIPTION["endpoint"], PushTarget()) == 0
    assert await storage.push.remove(SUBSCRIPTION["endpoint"], PushTarget(execution_id="e1")) == 1
    assert await storage.push.get(subscription_id) is None


async def test_a_gone_endpoint_loses_every_subscription(storage: Storage) -> None:
    ids = [await storage.push.add(SUBSCRIPTION, target) for target in (PushTarget(), PushTarget(organization_id="o"))]
    await storage.push.forget_endpoint(SUBSCRIPTION["endpoint"])
    assert [await storage.push.get(subscription_id) for subscription_id in ids] == [None, None]


async def test_file_metadata_reads_back_and_an_unknown_file_is_none(storage: Storage) -> None:
    record = FileRecord("f1", "org", "a.csv", 12, "text/csv", "2024-05-01T10:00:00.000Z")
    await storage.files.add(record)
    assert await storage.files.get("f1") == record
    assert await storage.files.get("missing") is None


async def test_records_are_saved_upserted_and_fetched_per_organization(storage: Storage) -> None:
    records = storage.records("org")
    saved = await records.save("meters", [{"meter": 1, "kwh": 5}, {"meter": 2, "kwh": 9}])
    assert (saved.inserted, saved.updated) == (2, 0)
    upserted = await records.save("meters", [{"meter": 2, "kwh": 10}, {"meter": 3, "kwh": 1}], upsert_key="meter")
    assert (upserted.inserted, upserted.updated) == (1, 1)
    fetched = await records.fetch(
        "meters", filters=[RecordFilter("kwh", ">", 2)], order_by=[RecordOrder("kwh", descending=True)]
    )
    assert fetched == [{"meter": 2, "kwh": 10}, {"meter": 1, "kwh": 5}]
    assert await storage.records("other").fetch("meters") == []
    assert await storage.records(None).fetch("meters") == []


async def test_a_record_field_that_is_not_a_plain_name_is_refused(storage: Storage) -> None:
    with pytest.raises(ValueError, match="field name"):
        await storage.records("org").fetch("meters", filters=[RecordFilter("a') OR 1=1 --", "=", 1)])


async def test_the_store_answers_a_ping_and_knows_its_schema_version(storage: Storage) -> None:
    await storage.ping()
    assert await storage.schema_version() == CURRENT_VERSION
