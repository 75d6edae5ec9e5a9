"""The esios node against a local server that speaks ESIOS's indicators API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from handlers.contract import NodeError
from handlers.settings import EsiosSettings, NodeSettings
from tests.conftest import ESIOS_TOKEN
from tests.fakes import EsiosService
from tests.handlers.harness import NodeRunner, node_runner


@pytest_asyncio.fixture(loop_scope="session")
async def runner(esios: tuple[EsiosService, str]) -> AsyncIterator[NodeRunner]:
    async with node_runner(NodeSettings(esios=EsiosSettings(api_token=ESIOS_TOKEN, base_url=esios[1]))) as running:
        yield running


async def test_the_request_carries_the_key_the_accept_header_and_every_parameter(
    runner: NodeRunner, esios: tuple[EsiosService, str]
) -> None:
    config = {
        "indicatorId": 600,
        "startDate": "2024-05-01T00:00:00Z",
        "endDate": "2024-05-01T23:59:59Z",
        "geoIds": [3, 8741],
        "timeTrunc": "hour",
    }
    await runner.run("esios", config)
    request = esios[0].requests[-1]
    assert request["path"] == "/indicators/600"
    assert request["headers"]["x-api-key"] == ESIOS_TOKEN
    assert request["headers"]["accept"] == "application/json; application/vnd.esios-api-v1+json"
    assert request["query"] == [
        ("start_date", "2024-05-01T00:00:00Z"),
        ("end_date", "2024-05-01T23:59:59Z"),
        ("geo_ids[]", "3"),
        ("geo_ids[]", "8741"),
        ("time_trunc", "hour"),
    ]


async def test_values_become_rows_with_the_indicator(runner: NodeRunner) -> None:
    result = await runner.run(
        "esios", {"indicatorId": "1001", "startDate": "2024-05-01", "endDate": "2024-05-02", "geoIds": [8741]}
    )
    output = result.output_data
    assert output["indicator"] == {"id": 1001, "name": EsiosService.INDICATOR_NAME}
    assert output["columns"] == ["datetime", "value", "geoId", "geoName"]
    assert output["rowCount"] == 3
    assert output["rows"][0] == {
        "datetime": "2024-05-01T00:00:00.000+02:00",
        "value": 40.5 + 0.8741,
        "geoId": 8741,
        "geoName": "Península",
    }


async def test_a_refused_token_is_a_clear_error(esios: tuple[EsiosService, str]) -> None:
    settings = NodeSettings(esios=EsiosSettings(api_token="wrong-token-55", base_url=esios[1]))
    async with node_runner(settings) as runner:
        with pytest.raises(
            NodeError, match="ESIOS answered 403 Forbidden: Forbidden; check ESIOS_API_TOKEN"
        ) as failure:
            await runner.run("esios", {"indicatorId": 600, "startDate": "2024-05-01", "endDate": "2024-05-02"})
    assert "wrong-token-55" not in str(failure.value)


async def test_an_unknown_indicator_is_named(runner: NodeRunner) -> None:
    with pytest.raises(NodeError, match="ESIOS answered 404 Not Found: Not Found; no indicator 404"):
        await runner.run("esios", {"indicatorId": 404, "startDate": "2024-05-01", "endDate": "2024-05-02"})


def test_a_bad_config_names_each_field(runner: NodeRunner) -> None:
    config = {"indicatorId": "abc", "startDate": "yesterday", "geoIds": [3, "x"], "timeTrunc": "week"}
    problems = runner.problems("esios", config)
    assert [problem.path for problem in problems] == ["indicatorId", "startDate", "endDate", "geoIds", "timeTrunc"]
