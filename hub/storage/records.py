"""The ``records`` table that saveRecords and fetchData share: JSON records by entity, per organization.

Every statement is parameterised: values and JSON paths travel as parameters, never inside the SQL, and
every field name must match ``RECORD_FIELD`` before it is made into a path. ``SqlRecords`` holds what
both dialects share (the upsert, the query's shape); the JSON expressions differ: ``SqliteRecords`` here
uses SQLite's JSON1, ``hub.storage.postgres_records`` PostgreSQL's jsonb, with the same operators and
results.
"""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from handlers.contract import FILTER_OPERATORS, RECORD_FIELD, RecordFilter, RecordOrder, RecordStore, SavedRecords
from hub.events import dumps, utc_now
from hub.storage._engine import Connection, Dialect, Engine

_COMPARISONS = {">", ">=", "<", "<="}
_NUMBER_TYPES = ("integer", "real")


def organization_records(engine: Engine, organization_id: str | None) -> RecordStore:
    """The records of one organization, on the engine's JSON functions."""
    if engine.dialect is Dialect.SQLITE:
        return SqliteRecords(engine, organization_id)
    from hub.storage.postgres_records import PostgresRecords

    return PostgresRecords(engine, organization_id)


def checked_field(field: str) -> str:
    """The field name, once it is one a record store accepts (``RECORD_FIELD``); else ``ValueError``."""
    if not RECORD_FIELD.match(field):
        raise ValueError(f"{field!r} is not a field name a record store accepts")
    return field


def _path(field: str) -> str:
    return f'$."{checked_field(field)}"'


def key_of(value: Any) -> tuple[str, Any]:
    """A key value as SQLite's ``json_type`` classes it, so ``1``, ``"1"`` and ``true`` stay distinct."""
    if isinstance(value, bool):
        return "bool", int(value)
    if isinstance(value, int | float):
        return "number", value
    if isinstance(value, str):
        return "text", value
    raise ValueError(f"a key value must be a string, number or boolean, not {type(value).__name__}")


def _stored_key(json_type: str, value: Any) -> tuple[str, Any]:
    if json_type in ("true", "false"):
        return "bool", value
    if json_type in _NUMBER_TYPES:
        return "number", value
    return json_type, value


def _condition(item: RecordFilter) -> tuple[str, list[Any]]:
    """One filter as SQL over ``data``, with its parameters."""
    path = _path(item.field)
    value = item.value
    if item.op == "=":
        return "json_extract(data, ?) IS ?", [path, value]
    if item.op == "!=":
        return "json_extract(data, ?) IS NOT ?", [path, value]
    if item.op in _COMPARISONS:
        # Only values of the same kind compare: SQLite would otherwise rank any text above any number.
        kinds = ("text",) if isinstance(value, str) else _NUMBER_TYPES
        marks = ", ".join("?" * len(kinds))
        return f"(json_type(data, ?) IN ({marks}) AND json_extract(data, ?) {item.op} ?)", [
            path,
            *kinds,
            path,
            value,
        ]
    if item.op == "contains":
        return (
            """(CASE json_type(data, ?)
                 WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(data, ?) WHERE json_each.value IS ?)
                 WHEN 'text' THEN instr(json_extract(data, ?), ?) > 0
                 ELSE 0 END)""",
            [path, path, value, path, value],
        )
    if item.op == "in":
        values = list(value)
        if not values:
            return "0", []
        return f"json_extract(data, ?) IN ({', '.join('?' * len(values))})", [path, *values]
    raise unknown_operator(item.op)


def unknown_operator(op: str) -> ValueError:
    return ValueError(f"unknown filter operator {op!r}; use one of {', '.join(FILTER_OPERATORS)}")


