"""The climatiq node against a local server that speaks Climatiq's Basic Estimate API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from handlers.contract import NodeError
from handlers.settings import ClimatiqSettings, NodeSettings
from tests.conftest import CLIMATIQ_KEY
from tests.fakes import ClimatiqService
from tests.handlers.harness import NodeRunner, node_runner

FACTOR = {"activity_id": "electricity-supply_grid-source_supplier_mix", "data_version": "^21"}


def _settings(url: str, key: str = CLIMATIQ_KEY, concurrency: int = 3) -> NodeSettings:
    return NodeSettings(climatiq=ClimatiqSettings(api_key=key, base_url=url, concurrency=concurrency))


@pytest_asyncio.fixture(loop_scope="session")
async def runner(climatiq: tuple[ClimatiqService, str]) -> AsyncIterator[NodeRunner]:
    async with node_runner(_settings(climatiq[1])) as running:
        yield running


async def test_one_estimate_sends_the_selector_and_parameters_with_the_bearer_key(
    runner: NodeRunner, climatiq: tuple[ClimatiqService, str]
) -> None:
    config = {"emissionFactor": FACTOR, "parameters": {"energy": "{{ input.kwh }}", "energy_unit": "kWh"}}
    result = await runner.run("climatiq", config, {"kwh": 100})
    request = climatiq[0].requests[-1]
    assert request["authorization"] == f"Bearer {CLIMATIQ_KEY}"
    assert request["body"] == {"emission_factor": FACTOR, "parameters": {"energy": 100, "energy_unit": "kWh"}}
    output = result.output_data
    assert output["co2e"] == 50.0 and output["co2eUnit"] == "kg"
    assert output["co2eCalculationMethod"] == "ar5" and output["co2eCalculationOrigin"] == "source"
    assert output["emissionFactor"]["activity_id"] == FACTOR["activity_id"]
    assert output["activityData"] == {"activity_value": 100.0, "activity_unit": "kWh"}


async def test_each_row_gets_its_own_estimate_with_bounded_concurrency(climatiq: tuple[ClimatiqService, str]) -> None:
    rows = [{"site": f"s{index}", "kwh": index * 10} for index in range(1, 9)]
    config = {
        "source": "{{ nodes.meters.rows }}",
        "emissionFactor": FACTOR,
        "parameters": {"energy": "{{ row.kwh }}", "energy_unit": "kWh"},
    }
    climatiq[0].most_in_flight = 0
    async with node_runner(_settings(climatiq[1], concurrency=2)) as runner:
        result = await runner.run("climatiq", config, nodes={"meters": {"rows": rows}})
    output = result.output_data
    assert output["rowCount"] == 8
    assert output["columns"] == ["site", "kwh", "co2e", "co2eUnit"]
    assert output["rows"][2] == {"site": "s3", "kwh": 30, "co2e": 15.0, "co2eUnit": "kg"}
    assert 1 <= climatiq[0].most_in_flight <= 2


async def test_a_failing_row_fails_the_node_naming_the_row(runner: NodeRunner) -> None:
    rows = [{"fuel": "electricity-supply_grid"}, {"fuel": "unknown"}]
    config = {
        "source": "{{ input }}",
        "emissionFactor": {"activity_id": "{{ row.fuel }}", "data_version": "^21"},
        "parameters": {"energy": 1, "energy_unit": "kWh"},
    }
    with pytest.raises(NodeError, match=r"row 1: Climatiq answered 400 Bad Request \(no_emission_factors_found\)"):
        await runner.run("climatiq", config, rows)


async def test_a_refused_key_is_a_clear_error_without_the_key(climatiq: tuple[ClimatiqService, str]) -> None:
    async with node_runner(_settings(climatiq[1], key="wrong-key-64")) as runner:
        with pytest.raises(NodeError, match="Climatiq answered 401 Unauthorized: Invalid API key.") as failure:
            await runner.run("climatiq", {"emissionFactor": FACTOR, "parameters": {"energy": 1, "energy_unit": "kWh"}})
    assert "wrong-key-64" not in str(failure.value)


async def test_a_server_that_does_not_answer_in_time_fails_clearly(climatiq: tuple[ClimatiqService, str]) -> None:
    settings = _settings(climatiq[1])
    settings = NodeSettings(climatiq=settings.climatiq, http_timeout_seconds=0.01)
    async with node_runner(settings) as runner:
        with pytest.raises(NodeError, match="Climatiq did not answer within 0.01 s"):
            await runner.run("climatiq", {"emissionFactor": FACTOR, "parameters": {"energy": 1, "energy_unit": "kWh"}})


def test_a_bad_config_names_each_field(runner: NodeRunner) -> None:
    config = {"emissionFactor": {"data_version": "^21"}, "parameters": {"energy": "{{ row.kwh "}, "source": 5}
    problems = runner.problems("climatiq", config)
    assert sorted(problem.path for problem in problems) == ["emissionFactor.activity_id", "parameters.energy", "source"]
