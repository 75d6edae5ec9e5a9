"""``GET /`` and ``GET /api/health``: is the hub able to run workflows right now, and if not, why."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.api import schemas
from hub.api.openapi import ApiRoute, Operation
from hub.keys import WORKER_HEARTBEAT_PREFIX
from hub.services import services

_TIMEOUT_SECONDS = 2.0


async def health(request: Request) -> Response:
    hub = services(request)
    problems: list[str] = []
    redis_ok = database_ok = True
    workers = 0
    try:
        async with asyncio.timeout(_TIMEOUT_SECONDS):
            await hub.redis.ping()
            async for _ in hub.redis.scan_iter(match=f"{WORKER_HEARTBEAT_PREFIX}*", count=500):
                workers += 1
    except Exception as error:  # noqa: BLE001 - any failure here means "Redis is down", and says so
        redis_ok = False
        problems.append(f"Redis is unreachable ({type(error).__name__})")
    try:
        async with asyncio.timeout(_TIMEOUT_SECONDS):
            await hub.store.ping()
    except Exception as error:  # noqa: BLE001 - as above, for the database
        database_ok = False
        problems.append(f"the database is unreachable ({type(error).__name__})")
    if redis_ok and workers == 0:
        problems.append("no worker has sent a heartbeat; start one with `hub worker`")
    available = not problems
    body = schemas.Health(
        available=available,
        redis=redis_ok,
        database=database_ok,
        workers=workers,
        engine=hub.settings.engine.value,
        liveSockets=hub.fanout.watched,
        message="Hub is running - background execution enabled" if available else "; ".join(problems),
    )
    return JSONResponse(body, status_code=200 if available else 503)


_HEALTH = Operation(
    "Whether the hub can run workflows now", {200: schemas.Health, 503: schemas.Health}, tags=("health",)
)

routes = [
    ApiRoute("/", health, method="GET", operation=_HEALTH, name="root_health"),
    ApiRoute("/api/health", health, method="GET", operation=_HEALTH),
]
