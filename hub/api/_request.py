"""Reading request bodies and query strings, with every problem named by its field.

The body's size is held to its route's limit before it gets here (``hub.body_limit``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request

from handlers.egress import EgressPolicy, EgressRefused, url_problem
from hub.errors import BadRequest, InvalidRequest, Problem, UnsupportedMediaType

MAX_JSON_DEPTH = 64
"""Arrays and objects nested deeper are refused with a 422: far beyond any real document, and well inside
the 255 levels orjson can write back out when the body is stored and announced."""

_PARSE_IN_THREAD_BYTES = 256 * 1024
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _is_json(content_type: str | None) -> bool:
    """Whether a Content-Type header names JSON (``application/json``, any parameters)."""
    return (content_type or "").split(";", 1)[0].strip().lower() == "application/json"


async def json_body(request: Request, *, what: str = "request body") -> Any:
    """The body as JSON, ``None`` when it is empty. 415 for another Content-Type, 400 when it is not JSON,
    422 when it nests deeper than ``MAX_JSON_DEPTH``."""
    body = await request.body()
    if not body.strip():
        return None
    if not _is_json(request.headers.get("content-type")):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json; got {request.headers.get('content-type', 'none')!r}"
        )
    return await parse_json(body, what)


async def parse_json(body: bytes, what: str) -> Any:
    """``body`` parsed, off the event loop when it is large; 400 when it is not JSON, 422 when too deep."""
    if len(body) > _PARSE_IN_THREAD_BYTES:
        return await asyncio.to_thread(_parsed, body, what)
    return _parsed(body, what)


def _parsed(body: bytes, what: str) -> Any:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"The {what} is not valid JSON: {error}") from None
    if nested_deeper_than(data, MAX_JSON_DEPTH):
        raise InvalidRequest(
            f"The {what} is nested too deeply",
            [Problem("body", f"arrays and objects may be nested at most {MAX_JSON_DEPTH} deep")],
        )
    return data


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in ``value`` nest more than ``limit`` deep (a flat object is depth 1)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


async def json_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """The body as a JSON object; as ``json_body``, and 400 when it is empty (if ``required``) or not an object."""
    data = await json_body(request)
    if data is None:
        if required:
            raise BadRequest("The request body is empty; send a JSON object")
        return {}
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
    """A whole-number query parameter: 400 when it is not one (ASCII digits only), 422 when out of range."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not _WHOLE_NUMBER.fullmatch(raw) or len(raw) > 20:
        raise BadRequest(f"Query parameter {name} must be a whole number written in digits 0-9; got {raw[:40]!r}")
    if not minimum <= int(raw) <= maximum:
        raise InvalidRequest(
            f"Invalid query parameter {name}",
            [Problem(name, f"{name} must be a whole number from {minimum} to {maximum}")],
        )
    return int(raw)
