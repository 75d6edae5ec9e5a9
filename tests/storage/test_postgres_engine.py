"""The PostgreSQL engine on the machine's server, in this run's own database: group commit, rows, reconnects."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
import pytest_asyncio

from hub.errors import StorageUnavailable
from hub.storage._engine import Connection
from hub.storage.postgres import PostgresEngine, learn_names, translate

_ITEMS = """CREATE TABLE IF NOT EXISTS engine_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    executionId TEXT NOT NULL,
    nodeLabel TEXT NOT NULL,
    UNIQUE (executionId, nodeLabel)
)"""
_DEFERRED = """CREATE TABLE IF NOT EXISTS engine_deferred (
    executionId TEXT NOT NULL,
    UNIQUE (executionId) DEFERRABLE INITIALLY DEFERRED
)"""

_COUNTS = "CREATE TABLE IF NOT EXISTS engine_counts (name TEXT PRIMARY KEY, total INTEGER NOT NULL)"


@pytest_asyncio.fixture(loop_scope="session")
async def engine(postgres: str) -> AsyncIterator[PostgresEngine]:
    learn_names([_ITEMS])
    opened = PostgresEngine(postgres, pool_size=3)
    await opened.open()
    await opened.write(lambda connection: [connection.execute(ddl) for ddl in (_ITEMS, _DEFERRED)])
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def execution_id() -> str:
    """A key of the test's own, so tests sharing the tables never see each other's rows."""
    return f"exec-{secrets.token_hex(4)}"


def _insert(execution_id: str, label: str) -> Any:
    def work(connection: Connection) -> int:
        row = connection.execute(
            "INSERT INTO engine_items (executionId, nodeLabel) VALUES (?, ?) RETURNING id", (execution_id, label)
        ).fetchone()
        return int(row["id"])

    return work


async def _labels(engine: PostgresEngine, execution_id: str) -> list[str]:
    rows = await engine.fetch_all(
        "SELECT nodeLabel FROM engine_items WHERE executionId = ? ORDER BY id", (execution_id,)
    )
    return [row["nodeLabel"] for row in rows]


class _Gate:
    """A write that holds the writer thread until released. Writes queued while it holds are certain to
    commit together, as the next batch."""

    def __init__(self, engine: PostgresEngine) -> None:
        self._entered, self._open = threading.Event(), threading.Event()
        self.done = engine.submit(self._work)

    def _work(self, connection: Connection) -> None:
        self._entered.set()
        self._open.wait(timeout=60)

    async def holding(self) -> _Gate:
        """Waits until the writer thread runs the gate, so nothing queued after this joins the gate's batch."""
        assert await asyncio.to_thread(self._entered.wait, 60), "the writer never ran the gate"
        return self

    def release(self) -> None:
        self._open.set()


async def test_a_batch_of_queued_writes_commits_in_one_transaction(engine: PostgresEngine, execution_id: str) -> None:
    gate = await _Gate(engine).holding()

    def transaction(label: str) -> Any:
        def work(connection: Connection) -> int:
            _insert(execution_id, label)(connection)
            return int(connection.execute("SELECT txid_current() AS txid").fetchone()["txid"])

        return work

    futures = [engine.submit(transaction(f"n{index}")) for index in range(50)]
    gate.release()
    await gate.done
    transactions = await asyncio.gather(*futures)
    assert len(set(transactions)) == 1
    assert await _labels(engine, execution_id) == [f"n{index}" for index in range(50)]


async def test_a_failing_write_leaves_the_others_in_its_batch_committed(
    engine: PostgresEngine, execution_id: str
) -> None:
    def fails_after_inserting(connection: Connection) -> None:
        _insert(execution_id, "rolled back")(connection)
        raise ValueError("this write fails")

    gate = await _Gate(engine).holding()
    first = engine.submit(_insert(execution_id, "first"))
    failing = engine.submit(fails_after_inserting)
    duplicate = engine.submit(_insert(execution_id, "first"))
    last = engine.submit(_insert(execution_id, "last"))
    gate.release()
    await gate.done
    await first
    with pytest.raises(ValueError, match="this write fails"):
        await failing
    with pytest.raises(psycopg.errors.UniqueViolation):
        await duplicate
    await last
    assert await _labels(engine, execution_id) == ["first", "last"]


