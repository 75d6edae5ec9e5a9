"""fetchData: records filtered, ordered and limited in SQL, with every value a parameter."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import fetch_data, save_records
from tests.handlers.conftest import Stores


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str:
    """Records behave the same on SQLite (JSON1) and PostgreSQL (jsonb)."""
    return str(request.param)


ORDERS = [
    {"id": 1, "customer": "Ada", "total": 120.5, "status": "paid", "tags": ["vip", "eu"], "note": "call 'first'"},
    {"id": 2, "customer": "Grace", "total": 80, "status": "open", "tags": ["us"], "note": None},
    {"id": 3, "customer": "Alan", "total": 300, "status": "paid", "tags": [], "note": "Rush order"},
    {"id": 4, "customer": "Edsger", "total": "unknown", "status": "void", "tags": ["eu"]},
]


@pytest.fixture(autouse=True)
async def orders(stores: Stores) -> None:
    await stores.run(save_records.run, {"entity": "orders"}, ORDERS)


async def _ids(stores: Stores, **config: Any) -> list[int]:
    result = await stores.run(fetch_data.run, {"entity": "orders", **config})
    return [row["id"] for row in result.output_data["rows"]]


async def test_without_filters_every_record_comes_back_oldest_first_as_a_table(stores: Stores) -> None:
    result = await stores.run(fetch_data.run, {"entity": "orders"})
    assert result.output_data == {
        "rows": ORDERS,
        "columns": ["id", "customer", "total", "status", "tags", "note"],
        "rowCount": 4,
    }


async def test_an_object_of_filters_means_every_field_equal(stores: Stores) -> None:
    assert await _ids(stores, filters={"status": "paid", "customer": "Alan"}) == [3]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("=", "paid", [1, 3]),
        ("!=", "paid", [2, 4]),
        (">", 100, [1, 3]),
        (">=", 120.5, [1, 3]),
        ("<", 120.5, [2]),
        ("<=", 80, [2]),
        ("in", ["open", "void"], [2, 4]),
        ("in", [], []),
    ],
)
async def test_each_operator_filters_in_sql(stores: Stores, op: str, value: Any, expected: list[int]) -> None:
    field = "total" if op in (">", ">=", "<", "<=") else "status"
    assert await _ids(stores, filters=[{"field": field, "op": op, "value": value}]) == expected


async def test_contains_finds_text_inside_strings_and_items_inside_lists(stores: Stores) -> None:
    assert await _ids(stores, filters=[{"field": "note", "op": "contains", "value": "order"}]) == [3]
    assert await _ids(stores, filters=[{"field": "tags", "op": "contains", "value": "eu"}]) == [1, 4]


async def test_equal_to_null_matches_null_and_missing_fields(stores: Stores) -> None:
    assert await _ids(stores, filters={"note": None}) == [2, 4]


async def test_values_travel_as_parameters_not_sql(stores: Stores) -> None:
    assert await _ids(stores, filters={"note": "call 'first'"}) == [1]
    assert await _ids(stores, filters={"customer": "x' OR '1'='1"}) == []


async def test_order_by_sorts_on_fields_and_limit_cuts(stores: Stores) -> None:
    assert await _ids(stores, orderBy=["status desc", "-id"], limit=3) == [4, 3, 1]
    assert await _ids(stores, orderBy="customer") == [1, 3, 4, 2]


async def test_only_the_organizations_records_are_fetched(stores: Stores) -> None:
    await stores.run(save_records.run, {"entity": "orders"}, ORDERS, organization_id="acme")
    other = await stores.run(fetch_data.run, {"entity": "orders"}, organization_id="globex")
    own = await stores.run(fetch_data.run, {"entity": "orders"}, organization_id="acme")
    unscoped = await stores.run(fetch_data.run, {"entity": "orders"})
    assert [result.output_data["rowCount"] for result in (other, own, unscoped)] == [0, 4, 4]


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({}, "entity"),
        ({"entity": "o", "filters": 3}, "filters"),
        ({"entity": "o", "filters": {"a'b": 1}}, "filters.a'b"),
        ({"entity": "o", "filters": {"total": {"$gt": 1}}}, "filters.total"),
        ({"entity": "o", "filters": [{"field": "total", "op": "~", "value": 1}]}, "filters[0].op"),
        ({"entity": "o", "filters": [{"field": "x) OR 1=1 --", "value": 1}]}, "filters[0].field"),
        ({"entity": "o", "filters": [{"field": "total", "op": ">", "value": True}]}, "filters[0].value"),
        ({"entity": "o", "filters": [{"field": "status", "op": "in", "value": "paid"}]}, "filters[0].value"),
        ({"entity": "o", "filters": ["status"]}, "filters[0]"),
        ({"entity": "o", "orderBy": ["total", 'x"']}, "orderBy[1]"),
        ({"entity": "o", "limit": 0}, "limit"),
        ({"entity": "o", "limit": 1_000_000}, "limit"),
    ],
)
def test_a_bad_config_is_refused_naming_the_field(config: dict[str, Any], path: str) -> None:
    assert [problem.path for problem in fetch_data.validate(config)] == [path]


async def test_field_names_may_hold_spaces_hyphens_and_accents(stores: Stores) -> None:
    await stores.run(save_records.run, {"entity": "people"}, [{"First Name": "Ana", "año": 1990, "e-mail": "a@x"}])
    config = {"entity": "people", "filters": {"First Name": "Ana", "año": 1990, "e-mail": "a@x"}}
    result = await stores.run(fetch_data.run, config)
    assert result.output_data["rowCount"] == 1
