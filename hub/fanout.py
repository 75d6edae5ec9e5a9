"""Live events for every socket of this hub process, from one Redis pattern subscription.

Each event is parsed once and handed to the bounded queue of every socket watching its execution. A
socket whose queue is full is marked overflowed and closed by its endpoint with a resume code: memory
stays bounded and the client, resuming with ``after=``, loses nothing.

Pub/sub can lose an event (a worker's publish failed while Redis restarted), which a socket notices at
the next event of its execution as a gap. So that a lost *last* event cannot leave a socket waiting, the
fan-out compares, now and then, every watched execution's stored ``lastSeq`` with its sockets' cursors,
in one query, and tells the sockets that are behind to catch up from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Final

from redis.asyncio import Redis
from redis.exceptions import RedisError

from hub.events import Event
from hub.keys import EVENTS_PATTERN, events_channel

logger = logging.getLogger(__name__)

RESYNC: Final = "resync"
"""Put in every queue after the subscription was (re)established: events may have been missed meanwhile."""

_PREFIX = events_channel("").encode()


class Subscription:
    """One socket's view of one execution's live events."""

    __slots__ = ("execution_id", "queue", "overflowed", "cursor")

    def __init__(self, execution_id: str, size: int) -> None:
        self.execution_id = execution_id
        self.queue: asyncio.Queue[Event | str] = asyncio.Queue(size)
        self.overflowed = False
        self.cursor = 0
        """The last seq its socket was sent."""

    def offer(self, item: Event | str) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True


class EventFanout:
    """Holds the process's one pattern subscription and routes events to subscriptions."""

    def __init__(
        self,
        connect: Callable[[], Redis],
        queue_size: int,
        last_seqs: Callable[[list[str]], Awaitable[dict[str, int]]],
        check_seconds: float = 30.0,
    ) -> None:
        self._connect = connect
        self._queue_size = queue_size
        self._last_seqs = last_seqs
        self._check_seconds = check_seconds
        self._subscriptions: dict[str, set[Subscription]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.connected = asyncio.Event()

    @property
    def watched(self) -> int:
        """Sockets subscribed right now."""
        return sum(len(subscriptions) for subscriptions in self._subscriptions.values())

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="event-fanout"),
            asyncio.create_task(self._check_forever(), name="event-fanout-check"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @contextlib.contextmanager
    def subscribe(self, execution_id: str) -> Iterator[Subscription]:
        subscription = Subscription(execution_id, self._queue_size)
        self._subscriptions.setdefault(execution_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            watchers = self._subscriptions.get(execution_id)
            if watchers is not None:
                watchers.discard(subscription)
                if not watchers:
                    del self._subscriptions[execution_id]

    def dispatch(self, channel: bytes, data: bytes) -> None:
        watchers = self._subscriptions.get(channel[len(_PREFIX) :].decode())
        if not watchers:
            return
        event = Event.parse(data)
        for subscription in watchers:
            subscription.offer(event)

    def _resync_all(self) -> None:
        for watchers in self._subscriptions.values():
            for subscription in watchers:
                subscription.offer(RESYNC)

    async def check_cursors(self) -> None:
        """Tells every socket whose cursor is behind its execution's stored ``lastSeq`` to catch up."""
        watched = list(self._subscriptions)
        for start in range(0, len(watched), 500):
            latest = await self._last_seqs(watched[start : start + 500])
            for execution_id, last_seq in latest.items():
                for subscription in self._subscriptions.get(execution_id, ()):
                    if subscription.cursor < last_seq:
                        subscription.offer(RESYNC)

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self._check_seconds)
            try:
                await self.check_cursors()
            except Exception:  # noqa: BLE001 - the next check tries again
                logger.warning("could not compare socket cursors with the store", exc_info=True)

    async def _run(self) -> None:
        delay = 0.1
        while True:
            redis = self._connect()
            try:
                async with redis.pubsub() as pubsub:
                    await pubsub.psubscribe(EVENTS_PATTERN)
                    self.connected.set()
                    self._resync_all()
                    delay = 0.1
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                        if message is not None and message["type"] == "pmessage":
                            self.dispatch(message["channel"], message["data"])
            except (RedisError, OSError) as error:
                if self.connected.is_set():
                    logger.warning("lost the Redis event subscription, reconnecting: %s", error)
                self.connected.clear()
            finally:
                await redis.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
