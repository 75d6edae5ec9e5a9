"""``join``: combines the outputs of its incoming connections (in connection order).

``merge`` shallow-merges objects, ``append`` concatenates lists, and ``inner`` / ``left`` / ``outer`` join
two lists of records on ``key`` (or ``leftKey`` and ``rightKey``). A record join that would produce more
than ``HUB_JOIN_MAX_ROWS`` rows (a key shared by many rows on both sides multiplies them) fails the node
as soon as it passes that, before the rows fill memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers._records import is_table, records_of, table
from handlers._validation import one_of, optional_string
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult

MODES = ("merge", "append", "inner", "left", "outer")
_RECORD_JOINS = ("inner", "left", "outer")


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = [*one_of(config, "mode", MODES, default="merge")]
    for key in ("key", "leftKey", "rightKey"):
        problems.extend(optional_string(config, key))
    if config.get("mode") in _RECORD_JOINS and not config.get("key"):
        if not (config.get("leftKey") and config.get("rightKey")):
            problems.append(ConfigProblem("key", f"{config['mode']} join needs key, or both leftKey and rightKey"))
    return problems


async def run(ctx: NodeContext) -> NodeResult:
    mode = ctx.config.get("mode", "merge")
    branches = list(ctx.branches) or [ctx.input]
    if mode == "merge":
        return _merge(branches)
    if mode == "append":
        return _append(branches)
    if len(branches) != 2:
        raise NodeError(f"{mode} join needs exactly two incoming branches, got {len(branches)}")
    left_key = ctx.config.get("leftKey") or ctx.config["key"]
    right_key = ctx.config.get("rightKey") or ctx.config["key"]
    left = records_of(branches[0], "left input")
    right = records_of(branches[1], "right input")
    rows = _join_records(left, right, left_key, right_key, mode, ctx.settings.join_max_rows)
    return NodeResult(True, f"{mode.capitalize()} join produced {len(rows)} row(s)", table(rows))


def _merge(branches: list[Any]) -> NodeResult:
    merged: dict[str, Any] = {}
    for index, branch in enumerate(branches):
        if branch is None:
            continue
        if not isinstance(branch, Mapping):
            raise NodeError(f"merge needs objects; input {index + 1} is {type(branch).__name__}")
        merged.update(branch)
    return NodeResult(True, f"Merged {len(branches)} input(s)", merged)


def _append(branches: list[Any]) -> NodeResult:
    tabular = any(is_table(branch) for branch in branches)
    combined: list[Any] = []
    for index, branch in enumerate(branches):
        if branch is None:
            continue
        if is_table(branch) or tabular:
            combined.extend(records_of(branch, f"input {index + 1}"))
        elif isinstance(branch, list):
            combined.extend(branch)
        else:
            raise NodeError(f"append needs lists; input {index + 1} is {type(branch).__name__}")
    output: Any = table(combined) if tabular else combined
    return NodeResult(True, f"Appended {len(combined)} item(s)", output)


def _join_records(
    left: list[dict[str, Any]], right: list[dict[str, Any]], left_key: str, right_key: str, mode: str, max_rows: int
) -> list[dict[str, Any]]:
    by_key: dict[Any, list[dict[str, Any]]] = {}
    for row in right:
        by_key.setdefault(_hashable(row.get(right_key)), []).append(row)
    matched: set[int] = set()
    rows: list[dict[str, Any]] = []
    for row in left:
        partners = by_key.get(_hashable(row.get(left_key)), [])
        if len(rows) + len(partners) > max_rows:
            raise NodeError(
                f"{mode} join would produce more than {max_rows:,} rows (HUB_JOIN_MAX_ROWS): "
                f"many rows share a {left_key!r} value; join on a more selective key"
            )
        for partner in partners:
            matched.add(id(partner))
            rows.append({**row, **partner})
        if not partners and mode in ("left", "outer"):
            rows.append(dict(row))
    if mode == "outer":
        rows.extend(dict(row) for row in right if id(row) not in matched)
    if len(rows) > max_rows:
        raise NodeError(f"{mode} join would produce {len(rows):,} rows, more than {max_rows:,} (HUB_JOIN_MAX_ROWS)")
    return rows


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, dict | list) else value
