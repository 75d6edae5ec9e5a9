"""The event bus: Redis pub/sub as the fast path behind the store.

``publish`` hands stored events to one background task per process, which sends whatever has queued up
in one pipeline, in order. While Redis is unreachable the events wait in memory (up to a bound, past
which new ones are dropped) and go out when it is back; they are stored already, so subscribers that
miss one catch up from the store by seq either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.events import Event
from hub.keys import CANCEL_CHANNEL, events_channel

logger = logging.getLogger(__name__)

_MAX_QUEUED = 100_000
_MAX_PIPELINE = 1_000
_RETRY_SECONDS = 1.0


class EventBus:
    """Publishes stored events and cancel requests on Redis."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._publish_forever(), name="event-bus")

    async def stop(self) -> None:
        """Sends what is still queued (when Redis answers), then stops."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(5):
                while self._queue:
                    await self._send_batch()

    async def publish(self, events: Iterable[Event]) -> None:
        """Queues already-stored events for publishing, in order; never waits on Redis."""
        for event in events:
            if len(self._queue) < _MAX_QUEUED:
                self._queue.append(event)
            else:
                self._dropped += 1
        self._wake.set()

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                try:
                    await self._send_batch()
                except (RedisError, OSError) as error:
                    dropped = len(self._queue) + self._dropped
                    self._queue.clear()
                    self._dropped = 0
                    logger.warning(
                        "could not publish %d event(s); subscribers read them from the store: %s", dropped, error
                    )

    async def _send_batch(self) -> None:
        batch = [self._queue.popleft() for _ in range(min(len(self._queue), _MAX_PIPELINE))]
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in batch:
                pipe.publish(events_channel(event.execution_id), event.json)
            await pipe.execute()

    async def request_cancel(self, execution_id: str) -> None:
        try:
            await self._redis.publish(CANCEL_CHANNEL, execution_id)
        except (RedisError, OSError) as error:
            logger.warning(
                "could not announce cancel of %s; its worker sees it at the next lease renewal: %s", execution_id, error
            )
