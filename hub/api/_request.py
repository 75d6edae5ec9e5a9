"""Reading request bodies and query strings, with every problem named by its field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request

from handlers.egress import EgressPolicy, EgressRefused, url_problem
from hub.errors import BadRequest, InvalidRequest, Problem

MAX_JSON_BYTES = 10 * 1024 * 1024


async def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; 400 when it is not JSON or not an object, 413 past 10 MiB."""
    body = await request.body()
    if not body.strip():
        if required:
            raise BadRequest("The request body is empty; send a JSON object")
        return {}
    if len(body) > MAX_JSON_BYTES:
        raise BadRequest(f"The request body is larger than {MAX_JSON_BYTES // (1024 * 1024)} MiB")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"The request body is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadRequest(f"The request body must be a JSON object, not {type(data).__name__}")
    return data


class Fields:
    """Typed reads of a JSON object's fields; problems are collected and raised together as a 422."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.problems: list[Problem] = []

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.problems.append(Problem(name, f"{name} is required"))
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.append(Problem(name, f"{name} must be a non-empty string"))
            return None
        return value

    def mapping(self, name: str) -> dict[str, Any] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.problems.append(Problem(name, f"{name} must be an object"))
            return None
        return value

    def number(self, name: str, *, minimum: float) -> float | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
            self.problems.append(Problem(name, f"{name} must be a number of at least {minimum:g}"))
            return None
        return float(value)

    def url(self, name: str) -> str | None:
        value = self.text(name)
        problem = None if value is None else url_problem(value)
        if problem is not None:
            self.problems.append(Problem(name, f"{name} {problem}"))
            return None
        return value

    def check(self) -> None:
        if self.problems:
            raise InvalidRequest(f"The request has {len(self.problems)} problem(s)", self.problems)


async def check_egress(policy: EgressPolicy, name: str, url: str) -> None:
    """A 422 naming the field when the URL's host is, or resolves to, an address the egress guard refuses."""
    try:
        await policy.check_url(url)
    except EgressRefused as refused:
        raise InvalidRequest(f"{name} is refused by the egress guard", [Problem(name, str(refused))]) from None


def query_int(request: Request, name: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.lstrip("-").isdigit() or not minimum <= int(raw) <= maximum:
        raise InvalidRequest(
            f"Invalid query parameter {name}",
            [Problem(name, f"{name} must be a whole number from {minimum} to {maximum}")],
        )
    return int(raw)
