"""The tabular shape that record-handling nodes share: ``{rows, columns, rowCount}``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from handlers.contract import NodeError


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
