"""The PostgreSQL engine: the same group commit as SQLite's, on psycopg 3.

Writes go to one writer thread per process with a plain (sync) psycopg connection: it runs the ``work``
functions the storage modules write, exactly as on SQLite, each in its own savepoint when it shares the
batch, and commits the batch once. Reads go through a psycopg_pool pool of async connections. Statements
are never prepared (``prepare_threshold=None``), so the engine also works behind PgBouncer in transaction
mode.

The storage modules write their SQL once, for both engines: ``?`` placeholders and camelCase column
names, unquoted. Here each statement text is translated once (``?`` to ``%s``, a literal ``%`` to
``%%``), and since PostgreSQL folds unquoted names to lower case, each result column is mapped back to
the camelCase spelling the schema and the statements use (``learn_names``).

A lost connection fails the writes of the batch it broke with ``StorageUnavailable`` (a failed COMMIT
fails the whole batch); the next batch connects again. A read on a connection that broke is tried once
more on a checked one. Unlike SQLite's single writer, writer threads of several processes hold row locks
side by side, so two batches can deadlock: PostgreSQL aborts one, and that batch is rolled back and run
again, whole. A ``work`` function must therefore have no effect outside the connection it is given.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import psycopg
import psycopg_pool
from psycopg import pq
from psycopg.adapt import Loader
from psycopg.rows import RowMaker

from hub.errors import StorageUnavailable
from hub.storage._engine import Dialect, Row
from hub.storage._writer import Outcome, PendingWrite, QueuedWrites, WriterThread
from hub.storage.migrations import MIGRATIONS

_RERUNS = 3
"""How often a batch that lost a deadlock to another process runs again before its writes fail."""
_CONFLICTS = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL_NAMES: dict[str, str] = {}
"""Lower-case name -> the camelCase spelling the schema uses; learnt from the DDL and every statement."""


def learn_names(statements: Iterable[str]) -> None:
    """Records every mixed-case identifier in ``statements`` (the DDL, say), so result columns named so
    come back spelt as written even when a query selects ``*``."""
    for statement in statements:
        for name in _IDENTIFIER.findall(statement):
            if not name.islower() and not name.isupper():
                _CAMEL_NAMES.setdefault(name.lower(), name)


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """The statement with ``?`` placeholders as psycopg's ``%s`` and every literal ``%`` doubled.

    A ``?`` inside a string literal, a quoted name or a comment is text, not a placeholder. The
    statement's own camelCase names (aliases included) are learnt on the way.
    """
    learn_names((sql,))
    out: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(sql):
        char = sql[index]
        if char == "%":
            out.append("%%")
        elif quote is not None:
            out.append(char)
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
            out.append(char)
        elif sql.startswith("--", index):
            quote = "\n"
            out.append(char)
        elif char == "?":
            out.append("%s")
        else:
            out.append(char)
        index += 1
    return "".join(out)


class PostgresRow:
    """A result row by camelCase column name (as ``sqlite3.Row``, also in any letter case) or position."""

    __slots__ = ("_index", "_names", "_values")

    def __init__(self, values: Sequence[Any], names: list[str], index: dict[str, int]) -> None:
        self._values = values
        self._names = names
        self._index = index

    def __getitem__(self, key: str | int, /) -> Any:
        if isinstance(key, str):
            position = self._index.get(key)
            if position is None:
                position = self._index.get(key.lower())
            if position is None:
                raise IndexError(f"no column named {key!r}")
            return self._values[position]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __repr__(self) -> str:
        return f"PostgresRow({dict(zip(self._names, self._values, strict=True))!r})"


def camel_rows(cursor: Any) -> RowMaker[PostgresRow]:
    """psycopg's row factory for ``PostgresRow``: one name index per result, shared by its rows."""
    names = [_CAMEL_NAMES.get(column.name, column.name) for column in cursor.description or ()]
    index = {name: position for position, name in enumerate(names)}
    for position, name in enumerate(names):
        index.setdefault(name.lower(), position)

    def make(values: Sequence[Any]) -> PostgresRow:
        return PostgresRow(values, names, index)

    return make


