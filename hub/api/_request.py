"""Reading request bodies and query strings, with every problem named by its field."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from starlette.requests import Request

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
        if value is not None and not value.startswith(("http://", "https://")):
            self.problems.append(Problem(name, f"{name} must be an http:// or https:// URL"))
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
