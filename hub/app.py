"""The app factory: builds the Starlette app from a ``Settings``, with its clients made in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, WebSocketRoute
from starlette.staticfiles import StaticFiles

from hub.api import executions, files, health, openapi, push, ui, workflows
from hub.auth import BearerAuth
from hub.blobs import open_blob_store
from hub.body_limit import BodyLimit, Limit
from hub.bus import EventBus
from hub.errors import HubError, InvalidRequest
from hub.fanout import EventFanout
from hub.files import FileCatalog
from hub.hosts import HostCheck
from hub.live import execution_socket
from hub.origins import OriginCheck
from hub.queue import ExecutionQueue
from hub.redis_client import redis_client
from hub.services import Services
from hub.settings import Settings
from hub.storage import open_storage
from hub.uploads import ENVELOPE_BYTES

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await open_storage(settings)
        blobs = await open_blob_store(settings)
        redis = redis_client(settings)
        arq_redis = ArqRedis(connection_pool=redis.connection_pool)
        fanout = EventFanout(
            lambda: redis_client(settings), settings.socket_queue_size, store.last_seqs, settings.socket_check_seconds
        )
        await fanout.start()
        bus = EventBus(redis, settings.redis_timeout_seconds)
        await bus.start()
        app.state.services = Services(
            settings=settings,
            store=store,
            redis=redis,
            bus=bus,
            queue=ExecutionQueue(arq_redis, settings.queue_name, settings.redis_timeout_seconds),
            fanout=fanout,
            files=FileCatalog(store.files, blobs),
        )
        app.state.store, app.state.fanout = store, fanout
        try:
            yield
        finally:
            await bus.stop()
            await fanout.stop()
            await redis.aclose()
            await blobs.close()
            await store.close()

    routes: list[BaseRoute] = [
        *health.routes,
        *workflows.routes,
        *executions.routes,
        *files.routes,
        *ui.routes,
        *push.routes,
        *openapi.routes,
        WebSocketRoute("/ws/executions/{execution_id}", execution_socket),
    ]
    if STATIC_DIR.is_dir():
        routes.append(Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"))
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=_middleware(settings),
        exception_handlers={HubError: _hub_error, HTTPException: _http_error, Exception: _unexpected_error},
    )


def _middleware(settings: Settings) -> list[Middleware]:
    """Outermost first: an unknown Host, a cross-site origin and an oversized body are refused before auth."""
    upload = Limit(settings.max_upload_mb, "HUB_MAX_UPLOAD_MB", slack_bytes=ENVELOPE_BYTES)
    return [
        Middleware(HostCheck, allowed_hosts=settings.trusted_hosts()),
        Middleware(OriginCheck, allowed=settings.own_origins()),
        Middleware(
            BodyLimit,
            default=Limit(settings.max_body_mb, "HUB_MAX_BODY_MB"),
            per_path={"/api/files": upload},
        ),
        Middleware(BearerAuth, token=settings.api_token),
    ]


async def _hub_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HubError)
    body: dict[str, Any] = {"error": error.message}
    if isinstance(error, InvalidRequest):
        body["problems"] = [problem.to_dict() for problem in error.problems]
    return JSONResponse(body, status_code=error.status)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return JSONResponse({"error": error.detail}, status_code=error.status_code, headers=error.headers)


async def _unexpected_error(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return JSONResponse({"error": "Internal error; the hub's log has the details"}, status_code=500)
