"""The store on PostgreSQL where it differs from SQLite: writers side by side, the old system's queries, migrations."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import orjson
import psycopg
import pytest
import pytest_asyncio

from hub.errors import LeaseLost
from hub.events import ExecutionStatus
from hub.settings import DatabaseUrl, Settings
from hub.storage import NewExecution, Storage, open_storage
from hub.storage.migrations import CURRENT_VERSION, migrate
from hub.storage.postgres import PostgresEngine
from hub.workflow import parse_workflow
from tests.backends import postgres_schema

_WORKFLOW = {
    "id": "wf-old-queries",
    "nodes": [
        {"id": "start", "type": "trigger", "label": "Start", "config": {}},
        {"id": "check", "type": "condition", "label": "Check", "config": {"expression": "true"}},
    ],
    "connections": [{"fromNodeId": "start", "toNodeId": "check", "outputType": "main"}],
}


@pytest.fixture
def schema_url(postgres: str) -> Iterator[str]:
    with postgres_schema(postgres) as url:
        yield url


async def _open(url: str) -> Storage:
    return await open_storage(Settings(database_url=DatabaseUrl.parse(url)), migrate=True)


@pytest_asyncio.fixture(loop_scope="session")
async def workers(schema_url: str) -> AsyncIterator[tuple[Storage, Storage]]:
    """Two stores on one database, each with its own writer and pool, as two worker processes have."""
    first = await _open(schema_url)
    second = await _open(schema_url)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def _execution(storage: Storage) -> str:
    new = NewExecution(parse_workflow(_WORKFLOW), None, {"x": 1}, None, "native")
    return await storage.create_execution(new)


class _RowLock:
    """Holds the execution's row lock from a connection of its own until released, so that claims sent
    meanwhile all wait on it and then go at once."""

    def __init__(self, url: str, execution_id: str) -> None:
        self._connection = psycopg.connect(url, autocommit=True)
        self._connection.execute("BEGIN")
        self._connection.execute("SELECT id FROM workflow_executions WHERE id = %s FOR UPDATE", (execution_id,))

    def waiting(self) -> int:
        """How many other sessions wait for a lock in this database."""
        with psycopg.connect(self._connection.info.dsn, autocommit=True) as probe:
            row = probe.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()
        return int(row[0]) if row else 0

    def release(self) -> None:
        self._connection.execute("COMMIT")
        self._connection.close()


async def _until_waiting(lock: _RowLock, count: int) -> None:
    deadline = time.monotonic() + 60
    while await asyncio.to_thread(lock.waiting) < count:
        assert time.monotonic() < deadline, f"fewer than {count} claims waited for the row lock"
        await asyncio.sleep(0.02)


async def test_two_workers_claiming_at_once_give_the_lease_to_exactly_one(
    workers: tuple[Storage, Storage], schema_url: str
) -> None:
    first, second = workers
    execution_id = await _execution(first)
    lock = _RowLock(schema_url, execution_id)
    claims = [
        asyncio.ensure_future(first.claim(execution_id, "worker-a", 30)),
        asyncio.ensure_future(second.claim(execution_id, "worker-b", 30)),
    ]
    await _until_waiting(lock, 2)
    lock.release()
    outcomes = await asyncio.gather(*claims)
    assert sorted(outcome is not None for outcome in outcomes) == [False, True]
    winner = "worker-a" if outcomes[0] is not None else "worker-b"
    assert await first.status(execution_id) is ExecutionStatus.RUNNING
    events = await first.events_after(execution_id, 0)
    assert [event.type for event in events] == ["execution.started"]
    assert orjson.loads(events[0].json)["data"]["worker"] == winner


async def test_two_workers_recovering_an_expired_lease_at_once_give_it_to_exactly_one(
    workers: tuple[Storage, Storage], schema_url: str
) -> None:
    first, second = workers
    execution_id = await _execution(first)
    assert await first.claim(execution_id, "dead-worker", 0.001) is not None
    lock = _RowLock(schema_url, execution_id)
    claims = [
        asyncio.ensure_future(first.claim(execution_id, "worker-a", 30)),
        asyncio.ensure_future(second.claim(execution_id, "worker-b", 30)),
    ]
    await _until_waiting(lock, 2)
    lock.release()
    outcomes = await asyncio.gather(*claims)
    recovered = [outcome for outcome in outcomes if outcome is not None]
    assert len(recovered) == 1 and recovered[0].recovered
    events = await first.events_after(execution_id, 0)
    assert [event.type for event in events] == ["execution.started", "execution.recovered"]


async def test_the_worker_that_lost_its_lease_cannot_write_after_the_takeover(
    workers: tuple[Storage, Storage],
) -> None:
    first, second = workers
    execution_id = await _execution(first)
    assert await first.claim(execution_id, "worker-a", 0.001) is not None
    assert await second.claim(execution_id, "worker-b", 30) is not None
    with pytest.raises(LeaseLost):
        await first.finish(execution_id, "worker-a", ExecutionStatus.COMPLETED)
    assert await second.status(execution_id) is ExecutionStatus.RUNNING


async def test_the_old_systems_queries_run_verbatim(workers: tuple[Storage, Storage], schema_url: str) -> None:
    storage, _ = workers
    execution_id = await _execution(storage)
    assert await storage.claim(execution_id, "worker-a", 30) is not None
    await storage.node_started(execution_id, "worker-a", "start", "trigger", "Start", 1)
    await storage.finish(execution_id, "worker-a", ExecutionStatus.COMPLETED)
    with psycopg.connect(schema_url, autocommit=True) as connection:
        executions = connection.execute(
            "SELECT id, workflowId, status, createdAt, completedAt FROM workflow_executions"
            " ORDER BY createdAt DESC LIMIT 10;"
        )
        assert [column.name for column in executions.description or ()] == [
            "id",
            "workflowid",
            "status",
            "createdat",
            "completedat",
        ]
        rows = executions.fetchall()
        logs = connection.execute(
            "SELECT nodeType, nodeLabel, status, duration, timestamp FROM execution_logs"
            f" WHERE executionId = '{execution_id}' ORDER BY timestamp;"
        ).fetchall()
    assert [(row[0], row[1], row[2]) for row in rows] == [(execution_id, "wf-old-queries", "completed")]
    assert rows[0][4] is not None
    assert [(row[0], row[1]) for row in logs] == [("trigger", "Start")]


async def test_migrations_from_several_processes_at_once_apply_once(schema_url: str) -> None:
    engines = [PostgresEngine(schema_url, pool_size=1) for _ in range(3)]
    for engine in engines:
        await engine.open()
    try:
        applied = await asyncio.gather(*(migrate(engine) for engine in engines))
        assert sorted(applied) == [[], [], list(range(1, CURRENT_VERSION + 1))]
        assert await migrate(engines[0]) == []
        rows = await engines[0].fetch_all("SELECT version FROM schema_version ORDER BY version")
        assert [row["version"] for row in rows] == list(range(1, CURRENT_VERSION + 1))
    finally:
        for engine in engines:
            await engine.close()