class SqlRecords(ABC):
    """The records of one organization (or of executions without one, for ``None``); a dialect supplies the
    statements that read and write JSON."""

    _SAME_ORGANIZATION = "organizationId IS ?"
    _INSERT = """INSERT INTO records (id, entity, organizationId, data, createdAt, updatedAt)
                 VALUES (?, ?, ?, ?, ?, ?)"""
    _UPDATE = "UPDATE records SET data = ?, updatedAt = ? WHERE id = ?"
    _DOCUMENT = "data"
    """The column that holds a record as it was saved."""
    _INSERTION_ORDER = "rowid"

    def __init__(self, engine: Engine, organization_id: str | None) -> None:
        self._db = engine
        self._organization_id = organization_id

    @abstractmethod
    def _keys(self, connection: Connection, entity: str, field: str) -> list[tuple[str, tuple[str, Any]]]:
        """Each stored record's id with its key (as ``key_of`` makes one), oldest first; none for a record
        whose field is missing, null or not a scalar."""

    @abstractmethod
    def _condition(self, item: RecordFilter) -> tuple[str, list[Any]]:
        """One filter as SQL over ``data``, with its parameters."""

    @abstractmethod
    def _order(self, item: RecordOrder) -> tuple[str, list[Any]]:
        """One ``ORDER BY`` term, with its parameters."""

    def _stored(self, data: str) -> tuple[Any, ...]:
        """The parameters that store a record's JSON text (one per JSON column)."""
        return (data,)

    async def save(
        self, entity: str, records: Sequence[Mapping[str, Any]], *, upsert_key: str | None = None
    ) -> SavedRecords:
        field = checked_field(upsert_key) if upsert_key is not None else None
        keys = [key_of(record.get(field)) for record in records] if field is not None else []
        organization_id = self._organization_id

        def write(connection: Connection) -> SavedRecords:
            now = utc_now()
            existing: dict[tuple[str, Any], str] = {}
            if field is not None:
                for stored_id, key in self._keys(connection, entity, field):
                    existing.setdefault(key, stored_id)
            inserted = updated = 0
            for index, record in enumerate(records):
                stored = self._stored(dumps(record))
                record_id = existing.get(keys[index]) if keys else None
                if record_id is not None:
                    connection.execute(self._UPDATE, (*stored, now, record_id))
                    updated += 1
                    continue
                record_id = uuid.uuid4().hex
                connection.execute(self._INSERT, (record_id, entity, organization_id, *stored, now, now))
                if keys:
                    existing[keys[index]] = record_id
                inserted += 1
            return SavedRecords(inserted=inserted, updated=updated)

        return await self._db.write(write)

    async def fetch(
        self,
        entity: str,
        *,
        filters: Sequence[RecordFilter] = (),
        order_by: Sequence[RecordOrder] = (),
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        where = [self._SAME_ORGANIZATION, "entity = ?"]
        parameters: list[Any] = [self._organization_id, entity]
        for item in filters:
            sql, values = self._condition(item)
            where.append(sql)
            parameters.extend(values)
        order = []
        for order_item in order_by:
            sql, values = self._order(order_item)
            order.append(sql)
            parameters.extend(values)
        order.append(self._INSERTION_ORDER)
        sql = f"SELECT {self._DOCUMENT} FROM records WHERE {' AND '.join(where)} ORDER BY {', '.join(order)}"
        if limit is not None:
            sql += " LIMIT ?"
            parameters.append(limit)
        rows = await self._db.fetch_all(sql, parameters)
        return await asyncio.to_thread(lambda: [orjson.loads(row[0]) for row in rows])


class SqliteRecords(SqlRecords):
    """Records with SQLite's JSON1."""

    def _keys(self, connection: Connection, entity: str, field: str) -> list[tuple[str, tuple[str, Any]]]:
        path = _path(field)
        rows = connection.execute(
            """SELECT id, json_type(data, ?), json_extract(data, ?) FROM records
               WHERE organizationId IS ? AND entity = ? ORDER BY rowid""",
            (path, path, self._organization_id, entity),
        ).fetchall()
        return [(record_id, _stored_key(json_type, value)) for record_id, json_type, value in rows if json_type]

    def _condition(self, item: RecordFilter) -> tuple[str, list[Any]]:
        return _condition(item)

    def _order(self, item: RecordOrder) -> tuple[str, list[Any]]:
        return f"json_extract(data, ?) {'DESC' if item.descending else 'ASC'}", [_path(item.field)]
