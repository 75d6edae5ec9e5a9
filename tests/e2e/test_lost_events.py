"""An event that pub/sub lost (its publish failed) still reaches the sockets watching its execution."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hub.events import EventType, ExecutionStatus
from hub.storage import open_storage
from tests.support import HubClient, hub_stack, linear, seqs


async def test_events_stored_but_never_published_reach_a_watching_socket(tmp_path: Path) -> None:
    with hub_stack(tmp_path, workers=0, HUB_SOCKET_CHECK_SECONDS="0.5") as stack:
        client = HubClient(stack)
        store = await open_storage(stack.settings())
        try:
            execution_id = await client.execute(linear(("start", "trigger", {})))
            assert await store.claim(execution_id, "test-writer", 600) is not None
            watcher = asyncio.create_task(client.watch(execution_id, after=0, timeout=30))
            await asyncio.sleep(1)
            await store.append_event(execution_id, EventType.LOG, {"message": "never published"}, owner="test-writer")
            await store.finish(execution_id, "test-writer", ExecutionStatus.COMPLETED)
            received = await watcher
        finally:
            await store.close()
            await client.close()
    assert seqs(received) == [1, 2, 3]
    assert [event["type"] for event in received] == ["execution.started", "log", "execution.completed"]
