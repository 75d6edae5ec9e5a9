"""A socket that reads too slowly is closed with 4008, and resuming with after= loses nothing."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import websockets
from redis.asyncio import Redis

from hub.bus import EventBus
from hub.database import Database
from hub.events import EventType, ExecutionStatus
from hub.store import ExecutionStore
from tests.support import HubClient, hub_stack, linear, seqs

_EVENTS = 3000
_PADDING = "x" * 2048


async def test_a_slow_socket_is_closed_with_4008_and_resumes_with_after(tmp_path: Path) -> None:
    with hub_stack(tmp_path, workers=0, HUB_SOCKET_QUEUE="10") as stack:
        client = HubClient(stack)
        database = Database(stack.database)
        await database.open()
        redis = Redis.from_url(stack.redis.url)
        bus = EventBus(redis)
        await bus.start()
        try:
            execution_id = await client.execute(linear(("start", "trigger", {})))
            store = ExecutionStore(database)
            assert await store.claim(execution_id, "test-writer", 600) is not None
            received = []
            async with websockets.connect(f"{stack.ws_url}/ws/executions/{execution_id}?after=0") as socket:
                for number in range(_EVENTS):
                    event = await store.append_event(
                        execution_id, EventType.LOG, {"message": f"{number} {_PADDING}"}, owner="test-writer"
                    )
                    await bus.publish([event])
                await bus.publish([await store.finish(execution_id, "test-writer", ExecutionStatus.COMPLETED)])
                with pytest.raises(websockets.ConnectionClosedError):
                    async for message in socket:
                        received.append(orjson.loads(message))
            assert socket.close_code == 4008
            assert f"after={received[-1]['seq']}" in (socket.close_reason or "")
            assert len(received) < _EVENTS
            received += await client.watch(execution_id, after=received[-1]["seq"])
            assert seqs(received) == list(range(1, _EVENTS + 3))
            assert received[-1]["type"] == "execution.completed"
        finally:
            await bus.stop()
            await redis.aclose()
            await database.close()
            await client.close()
