"""``esios``: one indicator's values from Red Eléctrica's ESIOS API, as ``{indicator, rows, columns, rowCount}``.

``GET {ESIOS_BASE_URL}/indicators/{indicatorId}?start_date=…&end_date=…[&geo_ids[]=…][&time_trunc=…]`` with
the ``x-api-key`` header. The documented answer is ``{indicator: {id, name, …, values: [{value, datetime,
datetime_utc, geo_id, geo_name}]}}``; an error is ``{"Status": 403, "message": "Forbidden"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from handlers._api import answered, json_body, request, required_setting
from handlers._records import table
from handlers._validation import one_of, positive_integer
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult
from handlers.templating import is_template

TIME_TRUNCS = ("five_minutes", "ten_minutes", "fifteen_minutes", "hour", "day", "month", "year")
COLUMNS = ("datetime", "value", "geoId", "geoName")
ACCEPT = "application/json; application/vnd.esios-api-v1+json"


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    indicator = config.get("indicatorId")
    if indicator is None:
        problems.append(ConfigProblem("indicatorId", "indicatorId is required (an ESIOS indicator number, e.g. 1001)"))
    elif not _templated(indicator) and positive_integer(indicator) is None:
        problems.append(ConfigProblem("indicatorId", "indicatorId must be a positive whole number"))
    for key in ("startDate", "endDate"):
        value = config.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(ConfigProblem(key, f"{key} is required: an ISO 8601 date or time, e.g. 2024-05-01"))
        elif not is_template(value) and _parse_time(value) is None:
            problems.append(ConfigProblem(key, f"{key} must be an ISO 8601 date or time, got {value!r}"))
    geo_ids = config.get("geoIds")
    if geo_ids is not None and not _templated(geo_ids):
        if not isinstance(geo_ids, list) or any(positive_integer(item) is None for item in geo_ids):
            problems.append(ConfigProblem("geoIds", "geoIds must be a list of ESIOS geo ids (whole numbers)"))
    return problems + one_of(config, "timeTrunc", TIME_TRUNCS)


def _templated(value: Any) -> bool:
    return isinstance(value, str) and is_template(value)


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _query(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    query = [("start_date", str(config["startDate"]).strip()), ("end_date", str(config["endDate"]).strip())]
    geo_ids = config.get("geoIds") or []
    if not isinstance(geo_ids, list):
        raise NodeError("config.geoIds must render to a list of geo ids")
    for geo_id in geo_ids:
        number = positive_integer(geo_id)
        if number is None:
            raise NodeError(f"config.geoIds: {geo_id!r} is not an ESIOS geo id")
        query.append(("geo_ids[]", str(number)))
    if config.get("timeTrunc"):
        trunc = str(config["timeTrunc"])
        if trunc not in TIME_TRUNCS:
            raise NodeError(f"config.timeTrunc must be one of {', '.join(TIME_TRUNCS)}; got {trunc!r}")
        query.append(("time_trunc", trunc))
    return query


async def run(ctx: NodeContext) -> NodeResult:
    settings = ctx.settings.esios
    token = required_setting(settings.api_token, "ESIOS_API_TOKEN", "esios")
    indicator_id = positive_integer(ctx.config.get("indicatorId"))
    if indicator_id is None:
        raise NodeError(f"config.indicatorId must be a positive whole number, got {ctx.config.get('indicatorId')!r}")
    url = f"{settings.base_url.rstrip('/')}/indicators/{indicator_id}"
    headers = {"x-api-key": token, "Accept": ACCEPT, "Content-Type": "application/json"}
    response = await request(ctx, "ESIOS", "GET", url, params=_query(ctx.config), headers=headers)
    answer = json_body(response)
    if response.is_error:
        raise NodeError(_error_message(response, answer, indicator_id))
    indicator = answer.get("indicator") if isinstance(answer, Mapping) else None
    if not isinstance(indicator, Mapping) or not isinstance(indicator.get("values"), list):
        raise NodeError(f"{answered('ESIOS', response)} without indicator values")
    rows = [
        {
            "datetime": value.get("datetime"),
            "value": value.get("value"),
            "geoId": value.get("geo_id"),
            "geoName": value.get("geo_name"),
        }
        for value in indicator["values"]
        if isinstance(value, Mapping)
    ]
    output = {
        "indicator": {"id": indicator.get("id", indicator_id), "name": indicator.get("name")},
        **table(rows, COLUMNS),
    }
    return NodeResult(True, f"ESIOS indicator {indicator_id}: {len(rows)} value(s)", output)


def _error_message(response: httpx.Response, answer: Any, indicator_id: int) -> str:
    detail = answer.get("message") if isinstance(answer, Mapping) else None
    hint = {
        401: "check ESIOS_API_TOKEN",
        403: "check ESIOS_API_TOKEN",
        404: f"no indicator {indicator_id}",
    }.get(response.status_code)
    parts = [part for part in (detail, hint) if part]
    return f"{answered('ESIOS', response)}" + (f": {'; '.join(parts)}" if parts else "")
