"""The SQLite engine: the file that the hub and the workers on one machine share (the default).

WAL mode lets readers run beside the one writer, and ``busy_timeout`` makes a second process wait for
the write lock instead of failing with "database is locked". Reads go through aiosqlite. Writes go to
one writer thread per process that runs each write function whole, and commits the writes that queued
up meanwhile together (each in its own savepoint, so one failing write leaves the others alone): one
thread hop and one commit for a batch, instead of one hop per statement. A write's caller hears back
only after its transaction committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from hub.storage._engine import Dialect, Reader, Row
from hub.storage._writer import Outcome, PendingWrite, QueuedWrites, WriterThread

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=60000",
    "PRAGMA foreign_keys=ON",
)


class _Writer(WriterThread):
    """Owns the process's write connection; commits queued writes in batches."""

    def __init__(self, path: Path) -> None:
        super().__init__(name=f"sqlite-writer:{path.name}")
        self._path = path
        self._connection: sqlite3.Connection | None = None

    def open_connection(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, timeout=60, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            connection.execute(pragma)
        self._connection = connection

    def close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def commit(self, batch: list[PendingWrite[Any]]) -> list[Outcome]:
        connection = self._connection
        assert connection is not None, "commit runs only after open_connection succeeded"
        outcomes: list[Outcome] = []
        try:
            connection.execute("BEGIN IMMEDIATE")
            for write in batch:
                connection.execute("SAVEPOINT write")
                try:
                    result = write.work(connection)
                except Exception as error:  # noqa: BLE001 - the write's own failure goes back to its caller
                    connection.execute("ROLLBACK TO write")
                    outcomes.append((write, None, error))
                else:
                    outcomes.append((write, result, None))
                connection.execute("RELEASE write")
            connection.execute("COMMIT")
        except sqlite3.Error as error:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            outcomes = [(write, None, error) for write in batch]
        return outcomes


class _SnapshotReader:
    """Reads on the reader connection while it holds a read transaction."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        return list(await self._connection.execute_fetchall(sql, parameters))

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None


class SqliteEngine(QueuedWrites):
    """The writer thread and an aiosqlite reader for one SQLite file."""

    dialect = Dialect.SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: _Writer | None = None
        self._reader: aiosqlite.Connection | None = None
        self._read_lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        writer = _Writer(self.path)
        await asyncio.to_thread(writer.start_and_wait)
        self._writer = writer
        self._reader = await aiosqlite.connect(self.path, isolation_level=None, timeout=60)
        self._reader.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            await self._reader.execute(pragma)

    async def close(self) -> None:
        if self._reader is not None:
            await self._reader.close()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.stop)
        self._writer = self._reader = None

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        connection = self._require_reader()
        async with self._read_lock:
            return list(await connection.execute_fetchall(sql, parameters))

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Reader]:
        """A read transaction: every query inside sees the same committed state."""
        connection = self._require_reader()
        async with self._read_lock:
            await connection.execute("BEGIN")
            try:
                yield _SnapshotReader(connection)
            finally:
                await connection.execute("COMMIT")

    async def ping(self) -> None:
        await self.fetch_one("SELECT 1")

    def _require_reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise RuntimeError("the database is not open; call SqliteEngine.open() first")
        return self._reader
