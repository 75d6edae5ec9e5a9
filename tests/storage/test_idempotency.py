"""The storage contract, idempotency keys: one execution per key within its ttl, on every backend."""

from __future__ import annotations

import asyncio

from hub.settings import Settings
from hub.storage import IdempotencyKey, Storage, open_storage
from hub.workflow import Workflow
from tests.storage.conftest import new_execution

DAY = 24 * 3600.0


def _key(key: str = "key-1", organization: str | None = "org", fingerprint: str = "body-a") -> IdempotencyKey:
    return IdempotencyKey(key=key, organization_id=organization, fingerprint=fingerprint, ttl_seconds=DAY)


async def _count(storage: Storage) -> int:
    return len(await storage.list_executions(workflow_id=None, status=None, organization_id=None, limit=500))


async def test_a_new_key_creates_a_pending_execution(storage: Storage, workflow: Workflow) -> None:
    keyed = await storage.create_keyed_execution(new_execution(workflow), _key())
    assert keyed.created and keyed.fingerprint == "body-a"
    assert (await storage.execution(keyed.execution_id))["status"] == "pending"


async def test_a_recorded_key_names_its_execution_and_creates_none(storage: Storage, workflow: Workflow) -> None:
    first = await storage.create_keyed_execution(new_execution(workflow), _key())
    again = await storage.create_keyed_execution(new_execution(workflow), _key(fingerprint="body-b"))
    assert (again.execution_id, again.created, again.fingerprint) == (first.execution_id, False, "body-a")
    assert await _count(storage) == 1


async def test_keys_are_scoped_to_the_organization(storage: Storage, workflow: Workflow) -> None:
    ours = await storage.create_keyed_execution(new_execution(workflow), _key(organization="org"))
    theirs = await storage.create_keyed_execution(new_execution(workflow), _key(organization="other"))
    unscoped = await storage.create_keyed_execution(new_execution(workflow), _key(organization=None))
    assert ours.created and theirs.created and unscoped.created
    assert len({ours.execution_id, theirs.execution_id, unscoped.execution_id}) == 3


async def test_an_expired_key_creates_a_new_execution(storage: Storage, workflow: Workflow) -> None:
    first = await storage.create_keyed_execution(new_execution(workflow), _key())
    expired = IdempotencyKey(key="key-1", organization_id="org", fingerprint="body-b", ttl_seconds=0)
    second = await storage.create_keyed_execution(new_execution(workflow), expired)
    assert second.created and second.execution_id != first.execution_id
    assert (await storage.create_keyed_execution(new_execution(workflow), _key())).execution_id == second.execution_id


async def test_concurrent_creates_with_one_key_from_two_processes_make_one_execution(
    storage: Storage, storage_settings: Settings, workflow: Workflow
) -> None:
    other = await open_storage(storage_settings)
    try:
        results = await asyncio.gather(
            *(
                store.create_keyed_execution(new_execution(workflow), _key())
                for _ in range(10)
                for store in (storage, other)
            )
        )
    finally:
        await other.close()
    assert len({result.execution_id for result in results}) == 1
    assert sum(result.created for result in results) == 1
    assert await _count(storage) == 1
