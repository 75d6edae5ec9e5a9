"""``GET /openapi.json``: the OpenAPI 3.1 document, made from the app's own routes.

Every REST route is an ``ApiRoute`` that carries its ``Operation``: the same ``Body`` and query
declarations its handler reads with, and the typed dicts of ``hub.api.schemas`` its answers are built
with. The document is made from those, so it cannot drift from the code; a route that is not described
makes the document fail to build. The live channel, which OpenAPI has no words for, is described under
``x-websockets``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib.metadata import version
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from hub import live
from hub.api._request import Body, BodyField, QueryInt, QueryParameter
from hub.api.schemas import Error, Event, Invalid, Snapshot
from hub.auth import CLOSE_UNAUTHORIZED

_REF = "#/components/schemas/{model}"


@dataclass(frozen=True, slots=True)
class Content:
    """A body that is not one of the typed dicts: a page, a script, a file, or free-form JSON."""

    media_types: Mapping[str, Mapping[str, Any]]
    description: str = ""


Answer = type | Content
"""What a status code answers with: a typed dict of ``hub.api.schemas`` (JSON), or ``Content``."""


@dataclass(frozen=True, slots=True)
class HeaderParameter:
    """A request header an operation reads (printable ASCII), as the API document shows it."""

    name: str
    description: str
    max_length: int


@dataclass(frozen=True)
class Operation:
    """What one method on one path takes and answers. Any 4xx not listed answers with ``Error``."""

    summary: str
    responses: Mapping[int, Answer]
    body: Body | Content | None = None
    query: tuple[QueryParameter, ...] = ()
    headers: tuple[HeaderParameter, ...] = ()
    description: str = ""
    tags: tuple[str, ...] = field(default=())


class ApiRoute(Route):
    """A REST route with its ``Operation``; one method per route, so each operation is one handler."""

    def __init__(
        self, path: str, endpoint: Callable[..., Any], *, method: str, operation: Operation, **kwargs: Any
    ) -> None:
        super().__init__(path, endpoint, methods=[method], **kwargs)
        self.method = method.lower()
        self.operation = operation


def html_page(description: str) -> Content:
    return Content({"text/html": {"schema": {"type": "string"}}}, description)


ANY_JSON = Content({"application/json": {"schema": {}}}, "Any JSON value")


def document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes``; raises ``TypeError`` for a route it cannot describe."""
    shapes: dict[str, type] = {shape.__name__: shape for shape in (Error, Invalid, Event, Snapshot)}
    paths: dict[str, dict[str, Any]] = {}
    websockets: dict[str, Any] = {}
    for route in routes:
        if isinstance(route, ApiRoute):
            paths.setdefault(route.path, {})[route.method] = _operation(route, shapes)
        elif isinstance(route, WebSocketRoute) and route.endpoint is live.execution_socket:
            websockets[route.path] = _execution_socket(route)
        elif isinstance(route, Mount) and isinstance(route.app, StaticFiles):
            paths[f"{route.path}/{{path}}"] = {"get": _STATIC_FILES}
        else:
            raise TypeError(f"the API document cannot describe {route!r}; make it an ApiRoute with an Operation")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Workflow hub",
            "version": version("workflow-hub"),
            "description": (
                "REST to start workflows, WebSocket to watch them. Every 4xx is an `Error`; a 422 lists each "
                "problem with its path. A Host header the hub does not answer to (HUB_ALLOWED_HOSTS) gets a 400 "
                "on every path. Nothing a client sends produces a 5xx."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": _schemas(shapes.values()),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Needed only when HUB_API_TOKEN is set"}
            },
        },
        "security": [{}, {"bearer": []}],
        "x-websockets": websockets,
    }


def _ref(shape: type, shapes: dict[str, type]) -> dict[str, str]:
    known = shapes.setdefault(shape.__name__, shape)
    if known is not shape:
        raise TypeError(f"two schemas are named {shape.__name__}")
    return {"$ref": _REF.format(model=shape.__name__)}


