"""The system under test as a user runs it: a private Redis, ``python -m hub serve`` and ``python -m jobs``.

Every setting is the user's default except the ones a scenario names (the engine, a short lease); the
processes run on the system core and write their logs beside the SQLite file. A stack on PostgreSQL gets a
database of its own on the machine's server (127.0.0.1:5432, which is not pinned to the system core), made
by ``hub migrate`` and dropped when the stack stops.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

import httpx
import psycopg
import redis

from bench.cores import pin_process
from bench.processes import Spawned, clean_environment, spawn
from hub.local_redis import LocalRedis
from hub.processes import free_port
from hub.storage.postgres import PostgresRow, camel_rows, translate

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class BenchStack:
    """A hub process and worker processes sharing one SQLite file and one private Redis."""

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
                **self.settings,
            }
        )

    def start(self) -> BenchStack:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.postgres_database is not None:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.postgres_database}"')
            subprocess.run(
                [sys.executable, "-m", "hub", "migrate"], env=self.environment(), cwd=self.directory, check=True
            )
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

    def query(self, sql: str, parameters: tuple[object, ...] = ()) -> list[sqlite3.Row] | list[PostgresRow]:
        """Reads the store directly, read-only, as an operator's SQL would."""
        if self.postgres_url is not None:
            with psycopg.connect(self.postgres_url, autocommit=True, row_factory=camel_rows) as reader:
                return reader.execute(translate(sql), parameters).fetchall()
        connection = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=30)
        connection.row_factory = sqlite3.Row
        try:
            return list(connection.execute(sql, parameters))
        finally:
            connection.close()

    def stop(self) -> None:
        self.stop_workers()
        if self.hub is not None:
            self.hub.stop()
            self.hub = None
        self.redis.stop()
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