class _NumberLoader(Loader):
    """``numeric`` (what SUM of integers gives) as an int when whole, else a float, as SQLite returns it."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


def _configure(connection: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> None:
    connection.adapters.register_loader("numeric", _NumberLoader)


def _connection_options(timeout: float) -> dict[str, Any]:
    # connect_timeout: a server that never answers (a dropped route) fails the connect instead of hanging it.
    return {
        "autocommit": True,
        "prepare_threshold": None,
        "row_factory": camel_rows,
        "connect_timeout": max(1, round(timeout)),
    }


_Pool = psycopg_pool.AsyncConnectionPool[psycopg.AsyncConnection[PostgresRow]]


class _WriteConnection:
    """What a ``work`` function receives: ``execute`` with ``?`` placeholders, rows by camelCase name."""

    __slots__ = ("_connection",)

    def __init__(self, connection: psycopg.Connection[PostgresRow]) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[PostgresRow]:
        return self._connection.execute(translate(sql), tuple(parameters))


def _lost(error: BaseException) -> StorageUnavailable:
    return StorageUnavailable(f"lost the connection to PostgreSQL, the write was not confirmed: {error}")


class _Writer(WriterThread):
    """The process's write connection; reconnects at the next batch after losing it."""

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(name="postgres-writer")
        self._url = url
        self._timeout = timeout
        self._connection: psycopg.Connection[PostgresRow] | None = None

    def open_connection(self) -> None:
        self._connection = self._connect()

    def close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self) -> psycopg.Connection[PostgresRow]:
        connection: psycopg.Connection[PostgresRow] = psycopg.connect(self._url, **_connection_options(self._timeout))
        _configure(connection)
        return connection

    def commit(self, batch: list[PendingWrite[Any]]) -> list[Outcome]:
        reconnected, reruns = False, 0
        while True:
            try:
                connection = self._connected()
                connection.execute("BEGIN")
            except psycopg.Error as error:
                # Nothing of the batch ran yet, so a connection that died while idle (a server restart, an
                # idle timeout) costs one reconnect, not the batch.
                if not reconnected and self._connection is not None and self._connection.broken:
                    reconnected, self._connection = True, None
                    continue
                return self._fail(batch, error)
            try:
                return self._run(connection, batch)
            except _CONFLICTS as error:
                # A deadlock with another process's transaction: rolling back the whole batch lets the other
                # one finish, and running it again keeps the batch's order (one write alone would not).
                if reruns == _RERUNS:
                    return self._fail(batch, error)
                reruns += 1
                self._abandon(error)
            except Exception as error:  # noqa: BLE001 - a failed batch fails every write in it
                return self._fail(batch, error)

    def _connected(self) -> psycopg.Connection[PostgresRow]:
        if self._connection is None or self._connection.closed:
            self._connection = None
            self._connection = self._connect()
        return self._connection

    def _run(self, connection: psycopg.Connection[PostgresRow], batch: list[PendingWrite[Any]]) -> list[Outcome]:
        # A write alone in its batch needs no savepoint: the transaction is its own, and each statement
        # saved is a round trip to the server (SQLite's are calls within the process).
        alone = len(batch) == 1
        outcomes: list[Outcome] = []
        for write in batch:
            if not alone:
                connection.execute("SAVEPOINT write")
            try:
                result = write.work(_WriteConnection(connection))
            except Exception as error:
                if connection.broken or isinstance(error, _CONFLICTS):
                    raise
                connection.execute("ROLLBACK" if alone else "ROLLBACK TO SAVEPOINT write")
                outcomes.append((write, None, error))
                if alone:
                    return outcomes
            else:
                outcomes.append((write, result, None))
            if not alone:
                connection.execute("RELEASE SAVEPOINT write")
        connection.execute("COMMIT")
        return outcomes

    def _fail(self, batch: list[PendingWrite[Any]], error: BaseException) -> list[Outcome]:
        failure = self._abandon(error)
        return [(write, None, failure) for write in batch]

    def _abandon(self, error: BaseException) -> BaseException:
        """Ends the failed transaction, or drops a broken connection; the error each write of it gets."""
        connection = self._connection
        if connection is None or connection.broken or connection.closed:
            if connection is not None:
                connection.close()
            self._connection = None
            return _lost(error)
        if connection.info.transaction_status != pq.TransactionStatus.IDLE:
            try:
                connection.execute("ROLLBACK")
            except psycopg.Error:
                connection.close()
                self._connection = None
        return error


