"""join: merge objects, append lists, and inner / left / outer joins of records."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from handlers import join
from handlers.contract import NodeContext, NodeError, Scope
from handlers.settings import NodeSettings

LEFT = [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]
RIGHT = {"rows": [{"id": 1, "city": "London"}, {"id": 3, "city": "Paris"}], "columns": ["id", "city"], "rowCount": 2}


class _Resources:
    async def get(self, key: str, open_resource: Any) -> Any:
        return await open_resource()


async def _noop(*args: Any) -> None:
    return None


def _context(config: dict[str, Any], *branches: Any, settings: NodeSettings | None = None) -> NodeContext:
    return NodeContext(
        execution_id="e",
        organization_id=None,
        node_id="j",
        node_type="join",
        label="j",
        config=config,
        input=list(branches),
        scope=Scope(None, {}, {}),
        settings=settings or NodeSettings(),
        http=httpx.AsyncClient(),
        log=_noop,
        progress=_noop,
        resources=_Resources(),
        branches=branches,
    )


async def test_merge_shallow_merges_objects_in_connection_order() -> None:
    result = await join.run(_context({"mode": "merge"}, {"a": 1, "b": 1}, {"b": 2}))
    assert result.output_data == {"a": 1, "b": 2}


async def test_append_concatenates_lists_and_tables() -> None:
    result = await join.run(_context({"mode": "append"}, LEFT, RIGHT))
    assert result.output_data["rowCount"] == 4
    assert result.output_data["columns"] == ["id", "name", "city"]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("inner", [{"id": 1, "name": "Ada", "city": "London"}]),
        ("left", [{"id": 1, "name": "Ada", "city": "London"}, {"id": 2, "name": "Grace"}]),
        ("outer", [{"id": 1, "name": "Ada", "city": "London"}, {"id": 2, "name": "Grace"}, {"id": 3, "city": "Paris"}]),
    ],
)
async def test_record_joins_match_on_the_key(mode: str, expected: list[dict[str, Any]]) -> None:
    result = await join.run(_context({"mode": mode, "key": "id"}, LEFT, RIGHT))
    assert result.output_data["rows"] == expected


async def test_record_joins_need_exactly_two_branches() -> None:
    with pytest.raises(NodeError, match="exactly two"):
        await join.run(_context({"mode": "inner", "key": "id"}, LEFT))


def test_a_record_join_without_a_key_is_refused_at_submit_time() -> None:
    assert [problem.path for problem in join.validate({"mode": "left"})] == ["key"]


async def test_a_join_that_would_pass_the_row_cap_fails_before_building_the_rows() -> None:
    """1,000 rows on each side sharing one key would be a million-row cross product."""
    same = [{"k": 1, "n": index} for index in range(1000)]
    with pytest.raises(NodeError, match=r"inner join would produce more than 100,000 rows \(HUB_JOIN_MAX_ROWS\)"):
        await join.run(_context({"mode": "inner", "key": "k"}, same, same))


async def test_an_outer_join_counts_its_unmatched_rows_against_the_cap() -> None:
    left = [{"k": index} for index in range(3)]
    right = [{"k": index + 10} for index in range(3)]
    with pytest.raises(NodeError, match="would produce 6 rows, more than 5"):
        await join.run(_context({"mode": "outer", "key": "k"}, left, right, settings=NodeSettings(join_max_rows=5)))
