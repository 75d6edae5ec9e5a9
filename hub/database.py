"""The SQLite file that the hub and the workers on one machine share.

WAL mode lets readers run beside the one writer; every write is a short ``BEGIN IMMEDIATE`` transaction,
and ``busy_timeout`` makes a second process wait for the lock instead of failing with "database is locked".
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

T = TypeVar("T")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=60000",
    "PRAGMA foreign_keys=ON",
)


class Database:
    """A writer and a reader connection to one SQLite file, with transactions that cancellation cannot split."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        self._reader = await self._connect()

    async def _connect(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(self.path, isolation_level=None, timeout=60)
        connection.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            await connection.execute(pragma)
        return connection

    async def close(self) -> None:
        for connection in (self._writer, self._reader):
            if connection is not None:
                await connection.close()
        self._writer = self._reader = None

    async def migrate(self, statements: Iterable[str]) -> None:
        """Runs idempotent DDL (``CREATE ... IF NOT EXISTS``) in one transaction."""

        async def apply(connection: aiosqlite.Connection) -> None:
            for statement in statements:
                await connection.execute(statement)

        await self.write(apply)

    async def write(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Runs ``work`` in one ``BEGIN IMMEDIATE`` transaction.

        The transaction runs in its own task, so a caller cancelled half-way never leaves it half-done:
        it commits or rolls back as a whole, and the caller sees its cancellation afterwards.
        """
        return await asyncio.shield(asyncio.ensure_future(self._write(work)))

    async def _write(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        connection = self._require(self._writer)
        async with self._write_lock:
            await connection.execute("BEGIN IMMEDIATE")
            try:
                result = await work(connection)
            except BaseException:
                await connection.execute("ROLLBACK")
                raise
            await connection.execute("COMMIT")
            return result

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        connection = self._require(self._reader)
        async with self._read_lock:
            return list(await connection.execute_fetchall(sql, parameters))

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read transaction: every query inside sees the same committed state."""
        connection = self._require(self._reader)
        async with self._read_lock:
            await connection.execute("BEGIN")
            try:
                yield connection
            finally:
                await connection.execute("COMMIT")

    async def ping(self) -> None:
        await self.fetch_one("SELECT 1")

    @staticmethod
    def _require(connection: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if connection is None:
            raise RuntimeError("the database is not open; call Database.open() first")
        return connection
