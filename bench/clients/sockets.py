"""Holds many WebSocket connections and measures what arrives on them.

Modes: ``latency`` (the time from an event's write, its ``timestamp``, to its arrival here, for the events
written after ``go``), ``count`` (how many messages arrive, and when the last did) and ``idle`` (hold the
connections open until the bench says ``stop``).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import aiohttp
import orjson

from bench.agents import next_line, serve

_CONNECT_AT_ONCE = 50


class _Socket:
    """One connection and what it saw."""

    __slots__ = ("ws", "received", "first", "last", "close_code")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received = 0
        self.first = 0.0
        self.last = 0.0
        self.close_code: int | None = None


async def _prepare(arguments: dict[str, Any]) -> dict[str, Any]:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None))
    gate = asyncio.Semaphore(_CONNECT_AT_ONCE)

    async def connect(url: str) -> _Socket:
        async with gate:
            ws = await session.ws_connect(url, max_msg_size=0, autoping=True)
            if arguments.get("snapshot"):
                first = await ws.receive()
                if first.type is not aiohttp.WSMsgType.TEXT or '"type":"snapshot"' not in first.data[:40]:
                    raise RuntimeError(f"expected a snapshot from {url}, got {first.type}")
            return _Socket(ws)

    sockets = await asyncio.gather(*(connect(url) for url in arguments["urls"]))
    return {**arguments, "session": session, "sockets": sockets}


async def _read(socket: _Socket, on_message: Any, expect: int | None) -> None:
    async for message in socket.ws:
        if message.type is not aiohttp.WSMsgType.TEXT:
            break
        now = time.time()
        if not socket.received:
            socket.first = now
        socket.received += 1
        socket.last = now
        on_message(message.data, now)
        if socket.received == expect:
            break
    socket.close_code = socket.ws.close_code


async def _work(prepared: dict[str, Any]) -> dict[str, Any]:
    sockets: list[_Socket] = prepared["sockets"]
    mode = prepared["mode"]
    started = time.time()
    latencies: list[float] = []
    written_at: dict[str, float] = {}

    def measure(data: str, now: float) -> None:
        stamp = orjson.loads(data)["timestamp"]
        written = written_at.get(stamp)
        if written is None:
            written = written_at[stamp] = datetime.fromisoformat(stamp).timestamp()
        if written >= started:
            latencies.append((now - written) * 1000)

    def ignore(data: str, now: float) -> None:
        return None

    expect = prepared.get("expect")
    readers = [asyncio.create_task(_read(s, measure if mode == "latency" else ignore, expect)) for s in sockets]
    if mode == "latency":
        await asyncio.sleep(prepared["seconds"])
    elif mode == "count":
        await asyncio.wait(readers, timeout=prepared["timeout"])
    else:
        await next_line()
    for socket in sockets:
        await socket.ws.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    await prepared["session"].close()
    codes: dict[str, int] = {}
    for socket in sockets:
        codes[str(socket.close_code)] = codes.get(str(socket.close_code), 0) + 1
    return {
        "started": started,
        "received": sum(s.received for s in sockets),
        "first": min((s.first for s in sockets if s.received), default=0.0),
        "last": max((s.last for s in sockets), default=0.0),
        "closeCodes": codes,
        "latenciesMs": latencies,
    }


if __name__ == "__main__":
    serve(_prepare, _work)
