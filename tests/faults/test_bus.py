"""The event bus keeps what Redis refused, in order and up to its bound, and sends it once Redis takes it.

Redis refuses the bus's PUBLISH through an ACL (a refusal that reaches Redis executes nothing, so every
event that arrives was sent by a retry); the subscriber, on the default user, listens throughout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from hub.bus import EventBus
from hub.events import Event, EventType, utc_now
from hub.keys import events_channel
from hub.local_redis import LocalRedis

_EXECUTION = "bus-outage"
_PASSWORD = "bus-password"


def _event(seq: int) -> Event:
    timestamp = utc_now()
    wire = Event.wire(_EXECUTION, seq, EventType.LOG.value, None, timestamp, "{}")
    return Event(_EXECUTION, seq, EventType.LOG.value, None, timestamp, wire)


@pytest_asyncio.fixture(loop_scope="session")
async def admin() -> AsyncIterator[Redis]:
    """A private Redis with a user ``bus`` that may not publish until a test allows it."""
    with LocalRedis() as server:
        client = Redis.from_url(server.url)
        await client.acl_setuser(
            "bus", enabled=True, passwords=[f"+{_PASSWORD}"], keys=["*"], channels=["*"], commands=["+@all", "-publish"]
        )
        try:
            yield client
        finally:
            await client.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def subscriber(admin: Redis) -> AsyncIterator[PubSub]:
    async with admin.pubsub() as pubsub:
        await pubsub.subscribe(events_channel(_EXECUTION))
        yield pubsub


async def _bus(admin: Redis, max_queued: int) -> EventBus:
    port = admin.connection_pool.connection_kwargs["port"]
    client = Redis.from_url(f"redis://bus:{_PASSWORD}@127.0.0.1:{port}/0")
    bus = EventBus(client, 1.0, max_queued=max_queued, retry_seconds=0.05)
    await bus.start()
    return bus


async def _refused(caplog: pytest.LogCaptureFixture) -> None:
    while not any("could not publish" in record.getMessage() for record in caplog.records):
        await asyncio.sleep(0.02)


async def _received_until(subscriber: PubSub, last_seq: int) -> list[int]:
    seqs: list[int] = []
    async with asyncio.timeout(60):
        while last_seq not in seqs:
            message = await subscriber.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is not None:
                seqs.append(Event.parse(message["data"]).seq)
    return seqs


async def test_events_refused_by_redis_go_out_in_order_once_it_takes_them(
    admin: Redis, subscriber: PubSub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.bus")
    bus = await _bus(admin, max_queued=100)
    try:
        await bus.publish([_event(1), _event(2)])
        await _refused(caplog)
        await bus.publish([_event(3)])
        await admin.acl_setuser("bus", commands=["+publish"])
        assert await _received_until(subscriber, 3) == [1, 2, 3]
    finally:
        await admin.acl_setuser("bus", commands=["-publish"])
        await bus.stop()


async def test_events_past_the_bound_are_dropped_while_redis_refuses(
    admin: Redis, subscriber: PubSub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="hub.bus")
    bus = await _bus(admin, max_queued=2)
    try:
        await bus.publish([_event(1)])
        await _refused(caplog)
        await bus.publish([_event(2), _event(3), _event(4)])
        await admin.acl_setuser("bus", commands=["+publish"])
        assert await _received_until(subscriber, 2) == [1, 2]
        await bus.publish([_event(5)])
        assert await _received_until(subscriber, 5) == [5]
    finally:
        await admin.acl_setuser("bus", commands=["-publish"])
        await bus.stop()
