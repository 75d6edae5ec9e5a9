"""``climatiq``: CO2e estimates from Climatiq's Basic Estimate endpoint, for one activity or for every row.

``POST {CLIMATIQ_BASE_URL}/data/v1/estimate`` with ``Authorization: Bearer CLIMATIQ_API_KEY`` and the body
``{emission_factor: {activity_id, data_version}, parameters: {...}}``. One estimate gives
``{co2e, co2eUnit, co2eCalculationMethod, co2eCalculationOrigin, emissionFactor, constituentGases,
activityData}``. With ``config.source`` (rows), each row gets its own estimate, at most
``CLIMATIQ_CONCURRENCY`` at once, and the output is the rows with ``co2e`` and ``co2eUnit`` added.

``emissionFactor`` and ``parameters`` are rendered here rather than by the runner, once per row, so their
templates may read ``row`` (``{"energy": "{{ row.kwh }}"}``) as well as ``input``, ``inputs`` and ``nodes``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from handlers._api import answered, json_body, request, required_setting
from handlers._records import records_of, table
from handlers._validation import optional_mapping
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult, Scope
from handlers.templating import is_template, render, template_problems

RAW_KEYS = frozenset({"emissionFactor", "parameters"})
"""Rendered by the handler, once per row, instead of once by the runner."""

_ESTIMATE_FIELDS = {
    "co2e": "co2e",
    "co2e_unit": "co2eUnit",
    "co2e_calculation_method": "co2eCalculationMethod",
    "co2e_calculation_origin": "co2eCalculationOrigin",
    "emission_factor": "emissionFactor",
    "constituent_gases": "constituentGases",
    "activity_data": "activityData",
    "audit_trail": "auditTrail",
}


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = optional_mapping(config, "emissionFactor", required=True)
    problems += optional_mapping(config, "parameters", required=True)
    selector = config.get("emissionFactor")
    if isinstance(selector, Mapping):
        if not selector.get("activity_id") and not selector.get("id"):
            problems.append(ConfigProblem("emissionFactor.activity_id", "activity_id (or id) is required"))
        if selector.get("activity_id") and not selector.get("data_version"):
            problems.append(ConfigProblem("emissionFactor.data_version", "data_version is required, e.g. ^21"))
    for key in RAW_KEYS:
        problems += template_problems(config.get(key), key)
    source = config.get("source")
    if source is not None and not (isinstance(source, list) or (isinstance(source, str) and is_template(source))):
        problems.append(
            ConfigProblem("source", "source must be a list of rows or a template such as {{ nodes.x.rows }}")
        )
    return problems


@dataclass(frozen=True, slots=True)
class _RowScope(Scope):
    """The usual template variables plus ``row``, the record being estimated."""

    row: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**Scope.as_dict(self), "row": self.row}


async def run(ctx: NodeContext) -> NodeResult:
    api_key = required_setting(ctx.settings.climatiq.api_key, "CLIMATIQ_API_KEY", "climatiq")
    if ctx.config.get("source") is None:
        estimate = await _estimate(ctx, api_key, ctx.scope)
        output = {name: estimate[key] for key, name in _ESTIMATE_FIELDS.items() if key in estimate}
        return NodeResult(True, f"{output.get('co2e')} {output.get('co2eUnit', '')} CO2e".rstrip(), output)
    rows = records_of(ctx.config["source"], "config.source")
    estimates = await _estimate_rows(ctx, api_key, rows)
    done = [
        {**row, "co2e": estimate.get("co2e"), "co2eUnit": estimate.get("co2e_unit")}
        for row, estimate in zip(rows, estimates, strict=True)
    ]
    return NodeResult(True, f"Estimated CO2e for {len(done)} row(s)", table(done))


async def _estimate_rows(ctx: NodeContext, api_key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One estimate per row, at most ``CLIMATIQ_CONCURRENCY`` in flight; the first failure stops the rest."""
    limit = asyncio.Semaphore(ctx.settings.climatiq.concurrency)
    scope = ctx.scope

    async def one(index: int, row: dict[str, Any]) -> dict[str, Any]:
        async with limit:
            row_scope = _RowScope(scope.input, scope.inputs, scope.nodes, scope.execution, row=row)
            try:
                return await _estimate(ctx, api_key, row_scope)
            except NodeError as error:
                raise NodeError(f"row {index}: {error}") from None

    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(index, row)) for index, row in enumerate(rows)]
    except BaseExceptionGroup as failures:
        first = next((error for error in failures.exceptions if isinstance(error, NodeError)), None)
        if first is None:
            raise
        raise first from None
    return [task.result() for task in tasks]


async def _estimate(ctx: NodeContext, api_key: str, scope: Scope) -> dict[str, Any]:
    limits = ctx.settings.templates
    selector = await render(ctx.config["emissionFactor"], scope, limits, path="emissionFactor")
    parameters = await render(ctx.config["parameters"], scope, limits, path="parameters")
    if not isinstance(selector, Mapping):
        raise NodeError("config.emissionFactor must render to an object such as {activity_id, data_version}")
    if not isinstance(parameters, Mapping):
        raise NodeError("config.parameters must render to an object such as {energy, energy_unit}")
    url = f"{ctx.settings.climatiq.base_url.rstrip('/')}/data/v1/estimate"
    body = {"emission_factor": dict(selector), "parameters": dict(parameters)}
    headers = {"Authorization": f"Bearer {api_key}"}
    response = await request(ctx, "Climatiq", "POST", url, json=body, headers=headers)
    answer = json_body(response)
    if response.is_error:
        raise NodeError(_error_message(response, answer))
    if not isinstance(answer, Mapping) or "co2e" not in answer:
        raise NodeError(f"{answered('Climatiq', response)} without a co2e estimate")
    return dict(answer)


def _error_message(response: httpx.Response, answer: Any) -> str:
    """Climatiq's documented error body, ``{error, error_code, message}``, as one line."""
    if isinstance(answer, Mapping) and answer.get("message"):
        code = f" ({answer['error_code']})" if answer.get("error_code") else ""
        return f"{answered('Climatiq', response)}{code}: {answer['message']}"
    return answered("Climatiq", response)
