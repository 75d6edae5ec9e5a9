"""splitColumns: one column into several, nulls where parts run out, extra parts in the last column."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import split_columns
from handlers.contract import NodeError
from tests.handlers.conftest import Stores

PEOPLE = {
    "rows": [
        {"id": 1, "full": "Ada, Lovelace, London", "age": 36},
        {"id": 2, "full": "Grace, Hopper", "age": 85},
        {"id": 3, "full": None, "age": 0},
    ],
    "columns": ["id", "full", "age"],
    "rowCount": 3,
}


async def test_a_column_splits_into_named_columns_in_its_place(stores: Stores) -> None:
    result = await stores.run(split_columns.run, {"column": "full", "into": ["first", "last"]}, PEOPLE)
    assert result.output_data == {
        "rows": [
            {"id": 1, "first": "Ada", "last": "Lovelace, London", "age": 36},
            {"id": 2, "first": "Grace", "last": "Hopper", "age": 85},
            {"id": 3, "first": None, "last": None, "age": 0},
        ],
        "columns": ["id", "first", "last", "age"],
        "rowCount": 3,
    }


async def test_rows_with_fewer_parts_get_null(stores: Stores) -> None:
    config = {"column": "full", "into": ["first", "last", "city"]}
    result = await stores.run(split_columns.run, config, PEOPLE)
    assert [row["city"] for row in result.output_data["rows"]] == ["London", None, None]


async def test_max_split_leaves_the_rest_unsplit(stores: Stores) -> None:
    config = {"column": "full", "into": ["first", "rest", "unused"], "maxSplit": 1}
    result = await stores.run(split_columns.run, config, PEOPLE)
    assert result.output_data["rows"][0] == {
        "id": 1,
        "first": "Ada",
        "rest": "Lovelace, London",
        "unused": None,
        "age": 36,
    }


async def test_keep_original_keeps_the_column_before_its_parts(stores: Stores) -> None:
    config = {"column": "full", "into": ["first", "last"], "keepOriginal": True, "delimiter": ",", "trim": False}
    result = await stores.run(split_columns.run, config, PEOPLE)
    assert result.output_data["columns"] == ["id", "full", "first", "last", "age"]
    assert result.output_data["rows"][1]["last"] == " Hopper"


async def test_rows_come_from_config_source_before_the_input(stores: Stores) -> None:
    source: list[dict[str, Any]] = [{"code": "ES-MD"}]
    result = await stores.run(
        split_columns.run, {"column": "code", "into": ["country", "region"], "delimiter": "-", "source": source}, PEOPLE
    )
    assert result.output_data["rows"] == [{"country": "ES", "region": "MD"}]


async def test_input_that_is_not_records_fails_clearly(stores: Stores) -> None:
    with pytest.raises(NodeError, match="input must be a list of records"):
        await stores.run(split_columns.run, {"column": "full", "into": ["a"]}, "just text")


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({"into": ["a"]}, "column"),
        ({"column": "c"}, "into"),
        ({"column": "c", "into": ["a", "a"]}, "into"),
        ({"column": "c", "into": ["a", ""]}, "into"),
        ({"column": "c", "into": ["a"], "delimiter": ""}, "delimiter"),
        ({"column": "c", "into": ["a"], "maxSplit": 0}, "maxSplit"),
        ({"column": "c", "into": ["a"], "keepOriginal": "yes"}, "keepOriginal"),
        ({"column": "c", "into": ["a"], "source": "rows"}, "source"),
    ],
)
def test_a_bad_config_is_refused_naming_the_field(config: dict[str, Any], path: str) -> None:
    assert [problem.path for problem in split_columns.validate(config)] == [path]
