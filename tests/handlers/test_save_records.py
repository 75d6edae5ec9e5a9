"""saveRecords: rows into the records table, inserted or upserted on a key, per organization."""

from __future__ import annotations

from typing import Any

import pytest

from handlers import fetch_data, save_records
from handlers.contract import NodeError
from tests.handlers.conftest import Stores


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str:
    """Records behave the same on SQLite (JSON1) and PostgreSQL (jsonb)."""
    return str(request.param)


CUSTOMERS = [
    {"email": "ada@example.com", "name": "Ada", "spend": 120},
    {"email": "grace@example.com", "name": "Grace", "spend": 80},
]


async def _all(stores: Stores, entity: str = "customers", organization_id: str | None = None) -> list[dict[str, Any]]:
    result = await stores.run(fetch_data.run, {"entity": entity}, organization_id=organization_id)
    rows: list[dict[str, Any]] = result.output_data["rows"]
    return rows


async def test_insert_saves_every_row_as_a_new_record(stores: Stores) -> None:
    result = await stores.run(save_records.run, {"entity": "customers"}, {"rows": CUSTOMERS})
    again = await stores.run(save_records.run, {"entity": "customers", "mode": "insert"}, CUSTOMERS)
    assert result.output_data == again.output_data == {"saved": 2, "inserted": 2, "updated": 0}
    assert await _all(stores) == CUSTOMERS + CUSTOMERS


async def test_upsert_replaces_the_record_with_the_same_key_and_inserts_the_rest(stores: Stores) -> None:
    config = {"entity": "customers", "mode": "upsert", "key": "email"}
    await stores.run(save_records.run, config, CUSTOMERS)
    changes = [
        {"email": "ada@example.com", "name": "Ada L.", "spend": 200},
        {"email": "alan@example.com", "name": "Alan"},
    ]
    result = await stores.run(save_records.run, config, changes)
    assert result.output_data == {"saved": 2, "inserted": 1, "updated": 1}
    assert await _all(stores) == [changes[0], CUSTOMERS[1], changes[1]]


async def test_upsert_tells_a_number_key_from_a_text_key(stores: Stores) -> None:
    config = {"entity": "items", "mode": "upsert", "key": "code"}
    await stores.run(save_records.run, config, [{"code": 7, "v": "number"}])
    result = await stores.run(save_records.run, config, [{"code": "7", "v": "text"}, {"code": 7, "v": "number again"}])
    assert result.output_data == {"saved": 2, "inserted": 1, "updated": 1}
    assert await _all(stores, "items") == [{"code": 7, "v": "number again"}, {"code": "7", "v": "text"}]


async def test_repeated_keys_in_one_batch_end_as_one_record(stores: Stores) -> None:
    config = {"entity": "customers", "mode": "upsert", "key": "email"}
    rows = [{"email": "ada@example.com", "visits": 1}, {"email": "ada@example.com", "visits": 2}]
    result = await stores.run(save_records.run, config, rows)
    assert result.output_data == {"saved": 2, "inserted": 1, "updated": 1}
    assert await _all(stores) == [rows[1]]


async def test_a_row_without_its_key_fails_naming_the_row(stores: Stores) -> None:
    config = {"entity": "customers", "mode": "upsert", "key": "email"}
    with pytest.raises(NodeError, match="Row 1 has no string or number in the key field 'email'"):
        await stores.run(save_records.run, config, [CUSTOMERS[0], {"name": "nobody"}])
    assert await _all(stores) == []


async def test_records_belong_to_the_organization_that_saved_them(stores: Stores) -> None:
    await stores.run(save_records.run, {"entity": "customers"}, CUSTOMERS[:1], organization_id="acme")
    await stores.run(save_records.run, {"entity": "customers"}, CUSTOMERS[1:], organization_id="globex")
    await stores.run(
        save_records.run, {"entity": "customers", "mode": "upsert", "key": "email"}, CUSTOMERS, organization_id="acme"
    )
    assert await _all(stores, organization_id="acme") == CUSTOMERS
    assert await _all(stores, organization_id="globex") == CUSTOMERS[1:]
    assert await _all(stores) == []


async def test_rows_come_from_config_source(stores: Stores) -> None:
    result = await stores.run(save_records.run, {"entity": "customers", "source": {"rows": CUSTOMERS}}, "ignored")
    assert result.output_data["inserted"] == 2


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({}, "entity"),
        ({"entity": "bad entity!"}, "entity"),
        ({"entity": "c", "mode": "merge"}, "mode"),
        ({"entity": "c", "mode": "upsert"}, "key"),
        ({"entity": "c", "mode": "upsert", "key": 'email") --'}, "key"),
        ({"entity": "c", "source": 5}, "source"),
    ],
)
def test_a_bad_config_is_refused_naming_the_field(config: dict[str, Any], path: str) -> None:
    assert [problem.path for problem in save_records.validate(config)] == [path]
