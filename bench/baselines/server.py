"""The minimal Starlette server the hub's socket and REST figures are measured against.

``WS /ws/{channel}``: a broadcast endpoint as one writes it by hand, one Redis pattern subscription and one
queue per socket. ``POST /api/workflows/execute``: parses the JSON body and answers 202, storing nothing.
``GET /sleep?ms=`` answers after a delay (the slow external service the live-latency workflow calls).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
import uvicorn
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

CHANNEL_PREFIX = "bench:events:"

_queues: dict[str, set[asyncio.Queue[str]]] = {}


async def _health(request: Request) -> Response:
    return JSONResponse({"available": True})


async def _sleep(request: Request) -> Response:
    milliseconds = float(request.query_params.get("ms", "0"))
    await asyncio.sleep(milliseconds / 1000)
    return JSONResponse({"sleptMs": milliseconds})


async def _execute(request: Request) -> Response:
    body = orjson.loads(await request.body())
    if not isinstance(body, dict) or not body.get("workflowId"):
        return JSONResponse({"error": "workflowId is required"}, status_code=422)
    return JSONResponse({"executionId": str(uuid.uuid4()), "status": "pending"}, status_code=202)


async def _broadcast(websocket: WebSocket) -> None:
    await websocket.accept()
    queue: asyncio.Queue[str] = asyncio.Queue()
    watchers = _queues.setdefault(websocket.path_params["channel"], set())
    watchers.add(queue)
    try:
        while True:
            await websocket.send_text(await queue.get())
    finally:
        watchers.discard(queue)


async def _subscribe(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    async with redis.pubsub() as pubsub:
        await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
            if message is not None:
                text = message["data"].decode()
                for queue in _queues.get(message["channel"].decode()[len(CHANNEL_PREFIX) :], ()):
                    queue.put_nowait(text)


def create_app(redis_url: str | None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_subscribe(redis_url)) if redis_url else None
        yield
        if task is not None:
            task.cancel()

    routes: list[Any] = [
        Route("/api/health", _health),
        Route("/sleep", _sleep),
        Route("/api/workflows/execute", _execute, methods=["POST"]),
        WebSocketRoute("/ws/{channel}", _broadcast),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis")
    arguments = parser.parse_args()
    # The hub's own uvicorn settings, so the two servers differ only in the application.
    uvicorn.run(
        create_app(arguments.redis),
        host="127.0.0.1",
        port=arguments.port,
        log_level="info",
        ws_max_size=1024 * 1024,
        timeout_graceful_shutdown=1,
    )


if __name__ == "__main__":
    main()