def _schemas(shapes: Iterable[type]) -> dict[str, Any]:
    adapters: list[tuple[str, JsonSchemaMode, TypeAdapter[Any]]] = [
        (shape.__name__, "serialization", TypeAdapter(shape)) for shape in shapes
    ]
    _, definitions = TypeAdapter.json_schemas(adapters, ref_template=_REF)
    found: dict[str, Any] = definitions.get("$defs", {})
    return found


def _content(answer: Answer, shapes: dict[str, type]) -> tuple[dict[str, Any], str]:
    if isinstance(answer, Content):
        return {media: dict(value) for media, value in answer.media_types.items()}, answer.description
    return {"application/json": {"schema": _ref(answer, shapes)}}, ""


def _operation(route: ApiRoute, shapes: dict[str, type]) -> dict[str, Any]:
    spec = route.operation
    operation: dict[str, Any] = {
        "operationId": _camel(route.name),
        "summary": spec.summary,
        "responses": {},
    }
    if spec.description:
        operation["description"] = spec.description
    if spec.tags:
        operation["tags"] = list(spec.tags)
    parameters = [_path_parameter(name) for name in route.param_convertors]
    parameters += [_query_parameter(parameter) for parameter in spec.query]
    parameters += [_header_parameter(header) for header in spec.headers]
    if parameters:
        operation["parameters"] = parameters
    if isinstance(spec.body, Body):
        operation["requestBody"] = {
            "required": True,
            "description": spec.body.description,
            "content": {"application/json": {"schema": _body_schema(spec.body, shapes)}},
        }
        if spec.body.example is not None:
            operation["requestBody"]["content"]["application/json"]["example"] = spec.body.example
    elif isinstance(spec.body, Content):
        content, description = _content(spec.body, shapes)
        operation["requestBody"] = {"required": False, "description": description, "content": content}
    responses: dict[int | str, Answer] = {status: answer for status, answer in spec.responses.items()}
    refusals = _refusals(route.method, spec)
    for refused in refusals:
        responses.setdefault(refused, Error)
    if _JSON in _media_types(spec.body) or spec.query:
        responses.setdefault(422, Invalid)
    responses.setdefault("4XX", Error)
    for status, answer in responses.items():
        content, description = _content(answer, shapes)
        phrase = HTTPStatus(status).phrase if isinstance(status, int) else "Client error"
        if isinstance(status, int) and status in refusals and status not in spec.responses:
            description = f"{phrase}: {refusals[status]}"
        operation["responses"][str(status)] = {"description": description or phrase, "content": content}
    return operation


_JSON = "application/json"
_SAFE_METHODS = frozenset({"get", "head", "options"})


def _media_types(body: Body | Content | None) -> frozenset[str]:
    if isinstance(body, Body):
        return frozenset({_JSON})
    return frozenset(body.media_types) if body is not None else frozenset()


