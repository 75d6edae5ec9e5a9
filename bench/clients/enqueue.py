"""Enqueues ``count`` bare arq jobs of one function, ``concurrency`` at a time, as fast as Redis takes them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from bench.agents import serve


async def _prepare(arguments: dict[str, Any]) -> dict[str, Any]:
    pool = await create_pool(RedisSettings.from_dsn(arguments["redisUrl"]))
    return {**arguments, "pool": pool}


async def _work(prepared: dict[str, Any]) -> dict[str, Any]:
    pool: ArqRedis = prepared["pool"]
    remaining = prepared["count"]

    async def loop() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await pool.enqueue_job(
                prepared["function"],
                *prepared["args"],
                _job_id=f"{prepared['jobPrefix']}{remaining}",
                _queue_name=prepared["queue"],
            )

    started = time.time()
    await asyncio.gather(*(loop() for _ in range(prepared["concurrency"])))
    finished = time.time()
    await pool.aclose()
    return {"started": started, "finished": finished}


if __name__ == "__main__":
    serve(_prepare, _work)
