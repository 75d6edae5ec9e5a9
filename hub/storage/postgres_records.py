"""Records on PostgreSQL: ``data`` is jsonb, queried with the same operators and results as SQLite's JSON1.

jsonb keeps no key order, so ``document`` holds each record as it was saved, and that is what comes back.
Every field name and value is a parameter (``data -> ?``), never part of the SQL. Where the two databases
differ by nature, this follows SQLite: a missing field equals null; ``<``/``>`` compare only a number
with a number and a string with a string (bytewise, as SQLite's BINARY collation); ``ORDER BY`` puts
missing and null first, then numbers (booleans as 0 and 1), then strings.
"""

from __future__ import annotations

from typing import Any

from handlers.contract import RecordFilter, RecordOrder
from hub.events import dumps
from hub.storage._engine import Connection
from hub.storage.records import SqlRecords, checked_field, key_of, unknown_operator

_COMPARISONS = {">", ">=", "<", "<="}
_VALUE = "data -> ?::text"
_TYPE = f"jsonb_typeof({_VALUE})"
_TEXT = "data ->> ?::text"
_RANK = f"""CASE {_TYPE} WHEN 'number' THEN 1 WHEN 'boolean' THEN 1 WHEN 'string' THEN 2 WHEN 'array' THEN 2
    WHEN 'object' THEN 2 ELSE 0 END"""
_NUMBER = f"CASE {_TYPE} WHEN 'number' THEN ({_TEXT})::numeric WHEN 'boolean' THEN ({_TEXT})::boolean::int END"
_STRING = f"""(CASE {_TYPE} WHEN 'string' THEN {_TEXT} WHEN 'array' THEN ({_VALUE})::text
    WHEN 'object' THEN ({_VALUE})::text END) COLLATE "C\""""


def _stored_key(value: Any) -> tuple[str, Any] | None:
    if value is None or isinstance(value, list | dict):
        return None
    return key_of(value)


def _as_text(value: Any) -> str | None:
    """A value as SQLite's ``instr`` reads it: booleans are the integers 0 and 1 there."""
    if value is None:
        return None
    return str(int(value)) if isinstance(value, bool) else str(value)


class PostgresRecords(SqlRecords):
    """Records with PostgreSQL's jsonb."""

    _SAME_ORGANIZATION = "organizationId IS NOT DISTINCT FROM ?"
    _INSERT = """INSERT INTO records (id, entity, organizationId, data, document, createdAt, updatedAt)
                 VALUES (?, ?, ?, ?::jsonb, ?, ?, ?)"""
    _UPDATE = "UPDATE records SET data = ?::jsonb, document = ?, updatedAt = ? WHERE id = ?"
    _DOCUMENT = "document"
    _INSERTION_ORDER = "seq"

    def _stored(self, data: str) -> tuple[Any, ...]:
        return (data, data)

    def _keys(self, connection: Connection, entity: str, field: str) -> list[tuple[str, tuple[str, Any]]]:
        rows = connection.execute(
            f"""SELECT id, {_VALUE} AS value FROM records
                WHERE organizationId IS NOT DISTINCT FROM ? AND entity = ? ORDER BY seq""",
            (field, self._organization_id, entity),
        ).fetchall()
        found = [(row["id"], _stored_key(row["value"])) for row in rows]
        return [(record_id, key) for record_id, key in found if key is not None]

    def _condition(self, item: RecordFilter) -> tuple[str, list[Any]]:
        field, value = checked_field(item.field), item.value
        if item.op in ("=", "!=") and value is None:
            sql = f"{_TYPE} <> 'null'" if item.op == "!=" else f"({_VALUE} IS NULL OR {_TYPE} = 'null')"
            return sql, [field] if item.op == "!=" else [field, field]
        if item.op == "=":
            return f"{_VALUE} = ?::jsonb", [field, dumps(value)]
        if item.op == "!=":
            return f"{_VALUE} IS DISTINCT FROM ?::jsonb", [field, dumps(value)]
        if item.op in _COMPARISONS:
            # CASE, not AND: PostgreSQL may evaluate AND's sides in any order, and a cast of text fails.
            if isinstance(value, str):
                compared = f'{_TEXT} COLLATE "C" {item.op} ?::text'
                return f"(CASE WHEN {_TYPE} = 'string' THEN {compared} ELSE false END)", [field, field, value]
            compared = f"({_TEXT})::numeric {item.op} ?::numeric"
            return f"(CASE WHEN {_TYPE} = 'number' THEN {compared} ELSE false END)", [field, field, value]
        if item.op == "contains":
            return (
                f"""(CASE {_TYPE}
                     WHEN 'array' THEN {_VALUE} @> ?::jsonb
                     WHEN 'string' THEN strpos({_TEXT}, ?::text) > 0
                     ELSE false END)""",
                [field, field, dumps([value]), field, _as_text(value)],
            )
        if item.op == "in":
            # As in SQL (and SQLite), null is in no list.
            values = [dumps(each) for each in value if each is not None]
            if not values:
                return "false", []
            return f"{_VALUE} IN ({', '.join(['?::jsonb'] * len(values))})", [field, *values]
        raise unknown_operator(item.op)

    def _order(self, item: RecordOrder) -> tuple[str, list[Any]]:
        field = checked_field(item.field)
        direction = "DESC" if item.descending else "ASC"
        sql = f"{_RANK} {direction}, {_NUMBER} {direction}, {_STRING} {direction}"
        return sql, [field] * sql.count("?")
