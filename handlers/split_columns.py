"""``splitColumns``: splits one column of every row into several (``"Madrid, Spain"`` into city and country).

Config: ``column``, ``into`` (the new column names), ``delimiter`` (``,``), ``maxSplit`` (at most one less
than the number of names), ``keepOriginal`` (false), ``trim`` (true). A row with fewer parts gets null in
the columns left over; extra parts stay, delimiters included, in the last column. Rows come from
``config.source`` or the input. Output ``{rows, columns, rowCount}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers._records import row_source_problems, rows_from, table
from handlers._validation import optional_bool, optional_integer, raise_problems, required_string
from handlers.contract import ConfigProblem, NodeContext, NodeResult


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = [
        *required_string(config, "column"),
        *optional_integer(config, "maxSplit", minimum=1),
        *optional_bool(config, "keepOriginal"),
        *optional_bool(config, "trim"),
        *row_source_problems(config),
    ]
    delimiter = config.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or delimiter == ""):
        problems.append(ConfigProblem("delimiter", "delimiter must be a non-empty string"))
    into = config.get("into")
    if not isinstance(into, list) or not into:
        problems.append(ConfigProblem("into", "into is required: a list of new column names"))
    elif not all(isinstance(name, str) and name.strip() for name in into):
        problems.append(ConfigProblem("into", "every name in into must be a non-empty string"))
    elif len(set(into)) != len(into):
        problems.append(ConfigProblem("into", "the names in into must differ from each other"))
    return problems


def _parts(value: Any, delimiter: str, max_split: int, trim: bool) -> list[Any]:
    if value is None:
        return []
    parts = str(value).split(delimiter, max_split)
    return [part.strip() for part in parts] if trim else parts


async def run(ctx: NodeContext) -> NodeResult:
    config = ctx.config
    raise_problems(validate(config))
    column: str = config["column"]
    into: list[str] = config["into"]
    delimiter: str = config.get("delimiter", ",")
    max_split = min(int(config.get("maxSplit", len(into) - 1)), len(into) - 1)
    keep = bool(config.get("keepOriginal", False))
    trim = bool(config.get("trim", True))
    rows = rows_from(ctx)
    output = []
    for row in rows:
        parts = _parts(row.get(column), delimiter, max_split, trim)
        split = {name: parts[index] if index < len(parts) else None for index, name in enumerate(into)}
        output.append(_replace(row, column, split, keep))
    columns = _replace(dict.fromkeys(table(rows)["columns"]), column, dict.fromkeys(into), keep)
    return NodeResult(True, f"Split {column!r} of {len(output)} row(s) into {len(into)}", table(output, columns))


def _replace(row: Mapping[str, Any], column: str, split: dict[str, Any], keep: bool) -> dict[str, Any]:
    """The row with the new columns where the split one was (after it, with keepOriginal)."""
    result: dict[str, Any] = {}
    for name, value in row.items():
        if name == column:
            if keep:
                result[name] = value
            result.update(split)
        elif name not in split:
            result[name] = value
    if column not in row:
        result.update(split)
    return result
