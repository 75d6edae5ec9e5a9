"""The worker process: arq polling Redis for ``run_execution`` jobs, plus heartbeat, cancel listener, sweeper.

SIGTERM or SIGINT drains: the worker stops taking jobs, lets running nodes finish for up to
``HUB_WORKER_GRACE_SECONDS``, hands each unfinished execution back (lease released, job re-queued) and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from arq import Worker
from arq.worker import func
from redis.asyncio import Redis
from redis.exceptions import RedisError

from handlers.egress import guarded_client
from hub.blobs import open_blob_store
from hub.bus import EventBus
from hub.errors import SchemaOutdated
from hub.files import FileCatalog
from hub.keys import CANCEL_CHANNEL, RUN_EXECUTION, worker_heartbeat
from hub.queue import ExecutionQueue
from hub.redaction import Redactor, install_log_redaction, quiet_chatty_loggers
from hub.redis_client import arq_client, redis_client
from hub.settings import Engine as EngineName
from hub.settings import Settings
from hub.storage import open_storage, prepare_schema
from jobs.deliveries import Deliverer
from jobs.engines import Engine, NativeEngine, create_engine
from jobs.execution import StopReason, WorkerState, run_execution
from jobs.prefect_server import PrivatePrefectServer, claim_prefect_home
from jobs.resources import ResourceCache
from jobs.runner import NodeServices
from jobs.sweeper import sweep_forever

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5.0
_FOREVER_SECONDS = 10 * 365 * 24 * 3600


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@contextlib.contextmanager
def prefect_api(settings: Settings) -> Iterator[None]:
    """Quiet Prefect defaults (the environment wins), and a private Prefect server when none is configured."""
    for name, value in (
        ("PREFECT_LOGGING_LEVEL", "WARNING"),
        ("PREFECT_SERVER_LOGGING_LEVEL", "WARNING"),
        ("PREFECT_SERVER_ANALYTICS_ENABLED", "false"),
        ("DO_NOT_TRACK", "1"),
    ):
        os.environ.setdefault(name, value)
    if settings.prefect_api_url:
        os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)
    if "PREFECT_API_URL" in os.environ:
        yield
        return
    home, lock = claim_prefect_home(settings.data_dir / "prefect")
    os.environ["PREFECT_HOME"] = str(home)
    server = PrivatePrefectServer(home).start()
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        yield
    finally:
        server.stop()
        lock.close()


async def _warm_up(engine: Engine) -> None:
    """Runs one empty flow, so that the first execution does not pay for Prefect's first-use costs."""

    async def nothing() -> None:
        return None

    await engine.run_flow("warm-up", "hub-warm-up", nothing)


async def _heartbeat(redis: Redis, state: WorkerState) -> None:
    key = worker_heartbeat(state.worker_id)
    started = time.time()
    while True:
        info = {
            "workerId": state.worker_id,
            "pid": os.getpid(),
            "running": len(state.runs),
            "startedAt": started,
            "engine": state.settings.engine.value,
            "draining": state.draining,
        }
        with contextlib.suppress(RedisError, OSError):
            await redis.set(key, json.dumps(info), ex=int(HEARTBEAT_SECONDS * 3))
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def _listen_for_cancels(settings: Settings, state: WorkerState) -> None:
    """Stops a local run the moment its cancel is requested; the lease renewal is the slower fallback."""
    while True:
        redis = redis_client(settings)
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(CANCEL_CHANNEL)
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
                    if message is not None:
                        run = state.runs.get(message["data"].decode())
                        if run is not None:
                            run.stop(StopReason.CANCELLED)
        except (RedisError, OSError):
            await asyncio.sleep(1.0)
        finally:
            await redis.aclose()


async def _startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx["settings"]
    store = await open_storage(settings)
    engines: dict[str, Engine] = {EngineName.NATIVE.value: NativeEngine()}
    if settings.engine is EngineName.PREFECT:
        engines[EngineName.PREFECT.value] = create_engine(EngineName.PREFECT.value)
    bus = EventBus(ctx["redis"], settings.redis_timeout_seconds)
    await bus.start()
    state = WorkerState(
        settings=settings,
        worker_id=ctx["worker_id"],
        store=store,
        bus=bus,
        queue=ExecutionQueue(ctx["redis"], settings.queue_name, settings.redis_timeout_seconds),
        services=NodeServices(
            settings=settings.nodes,
            http=guarded_client(settings.nodes.egress_policy(), timeout=settings.nodes.http_timeout_seconds),
            resources=ResourceCache(),
        ),
        engines=engines,
        files=FileCatalog(store.files, await open_blob_store(settings)),
    )
    ctx["hub"] = state
    ctx["store"] = store
    if EngineName.PREFECT.value in engines:
        await _warm_up(engines[EngineName.PREFECT.value])
    sweep_interval = min(5.0, settings.lease_seconds / 3)
    ctx["background"] = [
        asyncio.create_task(_heartbeat(ctx["redis"], state), name="heartbeat"),
        asyncio.create_task(_listen_for_cancels(settings, state), name="cancel-listener"),
        asyncio.create_task(sweep_forever(state, sweep_interval), name="sweeper"),
        asyncio.create_task(Deliverer(settings, store, state.bus).run_forever(), name="deliveries"),
    ]
    logger.info(
        "worker %s ready (engine %s, %d slots, files in %s)",
        state.worker_id,
        settings.engine,
        settings.worker_concurrency,
        state.files.blobs.url,
    )


