"""The engine interface the storage modules run their SQL on, whatever the database behind it.

An engine owns the connections. Writes are plain functions (``Work``) given a connection already inside
a transaction; the engine runs each whole, commits the ones that queued up meanwhile together (each in
its own savepoint, so one failing write leaves the others alone) and settles each caller's future once
its transaction committed. Reads go straight to the engine, or through a ``snapshot`` when several
queries must see one committed state.

The SQL is written once, with ``?`` placeholders and camelCase column names; an engine whose driver
wants ``%s`` or folds names to lower case translates both ways, so every row answers to
``row["workflowId"]`` (and to ``row[0]``). ``sqlite3.Connection`` with ``sqlite3.Row`` rows satisfies
``Connection`` as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from enum import StrEnum
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Dialect(StrEnum):
    """Which SQL the engine speaks, for the few statements that must differ (DDL, locks, JSON)."""

    SQLITE = "sqlite"
    POSTGRES = "postgresql"


class Row(Protocol):
    """One result row: by column name (camelCase, as in the schema) or by position."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What ``Connection.execute`` returns."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """The connection a ``Work`` function receives, inside the write transaction."""

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> Cursor: ...


Work = Callable[[Connection], T]
"""A write: a plain function given the writer's connection, already inside a transaction."""


class Reader(Protocol):
    """Reads inside one read transaction (see ``Engine.snapshot``)."""

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None: ...


class Engine(Protocol):
    """A database the storage modules run on: SQLite (``hub.storage.sqlite``) or PostgreSQL."""

    @property
    def dialect(self) -> Dialect: ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def write(self, work: Work[T]) -> T:
        """Runs ``work`` in a transaction; returns its result once committed. A cancelled caller does not
        stop the write: it commits (or rolls back) whole."""
        ...

    def submit(self, work: Work[T]) -> asyncio.Future[T]:
        """Queues ``work`` without waiting: writes commit in the order submitted, and the future resolves
        once this one committed."""
        ...

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None: ...

    def snapshot(self) -> AbstractAsyncContextManager[Reader]:
        """A read transaction: every query inside sees the same committed state."""
        ...

    async def ping(self) -> None: ...


def rows(connection: Connection, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
    """The rows of one statement run inside a write."""
    return connection.execute(sql, parameters).fetchall()
