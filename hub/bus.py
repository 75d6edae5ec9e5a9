"""The event bus: Redis pub/sub as the fast path behind the store.

``publish`` hands stored events to one background task per process, which sends whatever has queued up
in one pipeline, in order. When Redis refuses or does not answer within the deadline, the unsent events
stay queued, in order, and the task tries again every ``retry_seconds`` until Redis takes them. The queue
is bounded (``max_queued``): past the bound, new events are dropped and counted in the log. A batch that
timed out may have reached Redis after all, so an event can arrive twice; subscribers drop seqs they have
sent, and any event the bus drops they read from the store by seq, where it is stored already.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
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
_STOP_SECONDS = 5.0


class EventBus:
    """Publishes stored events and cancel requests on Redis; no call waits longer than ``deadline_seconds``."""

    def __init__(
        self,
        redis: Redis,
        deadline_seconds: float,
        *,
        max_queued: int = _MAX_QUEUED,
        retry_seconds: float = _RETRY_SECONDS,
    ) -> None:
        self._redis = redis
        self._deadline_seconds = deadline_seconds
        self._max_queued = max_queued
        self._retry_seconds = retry_seconds
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._dropped = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._publish_forever(), name="event-bus")

    async def stop(self) -> None:
        """Sends what is still queued (when Redis answers within a few seconds), then stops."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        with contextlib.suppress(RedisError, OSError):
            async with asyncio.timeout(_STOP_SECONDS):
                while self._queue:
                    await self._send_batch()

    async def publish(self, events: Iterable[Event]) -> None:
        """Queues already-stored events for publishing, in order; never waits on Redis."""
        for event in events:
            if len(self._queue) < self._max_queued:
                self._queue.append(event)
            else:
                self._dropped += 1
        self._wake.set()

    async def _publish_forever(self) -> None:
        failing = False
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                try:
                    await self._send_batch()
                except (RedisError, OSError) as error:
                    if not failing:
                        logger.warning(
                            "could not publish %d event(s); they stay queued (at most %d) and go out when Redis "
                            "takes them, and subscribers read them from the store meanwhile: %r",
                            len(self._queue),
                            self._max_queued,
                            error,
                        )
                    failing = True
                    await asyncio.sleep(self._retry_seconds)
                    continue
                if failing:
                    failing = False
                    logger.info("Redis takes events again")
                if self._dropped:
                    logger.warning("dropped %d event(s) past the bus's bound of %d", self._dropped, self._max_queued)
                    self._dropped = 0

    async def _send_batch(self) -> None:
        """Sends the oldest events; they leave the queue only once Redis has taken them."""
        batch = list(itertools.islice(self._queue, _MAX_PIPELINE))
        async with asyncio.timeout(self._deadline_seconds), self._redis.pipeline(transaction=False) as pipe:
            for event in batch:
                pipe.publish(events_channel(event.execution_id), event.json)
            await pipe.execute()
        for _ in batch:
            self._queue.popleft()

    async def request_cancel(self, execution_id: str) -> None:
        """Announces a cancel that is already stored; when Redis does not answer in time, the lease renewal
        of the execution's worker reads it from the store instead."""
        try:
            async with asyncio.timeout(self._deadline_seconds):
                await self._redis.publish(CANCEL_CHANNEL, execution_id)
        except (RedisError, OSError) as error:
            logger.warning(
                "could not announce cancel of %s; its worker sees it at the next lease renewal: %r", execution_id, error
            )