async def _shutdown(ctx: dict[str, Any]) -> None:
    for task in ctx.get("background", []):
        task.cancel()
    for task in ctx.get("background", []):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    state: WorkerState | None = ctx.get("hub")
    if state is not None:
        await state.bus.stop()
        with contextlib.suppress(RedisError, OSError):
            await ctx["redis"].delete(worker_heartbeat(state.worker_id))
        await state.services.http.aclose()
        resources = state.services.resources
        if isinstance(resources, ResourceCache):
            await resources.close()
        await state.files.blobs.close()
    if "store" in ctx:
        await ctx["store"].close()


class ResilientWorker(Worker):
    """arq's worker, kept polling through a Redis outage instead of dying on the first connection error.

    Running executions do not need Redis (the store is their record), so they go on; the worker takes new
    jobs again as soon as Redis answers.
    """

    _redis_down = False

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        except (RedisError, OSError) as error:
            if not self._redis_down:
                logger.warning(
                    "Redis is unreachable; running executions go on, polling resumes when it is back: %s", error
                )
            self._redis_down = True
            self._release_leaked_slots()
            await asyncio.sleep(1.0)
        else:
            if self._redis_down:
                logger.info("Redis is back; taking jobs again")
            self._redis_down = False

    async def close(self) -> None:
        """arq's close, except that a Redis that is down cannot stop the shutdown hook from closing the store."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(RedisError, OSError):
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(RedisError, OSError):
            await self.pool.close(close_connection_pool=True)
        self._pool = None

    def _release_leaked_slots(self) -> None:
        """A connection error between taking a slot and starting the job leaves the slot taken; give it back."""
        running = sum(1 for task in self.tasks.values() if not task.done())
        for _ in range(max(0, self.job_counter - running)):
            self.job_counter -= 1
            self.sem.release()


def build_worker(settings: Settings, *, burst: bool = False) -> Worker:
    return ResilientWorker(
        functions=[func(run_execution, name=RUN_EXECUTION, timeout=_FOREVER_SECONDS, max_tries=1000)],
        queue_name=settings.queue_name,
        redis_pool=arq_client(settings),
        on_startup=_startup,
        on_shutdown=_shutdown,
        ctx={"settings": settings, "worker_id": _worker_id()},
        max_jobs=settings.worker_concurrency,
        job_timeout=_FOREVER_SECONDS,
        keep_result=300,
        poll_delay=0.05,
        retry_jobs=False,
        handle_signals=False,
        burst=burst,
        health_check_interval=60,
        log_results=False,
    )


async def serve(settings: Settings) -> None:
    """Runs a worker until SIGTERM or SIGINT, then drains it."""
    worker = build_worker(settings)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    main = asyncio.create_task(worker.async_run(), name="arq")
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({main, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not main.done():
            await _drain(worker, settings)
    finally:
        stopped.cancel()
        main.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await main
        await worker.close()


async def _drain(worker: Worker, settings: Settings) -> None:
    worker.allow_pick_jobs = False
    state: WorkerState | None = worker.ctx.get("hub")
    if state is None:
        return
    state.draining = True
    logger.info("draining: %d execution(s) finish their running nodes, then go to another worker", len(state.runs))
    for run in state.runs.values():
        run.draining.set()
    jobs = [task for task in worker.tasks.values() if not task.done()]
    if jobs:
        _, late = await asyncio.wait(jobs, timeout=settings.grace_seconds)
        for run in list(state.runs.values()):
            run.stop(StopReason.SHUTDOWN)
        if late:
            await asyncio.wait(late, timeout=30)


def main() -> None:
    settings = Settings.from_env()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_chatty_loggers()
    install_log_redaction(Redactor(settings.secrets()))
    try:
        asyncio.run(prepare_schema(settings))
    except SchemaOutdated as error:
        sys.exit(f"hub worker: {error.message}")
    with prefect_api(settings) if settings.engine is EngineName.PREFECT else contextlib.nullcontext():
        asyncio.run(serve(settings))