async def test_a_failed_commit_fails_every_write_of_the_batch(engine: PostgresEngine, execution_id: str) -> None:
    def defer(connection: Connection) -> None:
        connection.execute("INSERT INTO engine_deferred (executionId) VALUES (?)", (execution_id,))

    gate = await _Gate(engine).holding()
    futures = [engine.submit(defer), engine.submit(_insert(execution_id, "innocent")), engine.submit(defer)]
    gate.release()
    await gate.done
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(outcome, psycopg.errors.UniqueViolation) for outcome in outcomes)
    assert await _labels(engine, execution_id) == []
    await engine.write(_insert(execution_id, "after"))
    assert await _labels(engine, execution_id) == ["after"]


async def test_writes_commit_and_resolve_in_the_order_submitted(engine: PostgresEngine, execution_id: str) -> None:
    resolved: list[int] = []
    futures = [engine.submit(_insert(execution_id, f"n{index}")) for index in range(30)]
    for index, future in enumerate(futures):
        future.add_done_callback(lambda _, index=index: resolved.append(index))
    ids = await asyncio.gather(*futures)
    assert ids == sorted(ids)
    assert resolved == list(range(30))
    assert await _labels(engine, execution_id) == [f"n{index}" for index in range(30)]


async def test_a_cancelled_caller_does_not_stop_its_write(engine: PostgresEngine, execution_id: str) -> None:
    gate = await _Gate(engine).holding()
    waiting = asyncio.ensure_future(engine.write(_insert(execution_id, "kept")))
    await asyncio.sleep(0)
    waiting.cancel()
    gate.release()
    await gate.done
    await engine.write(lambda connection: None)
    assert await _labels(engine, execution_id) == ["kept"]


async def test_a_snapshot_sees_one_committed_state(engine: PostgresEngine, execution_id: str) -> None:
    await engine.write(_insert(execution_id, "before"))
    sql = "SELECT COUNT(*) AS total FROM engine_items WHERE executionId = ?"
    async with engine.snapshot() as reader:
        first = await reader.fetch_one(sql, (execution_id,))
        await engine.write(_insert(execution_id, "during"))
        again = await reader.fetch_one(sql, (execution_id,))
    assert first is not None and again is not None
    assert first["total"] == again["total"] == 1
    assert await _labels(engine, execution_id) == ["before", "during"]


async def test_question_marks_are_placeholders_and_percent_signs_are_text(engine: PostgresEngine) -> None:
    row = await engine.fetch_one(
        "SELECT ? || '%' AS percent, 'a?b' AS literal, ? LIKE 'ab%' AS matches, \"?\" FROM (SELECT 1 AS \"?\") AS t",
        ("50", "abc"),
    )
    assert row is not None
    assert (row["percent"], row["literal"], row["matches"], row[3]) == ("50%", "a?b", True, 1)


def test_translation_leaves_literals_quoted_names_and_comments_alone() -> None:
    sql = "SELECT '?', \"a?\" -- why?\nFROM t WHERE a = ? AND b LIKE '10%'"
    assert translate(sql) == "SELECT '?', \"a?\" -- why?\nFROM t WHERE a = %s AND b LIKE '10%%'"


async def test_rows_answer_to_camel_case_names_and_positions(engine: PostgresEngine, execution_id: str) -> None:
    await engine.write(_insert(execution_id, "one"))
    row = await engine.fetch_one("SELECT * FROM engine_items WHERE executionId = ?", (execution_id,))
    assert row is not None
    assert row.keys() == ["id", "executionId", "nodeLabel"]
    assert (row["executionId"], row["nodeLabel"], row[2]) == (execution_id, "one", "one")
    aliased = await engine.fetch_one(
        "SELECT COUNT(*) AS rowCount FROM engine_items WHERE executionId = ?", (execution_id,)
    )
    assert aliased is not None and aliased.keys() == ["rowCount"] and aliased["rowCount"] == 1


