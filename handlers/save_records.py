"""``saveRecords``: stores rows in the records table under ``entity``, for the execution's organization.

``mode`` is ``insert`` (every row a new record) or ``upsert``: a row whose ``key`` field matches a stored
record's replaces it, the others are inserted. Rows come from ``config.source`` or the input.
Output ``{saved, inserted, updated}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers._records import entity_problems, field_problems, row_source_problems, rows_from
from handlers._validation import one_of, raise_problems
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult

MODES = ("insert", "upsert")


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = [
        *entity_problems(config),
        *one_of(config, "mode", MODES, default="insert"),
        *row_source_problems(config),
    ]
    key = config.get("key")
    if key is not None:
        problems.extend(field_problems("key", key))
    elif config.get("mode") == "upsert":
        problems.append(ConfigProblem("key", "key is required with mode upsert: the field that identifies a record"))
    return problems


async def run(ctx: NodeContext) -> NodeResult:
    raise_problems(validate(ctx.config))
    if ctx.records is None:
        raise NodeError("This run has no records store")
    entity: str = ctx.config["entity"]
    key: str | None = ctx.config["key"] if ctx.config.get("mode") == "upsert" else None
    rows = rows_from(ctx)
    if key is not None:
        for index, row in enumerate(rows):
            if not isinstance(row.get(key), str | int | float):
                raise NodeError(f"Row {index} has no string or number in the key field {key!r}")
    saved = await ctx.records.save(entity, rows, upsert_key=key)
    output = {"saved": len(rows), "inserted": saved.inserted, "updated": saved.updated}
    return NodeResult(True, f"Saved {len(rows)} {entity} record(s)", output)