def _refusals(method: str, spec: Operation) -> dict[int, str]:
    """The answers the request layer (``hub.origins``, ``hub.body_limit``, ``hub.api._request``) gives this
    operation, each an ``Error``, with why."""
    media_types = _media_types(spec.body)
    refusals: dict[int, str] = {}
    malformed = []
    if _JSON in media_types:
        malformed.append("the body is not JSON" + (", or not an object" if isinstance(spec.body, Body) else ""))
    if any(isinstance(parameter, QueryInt) for parameter in spec.query):
        malformed.append("a number in the query is not written in digits 0-9")
    if malformed:
        refusals[400] = "; ".join(malformed)
    if method not in _SAFE_METHODS:
        refusals[403] = "the request's Origin is another site's (HUB_ALLOWED_ORIGINS lets more in)"
    if media_types:
        refusals[413] = "the body is larger than HUB_MAX_BODY_MB (HUB_MAX_UPLOAD_MB for an upload)"
    if media_types == {_JSON}:
        refusals[415] = "a body sent with a Content-Type other than application/json"
    return refusals


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _path_parameter(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query_parameter(parameter: QueryParameter) -> dict[str, Any]:
    schema: dict[str, Any]
    if isinstance(parameter, QueryInt):
        schema = {
            "type": "integer",
            "minimum": parameter.minimum,
            "maximum": parameter.maximum,
            "default": parameter.default,
        }
    elif parameter.choices:
        schema = {"type": "string", "enum": list(parameter.choices)}
    else:
        schema = {"type": "string"}
    return {
        "name": parameter.name,
        "in": "query",
        "required": False,
        "description": parameter.description,
        "schema": schema,
    }


def _header_parameter(header: HeaderParameter) -> dict[str, Any]:
    return {
        "name": header.name,
        "in": "header",
        "required": False,
        "description": header.description,
        "schema": {"type": "string", "minLength": 1, "maxLength": header.max_length, "pattern": "^[\\x21-\\x7e]+$"},
    }


_KIND_SCHEMAS: dict[str, dict[str, Any]] = {
    "text": {"type": "string", "minLength": 1, "pattern": r"\S"},
    "object": {"type": "object"},
    "number": {"type": "number"},
    "url": {"type": "string", "format": "uri", "pattern": "^https?://"},
}


def _field_schema(spec: BodyField, shapes: dict[str, type]) -> dict[str, Any]:
    schema: dict[str, Any] = _ref(spec.shape, shapes) if spec.shape is not None else dict(_KIND_SCHEMAS[spec.kind])
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if not spec.required:
        schema = {"anyOf": [schema, {"type": "null"}]}
    schema["description"] = spec.description
    return schema


def _body_schema(body: Body, shapes: dict[str, type]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {spec.name: _field_schema(spec, shapes) for spec in body.fields},
    }
    required = [spec.name for spec in body.fields if spec.required]
    if required:
        schema["required"] = required
    if body.extends is not None:
        schema = {"allOf": [_ref(body.extends, shapes), schema]}
    return schema


_STATIC_FILES: dict[str, Any] = {
    "operationId": "staticFile",
    "summary": "hub-client.js, its types, and the viewer's scripts and styles",
    "parameters": [_path_parameter("path")],
    "responses": {
        "200": {"description": "The file", "content": {"*/*": {"schema": {"type": "string"}}}},
        "4XX": {
            "description": "No such file",
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
        },
    },
}


_CLOSE_CODES = {
    live.CLOSE_DONE: "after the terminal event",
    live.CLOSE_TOO_SLOW: "the client reads too slowly; reconnect with after=<last seq>",
    live.CLOSE_BAD_REQUEST: "after is not a whole number in range",
    CLOSE_UNAUTHORIZED: "missing or wrong token, when HUB_API_TOKEN is set",
    live.CLOSE_NOT_FOUND: "no execution with that id",
}


def _execution_socket(route: WebSocketRoute) -> dict[str, Any]:
    return {
        "summary": "An execution's events, live, each seq once and in order",
        "description": (
            "Without after, the first message is a Snapshot and the events after its lastSeq follow. With "
            "after=N, every event with seq greater than N: stored ones first, then live ones."
        ),
        "parameters": [_path_parameter(name) for name in route.param_convertors]
        + [
            {"name": "after", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
            {
                "name": "token",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "HUB_API_TOKEN, since browsers cannot set headers on a socket",
            },
        ],
        "messages": {
            "snapshot": {"$ref": _REF.format(model="Snapshot")},
            "event": {"$ref": _REF.format(model="Event")},
        },
        "closeCodes": {str(code): reason for code, reason in _CLOSE_CODES.items()},
    }


async def openapi_json(request: Request) -> Response:
    """The document, made once per app (off the event loop: schema generation is CPU work)."""
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = await asyncio.to_thread(document, request.app.routes)
    return JSONResponse(state.openapi)


routes = [
    ApiRoute(
        "/openapi.json",
        openapi_json,
        method="GET",
        operation=Operation(
            summary="This document",
            responses={200: Content({"application/json": {"schema": {"type": "object"}}}, "OpenAPI 3.1")},
        ),
    )
]
