"""Real processes for the tests: a private Redis, the hub under uvicorn, arq workers, and small servers
that play external services. Everything started here is stopped by the fixture that started it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import redis
import uvicorn
import websockets

from hub.local_redis import LocalRedis
from hub.processes import free_port
from hub.settings import Settings
from hub.storage import Connection, Engine, Row, create_engine

ROOT = Path(__file__).resolve().parent.parent
TERMINAL = {"completed", "failed", "cancelled"}
T = TypeVar("T")
LOOPBACK_ALLOW = "127.0.0.0/8"
"""HUB_EGRESS_ALLOW for tests: the fake services all listen on loopback, which the guard refuses by default."""


class ServiceServer:
    """An ASGI app served by uvicorn in a background thread, on a free port of 127.0.0.1."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServiceServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("a test service did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class HubStack:
    """A hub process and worker processes sharing one database (a SQLite file unless ``HUB_DATABASE_URL`` says
    otherwise) and one Redis. With ``own_data_dirs`` each process gets a ``HUB_DATA_DIR`` of its own, as on
    machines of its own."""

    directory: Path
    redis: LocalRedis
    engine: str = "native"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    own_data_dirs: bool = False
    port: int = field(default_factory=free_port)
    hub: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return self.directory / "hub.sqlite3"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("HUB_", "PREFECT_"))}
        env.update(
            {
                "HUB_HOST": "127.0.0.1",
                "HUB_PORT": str(self.port),
                "HUB_DATA_DIR": str(self.directory),
                "HUB_ENGINE": self.engine,
                "REDIS_URL": self.redis.url,
                "HUB_LOG_LEVEL": "INFO",
                "HUB_EGRESS_ALLOW": LOOPBACK_ALLOW,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if "HUB_DATABASE_URL" not in self.extra_env:
            env["HUB_DATABASE"] = str(self.database)
        env.update(self.extra_env)
        return env

    def settings(self) -> Settings:
        """The settings the stack's processes run with, for a test that opens the same store."""
        return Settings.from_env(self.env(), env_file=None)

    def data_dir(self, name: str) -> Path:
        """The ``HUB_DATA_DIR`` of the process called ``name`` (``hub``, ``worker-0``...)."""
        # Not ``self.directory / name``: processes run in ``self.directory``, where a folder ``hub`` would
        # shadow the ``hub`` package.
        return self.directory / f"data-{name}" if self.own_data_dirs else self.directory

    async def query(self, sql: str, *parameters: object) -> list[Row]:
        """Runs an operator's SQL on the stack's database, whichever it is (``?`` placeholders, camelCase names)."""
        return await self._on_store(lambda engine: engine.fetch_all(sql, parameters))

    async def execute(self, sql: str, *parameters: object) -> int:
        """Runs one statement that changes the stack's database behind the hub's back; the number of rows it changed."""
        return await self._on_store(
            lambda engine: engine.write(lambda connection: _rowcount(connection, sql, parameters))
        )

    async def _on_store(self, use: Callable[[Engine], Awaitable[T]]) -> T:
        engine = create_engine(self.settings().database_url)
        await engine.open()
        try:
            return await use(engine)
        finally:
            await engine.close()

    def _spawn(
        self, name: str, module: str, *arguments: str, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.directory / f"{name}.log").open("ab")
        self._logs.append(log)
        environment = self.env()
        if self.own_data_dirs:
            self.data_dir(name).mkdir(exist_ok=True)
            environment["HUB_DATA_DIR"] = str(self.data_dir(name))
        return subprocess.Popen(
            [sys.executable, "-m", module, *arguments],
            cwd=self.directory,
            env={**environment, **(env or {})},
            stdout=log,
            stderr=log,
        )

    def start_hub(self) -> None:
        self.hub = self._spawn("hub", "hub", "serve")
        self._wait(lambda: self._health() is not None, "the hub to serve", self.hub)

    def start_worker(self, wait: bool = True, **env: str) -> subprocess.Popen[bytes]:
        """A worker; ``env`` adds to or overrides the stack's settings for this worker alone."""
        worker = self._spawn(f"worker-{len(self.workers)}", "jobs", env=env)
        self.workers.append(worker)
        if wait:
            self._wait(lambda: self._beating(worker.pid), "a worker heartbeat", worker, timeout=120)
        return worker

    def _beating(self, pid: int) -> bool:
        client = redis.Redis.from_url(self.redis.url)
        try:
            return bool(client.keys(f"hub:workers:*:{pid}:*"))
        except redis.RedisError:
            return False
        finally:
            client.close()

    def restart_hub(self, signum: int = signal.SIGKILL) -> None:
        """Stops the hub (killed by default) and starts it again on the same port."""
        self.stop_process(self.hub, signum)
        self.start_hub()

    def restart_redis(self) -> None:
        """Stops the stack's Redis, losing everything in it, and starts it again on the same port."""
        self.redis.stop()
        self.redis.start()

    def worker_running(self, owner: str) -> subprocess.Popen[bytes]:
        """The worker process behind a lease owner id (``host:pid:suffix``)."""
        pid = int(owner.split(":")[1])
        return next(worker for worker in self.workers if worker.pid == pid)

    def live_workers(self) -> list[subprocess.Popen[bytes]]:
        return [worker for worker in self.workers if worker.poll() is None]

    def worker_count(self) -> int:
        health = self._health()
        return int(health["workers"]) if health else 0

    def _health(self) -> dict[str, Any] | None:
        try:
            return httpx.get(f"{self.url}/api/health", timeout=2).json()  # type: ignore[no-any-return]
        except httpx.HTTPError:
            return None

    def _wait(self, ready: Any, what: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None:
                raise RuntimeError(f"process exited while waiting for {what}; see {self.directory}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}; see {self.directory}")
            time.sleep(0.1)

    def stop_process(self, process: subprocess.Popen[bytes] | None, signum: int = signal.SIGTERM) -> None:
        if process is None or process.poll() is not None:
            return
        process.send_signal(signum)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for worker in self.workers:
            self.stop_process(worker)
        self.stop_process(self.hub)
        for log in self._logs:
            log.close()

    def __enter__(self) -> HubStack:
        self.start_hub()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def hub_stack(directory: Path, engine: str = "native", workers: int = 1, **env: str) -> Iterator[HubStack]:
    directory.mkdir(parents=True, exist_ok=True)
    with LocalRedis() as redis, HubStack(directory, redis, engine, env) as stack:
        for _ in range(workers):
            stack.start_worker()
        yield stack


def _rowcount(connection: Connection, sql: str, parameters: Sequence[object]) -> int:
    return connection.execute(sql, parameters).rowcount


@dataclass
class ScaledOut:
    """Several hubs, each with its workers, sharing one database, one Redis and one file store: the deployment
    of "Running on several machines", every process with a ``HUB_DATA_DIR`` of its own."""

    stacks: list[HubStack]

    def workers(self) -> list[subprocess.Popen[bytes]]:
        return [worker for stack in self.stacks for worker in stack.workers]

    def worker_running(self, owner: str) -> subprocess.Popen[bytes]:
        """The worker process, on whichever stack, behind a lease owner id (``host:pid:suffix``)."""
        pid = int(owner.split(":")[1])
        return next(worker for worker in self.workers() if worker.pid == pid)

    def restore(self) -> None:
        """Starts again every hub and worker a test stopped, so the next test finds the whole deployment."""
        for stack in self.stacks:
            if stack.hub is None or stack.hub.poll() is not None:
                stack.start_hub()
            dead = len(stack.workers) - len(stack.live_workers())
            stack.workers = stack.live_workers()
            for _ in range(dead):
                stack.start_worker()


@contextlib.contextmanager
def scaled_out(
    directory: Path, database_url: str, hubs: int = 2, workers_per_hub: int = 1, **env: str
) -> Iterator[ScaledOut]:
    """``hubs`` hubs with ``workers_per_hub`` workers each on the database at ``database_url`` (already migrated),
    a private Redis and a file store in one shared folder."""
    files = directory / "shared-files"
    files.mkdir(parents=True, exist_ok=True)
    shared = {"HUB_DATABASE_URL": database_url, "HUB_FILES_URL": files.as_uri(), **env}
    with LocalRedis() as redis, contextlib.ExitStack() as running:
        stacks = []
        for index in range(hubs):
            stack = HubStack(directory / f"machine-{index}", redis, "native", shared, own_data_dirs=True)
            stack.directory.mkdir()
            stacks.append(running.enter_context(stack))
            for _ in range(workers_per_hub):
                stack.start_worker()
        yield ScaledOut(stacks)


class HubClient:
    """The REST and WebSocket calls the tests make, as the Node server and a browser make them."""

    def __init__(self, stack: HubStack) -> None:
        self.stack = stack
        self.http = httpx.AsyncClient(base_url=stack.url, timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    async def execute(self, workflow: dict[str, Any], inputs: dict[str, Any] | None = None, **extra: Any) -> str:
        body = {"workflowId": workflow.get("id", "wf"), "workflow": workflow, "inputs": inputs or {}, **extra}
        response = await self.http.post("/api/workflows/execute", json=body)
        assert response.status_code == 202, response.text
        execution_id: str = response.json()["executionId"]
        return execution_id

    async def execution(self, execution_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/executions/{execution_id}")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def wait_for(self, execution_id: str, statuses: set[str] = TERMINAL, timeout: float = 90) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = await self.execution(execution_id)
            if body["status"] in statuses:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"execution stayed {body['status']}, wanted {statuses}: {body}")
            await asyncio.sleep(0.1)

    async def events(self, execution_id: str, after: int = 0) -> list[dict[str, Any]]:
        response = await self.http.get(f"/api/executions/{execution_id}/events", params={"after": after})
        assert response.status_code == 200, response.text
        return response.json()["events"]  # type: ignore[no-any-return]

    async def events_of_type(
        self, execution_id: str, event_type: str, count: int, timeout: float = 120
    ) -> list[dict[str, Any]]:
        """The stored events of one type, once there are at least ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [event for event in await self.events(execution_id) if event["type"] == event_type]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} {event_type} events for {execution_id}")
            await asyncio.sleep(0.1)

    async def first_event(self, execution_id: str, event_type: str, node_id: str | None = None) -> dict[str, Any]:
        """Waits for the first stored event of a type (on a node, if given), and returns it."""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            for event in await self.events(execution_id):
                if event["type"] == event_type and (node_id is None or event.get("nodeId") == node_id):
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {event_type} event for {node_id} in {execution_id}")

    async def watch(self, execution_id: str, after: int | None = None, timeout: float = 90) -> list[dict[str, Any]]:
        """Every message a socket receives until the server closes it."""
        query = f"?after={after}" if after is not None else ""
        messages = []
        async with asyncio.timeout(timeout):
            async with websockets.connect(f"{self.stack.ws_url}/ws/executions/{execution_id}{query}") as socket:
                async for message in socket:
                    messages.append(orjson.loads(message))
        return messages


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [event["seq"] for event in events if "seq" in event]


def gapless(events: list[dict[str, Any]]) -> bool:
    """Whether the events are an execution's seqs 1, 2, 3... each once, in order."""
    return seqs(events) == list(range(1, len(events) + 1))


def lease_owner(events: list[dict[str, Any]]) -> str:
    """The worker (``host:pid:suffix``) that took the execution last, by its stored events."""
    claims = [e for e in events if e["type"] in ("execution.started", "execution.recovered", "execution.resumed")]
    return str(claims[-1]["data"]["worker"])


def linear(*nodes: tuple[str, str, dict[str, Any]], workflow_id: str = "wf") -> dict[str, Any]:
    """A workflow whose nodes run one after another."""
    return {
        "id": workflow_id,
        "name": workflow_id,
        "nodes": [{"id": node_id, "type": kind, "label": node_id, "config": config} for node_id, kind, config in nodes],
        "connections": [{"fromNodeId": a[0], "toNodeId": b[0]} for a, b in zip(nodes, nodes[1:], strict=False)],
    }