class _Reader:
    """Reads on one pooled connection inside a read transaction (``PostgresEngine.snapshot``)."""

    def __init__(self, connection: psycopg.AsyncConnection[PostgresRow]) -> None:
        self._connection = connection

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        cursor = await self._connection.execute(translate(sql), tuple(parameters))
        return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None


class PostgresEngine(QueuedWrites):
    """The writer thread and a pool of read connections for one PostgreSQL database.

    ``pool_size`` is the most read connections this process opens; the writer holds one more.
    """

    dialect = Dialect.POSTGRES

    def __init__(self, url: str, *, pool_size: int = 10, timeout: float = 30.0) -> None:
        self._url = url
        self._pool_size = pool_size
        self._timeout = timeout
        self._writer: _Writer | None = None
        self._pool: _Pool | None = None

    async def open(self) -> None:
        learn_names(statement for migration in MIGRATIONS for statement in migration.statements[Dialect.POSTGRES])
        pool: _Pool = psycopg_pool.AsyncConnectionPool(
            self._url,
            min_size=1,
            max_size=self._pool_size,
            kwargs=_connection_options(self._timeout),
            configure=_configure_async,
            timeout=self._timeout,
            open=False,
            name="hub-readers",
        )
        writer = _Writer(self._url, self._timeout)
        try:
            await asyncio.to_thread(writer.start_and_wait)
            await pool.open(wait=True, timeout=self._timeout)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
            await pool.close()
            if writer.is_alive():
                await asyncio.to_thread(writer.stop)
            raise StorageUnavailable(f"cannot connect to PostgreSQL: {error}") from error
        self._writer, self._pool = writer, pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
        if self._writer is not None:
            await asyncio.to_thread(self._writer.stop)
        self._writer = self._pool = None

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[Row]:
        query, values = translate(sql), tuple(parameters)
        pool = self._require_pool()
        try:
            try:
                return await _read(pool, query, values)
            except psycopg.OperationalError:
                # The server may have dropped every idle connection at once (a restart): check them all
                # before the one retry, so it does not meet another dead one.
                await pool.check()
                return await _read(pool, query, values)
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
            raise StorageUnavailable(f"PostgreSQL did not answer a read: {error}") from error

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[_Reader]:
        """A read transaction (REPEATABLE READ): every query inside sees the same committed state."""
        try:
            async with self._require_pool().connection() as connection:
                await connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try:
                    yield _Reader(connection)
                finally:
                    if not connection.broken:
                        await connection.execute("COMMIT")
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as error:
            raise StorageUnavailable(f"PostgreSQL did not answer a read: {error}") from error

    async def ping(self) -> None:
        await self.fetch_one("SELECT 1")

    def _require_pool(self) -> _Pool:
        if self._pool is None:
            raise RuntimeError("the database is not open; call PostgresEngine.open() first")
        return self._pool


async def _read(pool: _Pool, query: str, values: tuple[Any, ...]) -> list[Row]:
    async with pool.connection() as connection:
        cursor = await connection.execute(query, values)
        return list(await cursor.fetchall())


async def _configure_async(connection: psycopg.AsyncConnection[Any]) -> None:
    _configure(connection)
