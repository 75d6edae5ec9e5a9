"""The API document: valid OpenAPI 3.1, made from the routes themselves, so no route can go undescribed."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route, WebSocketRoute

from hub.api._request import Body, BodyField
from hub.api.openapi import document
from hub.app import create_app
from hub.push import parse_subscription
from hub.settings import Settings
from hub.workflow import parse_workflow

APP = create_app(Settings.from_env(environ={}, env_file=None))


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return document(APP.routes)


def test_the_document_is_valid_openapi_3_1(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_http_route_of_the_app_is_in_the_document(spec: dict[str, Any]) -> None:
    for route in APP.routes:
        if isinstance(route, Route):
            assert route.methods is not None
            for method in route.methods - {"HEAD"}:
                assert method.lower() in spec["paths"].get(route.path, {}), f"{method} {route.path}"


def test_every_websocket_route_of_the_app_is_in_the_document(spec: dict[str, Any]) -> None:
    sockets = [route.path for route in APP.routes if isinstance(route, WebSocketRoute)]
    assert sockets and all(path in spec["x-websockets"] for path in sockets)


def test_a_route_without_an_operation_makes_the_document_fail() -> None:
    async def undocumented(request: Any) -> None: ...

    with pytest.raises(TypeError, match="ApiRoute"):
        document([*APP.routes, Route("/api/new", undocumented)])


def test_each_operation_has_its_own_id(spec: dict[str, Any]) -> None:
    ids = [operation["operationId"] for methods in spec["paths"].values() for operation in methods.values()]
    assert len(ids) == len(set(ids))


def test_the_execute_body_is_described_from_the_fields_its_handler_reads(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/workflows/execute"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {
        "workflowId",
        "workflow",
        "inputs",
        "organizationId",
        "maxDurationSeconds",
        "callbackUrl",
    }
    assert body["properties"]["workflow"]["anyOf"][0] == {"$ref": "#/components/schemas/Workflow"}


def test_query_parameters_carry_the_bounds_their_handler_checks(spec: dict[str, Any]) -> None:
    parameters = spec["paths"]["/api/executions/{execution_id}/events"]["get"]["parameters"]
    limit = next(parameter for parameter in parameters if parameter["name"] == "limit")
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1000}


def test_a_body_field_read_without_a_declaration_is_a_programming_error() -> None:
    fields = Body((BodyField("name", "text", "A name"),)).read({"name": "x", "other": "y"})
    with pytest.raises(KeyError, match="not declared"):
        fields.text("other")


def test_a_body_field_read_as_another_kind_is_a_programming_error() -> None:
    fields = Body((BodyField("name", "text", "A name"),)).read({"name": "x"})
    with pytest.raises(TypeError, match="declared text"):
        fields.mapping("name")


def test_errors_are_described_with_their_problems(spec: dict[str, Any]) -> None:
    execute = spec["paths"]["/api/workflows/execute"]["post"]["responses"]
    assert execute["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Invalid"}
    assert execute["4XX"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    invalid = spec["components"]["schemas"]["Invalid"]
    assert invalid["required"] == ["error", "problems"]


def test_the_request_layers_refusals_of_a_json_body_are_documented(spec: dict[str, Any]) -> None:
    execute = spec["paths"]["/api/workflows/execute"]["post"]["responses"]
    assert {"400", "403", "413", "415", "422"} <= set(execute)
    assert "Origin" in execute["403"]["description"] and "HUB_MAX_BODY_MB" in execute["413"]["description"]


def test_a_malformed_query_number_is_documented_as_400(spec: dict[str, Any]) -> None:
    events = spec["paths"]["/api/executions/{execution_id}/events"]["get"]["responses"]
    assert "digits" in events["400"]["description"]


def test_reads_are_not_documented_with_the_origin_check_or_a_body_limit(spec: dict[str, Any]) -> None:
    execution = spec["paths"]["/api/executions/{execution_id}"]["get"]["responses"]
    assert not {"403", "413", "415"} & set(execution)


def test_a_webhook_takes_any_content_type_so_it_has_no_415(spec: dict[str, Any]) -> None:
    hook = spec["paths"]["/api/hooks/{workflow_id}"]["post"]["responses"]
    assert "415" not in hook and "413" in hook


def test_the_socket_messages_are_components(spec: dict[str, Any]) -> None:
    socket = spec["x-websockets"]["/ws/executions/{execution_id}"]
    assert socket["messages"] == {
        "snapshot": {"$ref": "#/components/schemas/Snapshot"},
        "event": {"$ref": "#/components/schemas/Event"},
    }
    assert {"1000", "4008", "4400", "4401", "4404"} <= set(socket["closeCodes"])
    assert "execution.completed" in spec["components"]["schemas"]["EventType"]["enum"]


def test_the_documented_example_bodies_are_accepted(spec: dict[str, Any]) -> None:
    execute = spec["paths"]["/api/workflows/execute"]["post"]["requestBody"]["content"]["application/json"]
    definition = spec["paths"]["/api/workflows/{workflow_id}"]["put"]["requestBody"]["content"]["application/json"]
    assert parse_workflow(execute["example"]["workflow"]).id == "hello"
    assert len(parse_workflow(definition["example"], workflow_id="hello").nodes) == 2
    subscription = spec["paths"]["/api/push/subscriptions"]["post"]["requestBody"]["content"]["application/json"]
    assert parse_subscription(subscription["example"]["subscription"])["endpoint"].startswith("https://")
