"""Publishes events on Redis in the hub's wire format, standing in for a worker.

``burst`` publishes ``count`` events on every stream as fast as Redis takes them, the last one terminal;
``replay`` publishes one event at each ``[offset seconds, stream index]`` of ``schedule``: the moments the
hub's worker wrote its events, so the baseline gets the same bursts. Each event's ``timestamp`` is taken as
it is published, in the hub's format, so latency is measured the same way for the hub and the baseline.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.asyncio import Redis

from bench.agents import serve
from hub.events import Event, EventType, dumps, utc_now

_BATCH = 100
_DATA = dumps(
    {
        "nodeType": "addField",
        "label": "Add a field",
        "duration": 0.001,
        "message": "Added 1 field(s)",
        "output": {"city": "Madrid", "temperature": 35, "alert": "heat", "checked": True},
        "progress": {"totalNodes": 5, "completedNodes": 3, "failedNodes": 0, "skippedNodes": 0, "percentage": 60},
    }
)


def _event(stream: dict[str, Any], seq: int, terminal: bool) -> str:
    kind = EventType.EXECUTION_COMPLETED if terminal else EventType.NODE_COMPLETED
    node = None if terminal else "n3"
    return Event.wire(stream["executionId"], seq, kind.value, node, utc_now(), _DATA)


async def _prepare(arguments: dict[str, Any]) -> dict[str, Any]:
    redis = Redis.from_url(arguments["redisUrl"])
    await redis.ping()
    return {**arguments, "redis": redis}


async def _burst(redis: Redis, streams: list[dict[str, Any]], count: int) -> int:
    published = 0
    for first in range(0, count, _BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for offset in range(first, min(first + _BATCH, count)):
                for stream in streams:
                    pipe.publish(stream["channel"], _event(stream, stream["firstSeq"] + offset, offset == count - 1))
                    published += 1
            await pipe.execute()
    return published


async def _replay(redis: Redis, streams: list[dict[str, Any]], schedule: list[tuple[float, int]]) -> int:
    began = time.monotonic()
    seqs = [stream["firstSeq"] for stream in streams]
    for offset, index in schedule:
        delay = began + offset - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await redis.publish(streams[index]["channel"], _event(streams[index], seqs[index], False))
        seqs[index] += 1
    return len(schedule)


async def _work(prepared: dict[str, Any]) -> dict[str, Any]:
    redis: Redis = prepared["redis"]
    started = time.time()
    if prepared["mode"] == "burst":
        published = await _burst(redis, prepared["streams"], prepared["count"])
    else:
        published = await _replay(redis, prepared["streams"], prepared["schedule"])
    finished = time.time()
    await redis.aclose()
    return {"started": started, "finished": finished, "published": published}


if __name__ == "__main__":
    serve(_prepare, _work)
