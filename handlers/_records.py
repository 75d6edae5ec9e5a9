"""What record-handling nodes share: the tabular shape ``{rows, columns, rowCount}``, where their rows
come from, and the checks on entity and field names."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from handlers.contract import RECORD_FIELD, ConfigProblem, NodeContext, NodeError
from handlers.templating import is_template

ENTITY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


def table(rows: list[dict[str, Any]], columns: Iterable[str] | None = None) -> dict[str, Any]:
    """Rows with their columns in first-seen order."""
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = seen
    return {"rows": rows, "columns": list(columns), "rowCount": len(rows)}


def is_table(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("rows"), list)


def records_of(value: Any, what: str) -> list[dict[str, Any]]:
    """The records in a list of objects or in a ``{rows: [...]}`` table; anything else is a clear error."""
    rows = value.get("rows") if is_table(value) else value
    if not isinstance(rows, list):
        raise NodeError(f"{what} must be a list of records or an object with rows, got {type(value).__name__}")
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise NodeError(f"{what}: row {index} is {type(row).__name__}, not an object")
    return [dict(row) for row in rows]


def row_source_problems(config: Mapping[str, Any]) -> list[ConfigProblem]:
    """``source``, when given, is a template (``{{ nodes.x1.rows }}``) or the records themselves."""
    source = config.get("source")
    if source is None or isinstance(source, list | Mapping) or (isinstance(source, str) and is_template(source)):
        return []
    return [ConfigProblem("source", "source must be a template such as {{ nodes.x1.rows }}, or a list of records")]


def rows_from(ctx: NodeContext) -> list[dict[str, Any]]:
    """The records a node works on: ``config.source`` when given, else its input."""
    source = ctx.config.get("source")
    if source is not None:
        return records_of(source, "config.source")
    return records_of(ctx.input, "The node's input")


def field_problems(path: str, name: Any) -> list[ConfigProblem]:
    """A record field name must match ``RECORD_FIELD``: it becomes a JSON path in the records store."""
    if isinstance(name, str) and RECORD_FIELD.match(name):
        return []
    return [ConfigProblem(path, "a field name may hold letters, digits, _, spaces and - (at most 128)")]


def entity_problems(config: Mapping[str, Any]) -> list[ConfigProblem]:
    entity = config.get("entity")
    if isinstance(entity, str) and (ENTITY.match(entity) or is_template(entity)):
        return []
    return [ConfigProblem("entity", "entity is required: a name of letters, digits, _ . - (at most 64)")]
