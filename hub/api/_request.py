"""Reading request bodies and query strings, with every problem named by its field.

The body's size is held to its route's limit before it gets here (``hub.body_limit``).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

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


FieldKind = Literal["text", "object", "number", "url"]


@dataclass(frozen=True, slots=True)
class BodyField:
    """One field of a JSON body: how ``Fields`` reads it, and how the API document shows it."""

    name: str
    kind: FieldKind
    description: str
    required: bool = False
    minimum: float | None = None
    shape: type | None = None
    """For an object field, the typed dict (``hub.api.schemas``) the document shows it as."""


@dataclass(frozen=True)
class Body:
    """A JSON object body: the one declaration its handler reads with and the API document is made from."""

    fields: tuple[BodyField, ...]
    description: str = ""
    extends: type | None = None
    """A typed dict the body is, besides its fields (``PUT /api/workflows/{id}`` takes a workflow)."""
    example: Mapping[str, Any] | None = None

    def read(self, data: Mapping[str, Any]) -> Fields:
        return Fields(data, self)

    def field(self, name: str, kind: FieldKind) -> BodyField:
        for declared in self.fields:
            if declared.name == name:
                if declared.kind != kind:
                    raise TypeError(f"body field {name!r} is declared {declared.kind}, read as {kind}")
                return declared
        raise KeyError(f"body field {name!r} is read but not declared, so the API document would miss it")


class Fields:
    """Typed reads of a JSON object's declared fields; problems are collected and raised together as a 422."""

    def __init__(self, data: Mapping[str, Any], body: Body) -> None:
        self.data = data
        self.body = body
        self.problems: list[Problem] = []

    def text(self, name: str) -> str | None:
        return self._text(self.body.field(name, "text"))

    def _text(self, spec: BodyField) -> str | None:
        name = spec.name
        value = self.data.get(name)
        if value is None:
            if spec.required:
                self.problems.append(Problem(name, f"{name} is required"))
            return None
        if not isinstance(value, str) or not value.strip():
            self.problems.append(Problem(name, f"{name} must be a non-empty string"))
            return None
        return value

    def mapping(self, name: str) -> dict[str, Any] | None:
        spec = self.body.field(name, "object")
        value = self.data.get(name)
        if value is None:
            if spec.required:
                self.problems.append(Problem(name, f"{name} is required"))
            return None
        if not isinstance(value, dict):
            self.problems.append(Problem(name, f"{name} must be an object"))
            return None
        return value

    def number(self, name: str) -> float | None:
        minimum = self.body.field(name, "number").minimum or 0
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or value < minimum:
            self.problems.append(Problem(name, f"{name} must be a number of at least {minimum:g}"))
            return None
        return float(value)

    def url(self, name: str) -> str | None:
        value = self._text(self.body.field(name, "url"))
        problem = None if value is None else url_problem(value)
        if problem is not None:
            self.problems.append(Problem(name, f"{name} {problem}"))
            return None
        return value

    def check(self) -> None:
        if self.problems:
            raise InvalidRequest(f"The request has {len(self.problems)} problem(s)", self.problems)


@dataclass(frozen=True, slots=True)
class QueryInt:
    """A whole-number query parameter, as its handler reads it and the API document shows it."""

    name: str
    description: str
    default: int
    minimum: int
    maximum: int

    def read(self, request: Request) -> int:
        return query_int(request, self.name, default=self.default, minimum=self.minimum, maximum=self.maximum)


@dataclass(frozen=True, slots=True)
class QueryText:
    """A text query parameter (empty means absent), optionally one of ``choices``."""

    name: str
    description: str
    choices: tuple[str, ...] = ()

    def read(self, request: Request) -> str | None:
        value = request.query_params.get(self.name) or None
        if value is not None and self.choices and value not in self.choices:
            raise InvalidRequest(
                f"Invalid query parameter {self.name}",
                [Problem(self.name, f"{self.name} must be one of {', '.join(self.choices)}")],
            )
        return value


QueryParameter = QueryInt | QueryText


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