async def test_sums_of_integers_come_back_as_integers(engine: PostgresEngine, execution_id: str) -> None:
    await engine.write(_insert(execution_id, "one"))
    row = await engine.fetch_one("SELECT SUM(id) - SUM(id) AS zero, AVG(1.5) AS half FROM engine_items")
    assert row is not None
    assert (row["zero"], type(row["zero"]), row["half"]) == (0, int, 1.5)


def _backend(connection: Connection) -> int:
    return int(connection.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"])


async def test_the_writer_reconnects_when_its_idle_connection_was_closed(
    engine: PostgresEngine, postgres: str, execution_id: str
) -> None:
    before = await engine.write(_backend)
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (before,))
    after = await engine.write(_backend)
    assert after != before
    await engine.write(_insert(execution_id, "after"))
    assert await _labels(engine, execution_id) == ["after"]


async def test_a_connection_lost_mid_batch_fails_that_batch_clearly_and_the_next_one_reconnects(
    engine: PostgresEngine, execution_id: str
) -> None:
    def dies(connection: Connection) -> None:
        connection.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    gate = await _Gate(engine).holding()
    futures = [engine.submit(_insert(execution_id, "lost")), engine.submit(dies)]
    gate.release()
    await gate.done
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert all(isinstance(outcome, StorageUnavailable) for outcome in outcomes)
    assert "lost the connection to PostgreSQL" in str(outcomes[0])
    await engine.write(_insert(execution_id, "after"))
    assert await _labels(engine, execution_id) == ["after"]


async def test_reads_go_on_after_the_server_closed_every_connection(engine: PostgresEngine, postgres: str) -> None:
    async with engine.snapshot() as reader:
        await reader.fetch_one("SELECT 1")
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
    await engine.ping()
    row = await engine.fetch_one("SELECT ? AS answer", (42,))
    assert row is not None and row["answer"] == 42


async def test_opening_against_a_missing_database_is_a_clear_error(postgres: str) -> None:
    engine = PostgresEngine(postgres.rsplit("/", 1)[0] + "/hub_test_does_not_exist", timeout=5)
    with pytest.raises(StorageUnavailable, match="cannot connect to PostgreSQL"):
        await engine.open()


async def test_a_deadlock_between_two_writers_runs_the_losing_batch_again(postgres: str) -> None:
    """Two engines stand for two processes: each batch locks one row, then wants the other's."""
    first, second = PostgresEngine(postgres, pool_size=1), PostgresEngine(postgres, pool_size=1)
    await first.open()
    await second.open()
    keys = (f"a-{secrets.token_hex(4)}", f"b-{secrets.token_hex(4)}")
    locked = {key: threading.Event() for key in keys}

    def crossing(own: str, other: str) -> Any:
        def work(connection: Connection) -> None:
            connection.execute("UPDATE engine_counts SET total = total + 1 WHERE name = ?", (own,))
            locked[own].set()
            locked[other].wait(timeout=60)
            connection.execute("UPDATE engine_counts SET total = total + 1 WHERE name = ?", (other,))

        return work

    try:
        await first.write(lambda connection: connection.execute(_COUNTS))
        await first.write(
            lambda connection: [
                connection.execute("INSERT INTO engine_counts (name, total) VALUES (?, 0)", (key,)) for key in keys
            ]
        )
        await asyncio.gather(first.write(crossing(*keys)), second.write(crossing(*reversed(keys))))
        rows = await first.fetch_all("SELECT total FROM engine_counts WHERE name IN (?, ?)", keys)
        assert [row["total"] for row in rows] == [2, 2]
    finally:
        await first.close()
        await second.close()


async def test_a_failing_write_alone_in_its_batch_leaves_nothing_behind(
    engine: PostgresEngine, execution_id: str
) -> None:
    def fails_after_inserting(connection: Connection) -> None:
        _insert(execution_id, "rolled back")(connection)
        raise ValueError("this write fails")

    with pytest.raises(ValueError, match="this write fails"):
        await engine.write(fails_after_inserting)
    await engine.write(_insert(execution_id, "next"))
    assert await _labels(engine, execution_id) == ["next"]
