"""POSTs one JSON body again and again from ``concurrency`` connections, each waiting for its answer.

Reports when it started, how long each request took, and the status codes it got.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson

from bench.agents import serve


async def _prepare(arguments: dict[str, Any]) -> dict[str, Any]:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=arguments["concurrency"]))
    # One request per connection first, so that every connection is open before the clock starts.
    warm = [session.get(arguments["warmUrl"]) for _ in range(arguments["concurrency"])]
    for response in await asyncio.gather(*warm):
        response.release()
    return {**arguments, "session": session}


async def _work(prepared: dict[str, Any]) -> dict[str, Any]:
    session: aiohttp.ClientSession = prepared["session"]
    body = orjson.dumps(prepared["body"])
    headers = {"content-type": "application/json"}
    remaining = prepared["count"]
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def loop() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            began = time.perf_counter()
            async with session.post(prepared["url"], data=body, headers=headers) as response:
                await response.read()
            latencies.append((time.perf_counter() - began) * 1000)
            code = str(response.status)
            statuses[code] = statuses.get(code, 0) + 1

    started = time.time()
    await asyncio.gather(*(loop() for _ in range(prepared["concurrency"])))
    finished = time.time()
    await session.close()
    return {"started": started, "finished": finished, "latenciesMs": latencies, "statuses": statuses}


if __name__ == "__main__":
    serve(_prepare, _work)
