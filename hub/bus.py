"""The event bus: Redis pub/sub as the fast path behind the store.

A publish that fails (Redis restarting) is logged and dropped: the event is already stored, and every
subscriber catches up from the store by seq.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.events import Event
from hub.keys import CANCEL_CHANNEL, events_channel

logger = logging.getLogger(__name__)


class EventBus:
    """Publishes stored events and cancel requests on Redis."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def publish(self, events: Iterable[Event]) -> None:
        batch = list(events)
        if not batch:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for event in batch:
                    pipe.publish(events_channel(event.execution_id), event.json)
                await pipe.execute()
        except (RedisError, OSError) as error:
            logger.warning(
                "could not publish %d event(s), subscribers will read them from the store: %s", len(batch), error
            )

    async def request_cancel(self, execution_id: str) -> None:
        try:
            await self._redis.publish(CANCEL_CHANNEL, execution_id)
        except (RedisError, OSError) as error:
            logger.warning(
                "could not announce cancel of %s; its worker sees it at the next lease renewal: %s", execution_id, error
            )
