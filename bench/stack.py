"""The system under test as a user runs it: a private Redis, ``python -m hub serve`` and ``python -m jobs``.

Every setting is the user's default except the ones a scenario names (the engine, a short lease); the
processes run on the system core and write their logs in the stack's folder. A stack on PostgreSQL gets a
database of its own on the machine's server (127.0.0.1:5432, which is not pinned to the system core), made
by ``hub migrate`` and dropped when the stack stops. The bench reads either database through
``hub.storage``, with the SQL the storage modules write (``?`` placeholders, camelCase names).
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import httpx
import psycopg
import redis

from bench.cores import pin_process
from bench.processes import Spawned, clean_environment, spawn
from hub.local_redis import LocalRedis
from hub.processes import free_port
from hub.settings import Settings
from hub.storage import Engine, Row, create_engine

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


LOOPBACK_ALLOW = "127.0.0.0/8"


class BenchStack:
    """A hub process and worker processes sharing one database (a SQLite file, or with ``postgres`` a PostgreSQL
    database of its own) and one private Redis."""

    def __init__(
        self,
        directory: Path,
        cores: frozenset[int],
        settings: Mapping[str, str] | None = None,
        *,
        postgres: bool = False,
    ) -> None:
        self.directory = directory
        self.postgres_database = f"hub_bench_{secrets.token_hex(4)}" if postgres else None
        self.cores = cores
        self.settings = dict(settings or {})
        self.port = free_port()
        self.redis = LocalRedis()
        self.hub: Spawned | None = None
        self.workers: list[Spawned] = []
        # The bench is synchronous: one event loop, kept between queries, runs the store's engine.
        self._loop = asyncio.Runner()
        self._store: Engine | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def database(self) -> Path:
        return self.directory / "hub.sqlite3"

    @property
    def postgres_url(self) -> str | None:
        if self.postgres_database is None:
            return None
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{self.postgres_database}"

    def environment(self) -> dict[str, str]:
        database = (
            {"HUB_DATABASE_URL": self.postgres_url} if self.postgres_url else {"HUB_DATABASE": str(self.database)}
        )
        return clean_environment(
            {
                "HUB_HOST": "127.0.0.1",
                "HUB_PORT": str(self.port),
                "HUB_DATA_DIR": str(self.directory),
                **database,
                "REDIS_URL": self.redis.url,
                # The bench's own services (the slow service the http nodes call) listen on loopback, which the
                # egress guard refuses to workflows unless the operator opens it.
                "HUB_EGRESS_ALLOW": LOOPBACK_ALLOW,
                **self.settings,
            }
        )

    def _hub_settings(self) -> Settings:
        return Settings.from_env(self.environment(), env_file=None)

    def start(self) -> BenchStack:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.postgres_database is not None:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.postgres_database}"')
            # As an operator deploys: ``hub migrate`` once, before any hub or worker starts.
            migrate = [sys.executable, "-m", "hub", "migrate"]
            with (self.directory / "migrate.log").open("wb") as log:
                subprocess.run(migrate, env=self.environment(), cwd=self.directory, stdout=log, stderr=log, check=True)
        self.redis.start()
        assert self.redis.process is not None
        pin_process(self.redis.process.pid, self.cores)
        self.hub = spawn("hub", ["-m", "hub", "serve"], self.cores, self.directory, self.environment(), self.directory)
        wait_for(lambda: self._health() is not None, "the hub to answer", self.hub, 60)
        return self

    def start_worker(self) -> Spawned:
        name = f"worker-{len(self.workers)}"
        worker = spawn(name, ["-m", "jobs"], self.cores, self.directory, self.environment(), self.directory)
        self.workers.append(worker)
        wait_for(lambda: self._beating(worker.pid), "a worker heartbeat", worker, 180)
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def processes(self) -> dict[str, int]:
        """The system's processes by name, for CPU accounting and profiling."""
        found = {"hub": self.hub.pid} if self.hub is not None else {}
        found.update({worker.name: worker.pid for worker in self.workers if worker.alive()})
        if self.redis.process is not None:
            found["redis"] = self.redis.process.pid
        return found

    def _health(self) -> dict[str, object] | None:
        try:
            body: dict[str, object] = httpx.get(f"{self.url}/api/health", timeout=2).json()
            return body
        except (httpx.HTTPError, ValueError):
            return None

    def _beating(self, pid: int) -> bool:
        client = redis.Redis.from_url(self.redis.url)
        try:
            return bool(client.keys(f"hub:workers:*:{pid}:*"))
        except redis.RedisError:
            return False
        finally:
            client.close()

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[Row]:
        """Reads the store directly, as an operator's SQL would: ``?`` placeholders and the schema's camelCase
        names, on whichever database the stack runs."""
        return self._loop.run(self._query(sql, parameters))

    async def _query(self, sql: str, parameters: Sequence[object]) -> list[Row]:
        if self._store is None:
            store = create_engine(self._hub_settings().database_url)
            await store.open()
            self._store = store
        return await self._store.fetch_all(sql, parameters)

    def stop(self) -> None:
        self.stop_workers()
        if self.hub is not None:
            self.hub.stop()
            self.hub = None
        self.redis.stop()
        if self._store is not None:
            self._loop.run(self._store.close())
            self._store = None
        self._loop.close()
        if self.postgres_database is not None:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.postgres_database}" WITH (FORCE)')

    def __enter__(self) -> BenchStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def wait_for(ready: Callable[[], bool], what: str, process: Spawned, timeout: float) -> None:
    """Polls ``ready`` until it is true; fails early when ``process`` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while not ready():
        if not process.alive():
            raise RuntimeError(f"{process.name} exited while waiting for {what}; see its log")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)
