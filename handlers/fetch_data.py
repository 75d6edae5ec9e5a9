"""``fetchData``: reads records of ``entity`` from the records table, for the execution's organization.

``filters`` is ``{field: value}`` (every field equal) or ``[{field, op, value}]`` with op one of
``= != > >= < <= contains in``; ``orderBy`` is a field or a list of them (``-field`` or ``field desc``
for descending); ``limit`` defaults to 1000. Output ``{rows, columns, rowCount}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers._records import entity_problems, field_problems, table
from handlers._validation import optional_integer, raise_problems
from handlers.contract import (
    FILTER_OPERATORS,
    ConfigProblem,
    NodeContext,
    NodeError,
    NodeResult,
    RecordFilter,
    RecordOrder,
)
from handlers.templating import is_template

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
_MAX_IN_VALUES = 1000


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _value_problem(path: str, op: str, value: Any) -> ConfigProblem | None:
    if op == "in":
        if not isinstance(value, list) or len(value) > _MAX_IN_VALUES or not all(map(_is_scalar, value)):
            return ConfigProblem(path, f"the value of in must be a list of at most {_MAX_IN_VALUES} plain values")
        return None
    if op in (">", ">=", "<", "<="):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            return ConfigProblem(path, f"the value of {op} must be a number or a string")
        return None
    if not _is_scalar(value):
        return ConfigProblem(path, "the value must be a string, number, boolean or null")
    return None


def _filters(raw: Any) -> tuple[list[RecordFilter], list[ConfigProblem]]:
    """The filters in either form, with every problem found (a template is checked once rendered)."""
    if raw is None or (isinstance(raw, str) and is_template(raw)):
        return [], []
    if isinstance(raw, Mapping):
        items = [{"field": name, "op": "=", "value": value} for name, value in raw.items()]
        paths = [f"filters.{name}" for name in raw]
    elif isinstance(raw, list):
        items = raw
        paths = [f"filters[{index}]" for index in range(len(raw))]
    else:
        return [], [ConfigProblem("filters", "filters must be {field: value} or a list of {field, op, value}")]
    filters: list[RecordFilter] = []
    problems: list[ConfigProblem] = []
    for path, item in zip(paths, items, strict=True):
        if not isinstance(item, Mapping):
            problems.append(ConfigProblem(path, "a filter must be an object {field, op, value}"))
            continue
        field, op, value = item.get("field"), item.get("op", "="), item.get("value")
        found = field_problems(f"{path}.field" if isinstance(raw, list) else path, field)
        if op not in FILTER_OPERATORS:
            found.append(ConfigProblem(f"{path}.op", f"op must be one of {' '.join(FILTER_OPERATORS)}"))
        else:
            problem = _value_problem(f"{path}.value" if isinstance(raw, list) else path, op, value)
            found.extend([problem] if problem else [])
        problems.extend(found)
        if not found:
            filters.append(RecordFilter(str(field), str(op), value))
    return filters, problems


def _order(raw: Any) -> tuple[list[RecordOrder], list[ConfigProblem]]:
    if raw is None or (isinstance(raw, str) and is_template(raw)):
        return [], []
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list):
        return [], [ConfigProblem("orderBy", "orderBy must be a field name or a list of them")]
    orders: list[RecordOrder] = []
    problems: list[ConfigProblem] = []
    for index, name in enumerate(names):
        path = "orderBy" if isinstance(raw, str) else f"orderBy[{index}]"
        if not isinstance(name, str):
            problems.append(ConfigProblem(path, "orderBy must be a field name or a list of them"))
            continue
        field, descending = _direction(name.strip())
        found = field_problems(path, field)
        problems.extend(found)
        if not found:
            orders.append(RecordOrder(field, descending))
    return orders, problems


def _direction(name: str) -> tuple[str, bool]:
    """``-field``, ``field desc`` and ``field asc`` as a field and whether it sorts descending."""
    for suffix, descending in ((" desc", True), (" asc", False)):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)].rstrip(), descending
    if name.startswith("-"):
        return name[1:], True
    return name, False


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    return [
        *entity_problems(config),
        *_filters(config.get("filters"))[1],
        *_order(config.get("orderBy"))[1],
        *optional_integer(config, "limit", minimum=1, maximum=MAX_LIMIT),
    ]


async def run(ctx: NodeContext) -> NodeResult:
    raise_problems(validate(ctx.config))
    if ctx.records is None:
        raise NodeError("This run has no records store")
    entity: str = ctx.config["entity"]
    rows = await ctx.records.fetch(
        entity,
        filters=_filters(ctx.config.get("filters"))[0],
        order_by=_order(ctx.config.get("orderBy"))[0],
        limit=int(ctx.config.get("limit", DEFAULT_LIMIT)),
    )
    return NodeResult(True, f"Fetched {len(rows)} {entity} record(s)", table(rows))
