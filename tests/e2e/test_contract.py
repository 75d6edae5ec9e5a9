"""The API contract, fuzzed: schemathesis sends what /openapi.json allows (and what it does not) to a live
hub, and every answer must be a non-5xx that the document describes.

The fuzzed hub runs without a worker, so no generated workflow runs and no generated URL (callbackUrl,
a push endpoint) is ever called; URLs are pointed at a closed loopback port as well, so that nothing,
not even a name lookup, leaves this machine. Generation is derandomized with a fixed seed: a run is
repeatable and bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance
from schemathesis.specs.openapi.schemas import OpenApiSchema

from hub.api.openapi import document
from hub.app import create_app
from hub.push import VapidKeys
from hub.settings import Settings
from tests.support import HubClient, HubStack, hub_stack, linear

EXAMPLES_PER_OPERATION = 60
_SEED = 20240612
_URL = re.compile(r"^\s*(https?|wss?)://", re.IGNORECASE)
_NOWHERE = "http://127.0.0.1:9/"

DOCUMENT = document(create_app(Settings.from_env(environ={}, env_file=None)).routes)


def _negatable(operation: dict[str, Any]) -> bool:
    """Whether the document forbids anything here: a body with a schema, or a query with bounds."""
    query = [parameter for parameter in operation.get("parameters", []) if parameter["in"] == "query"]
    bodies = operation.get("requestBody", {}).get("content", {}).values()
    return any(body["schema"] for body in bodies) or any(
        parameter["schema"] != {"type": "string"} for parameter in query
    )


KNOWN = "known ids"
"""Positive generation with the path naming things that exist, so the answers past the 404 are fuzzed too."""

CASES = [
    pytest.param(path, method, mode, id=f"{method.upper()} {path} {mode}")
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE, KNOWN)
    if mode is GenerationMode.POSITIVE
    or (mode is GenerationMode.NEGATIVE and _negatable(operation))
    or (mode == KNOWN and "{" in path)
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    keys = VapidKeys.generate()
    env = {"HUB_VAPID_PUBLIC_KEY": keys.public_key, "HUB_VAPID_PRIVATE_KEY": keys.private_key}
    with hub_stack(tmp_path_factory.mktemp("fuzzed"), workers=0, **env) as stack:
        yield stack


@pytest.fixture(scope="module")
def api(fuzzed: HubStack) -> OpenApiSchema:
    served = httpx.get(f"{fuzzed.url}/openapi.json", timeout=30)
    assert served.status_code == 200
    validate(served.json())
    schema = schemathesis.openapi.from_dict(served.json())
    schema.config.update(base_url=fuzzed.url)
    return schema


@pytest.fixture(scope="module")
def known(fuzzed: HubStack) -> dict[str, str]:
    """Ids of a stored workflow, a pending execution (no worker runs it) and an uploaded file."""
    with httpx.Client(base_url=fuzzed.url, timeout=30) as http:
        workflow = {"nodes": [{"id": "start", "type": "trigger", "config": {}}]}
        assert http.put("/api/workflows/known", json=workflow).status_code == 200
        started = http.post("/api/workflows/execute", json={"workflowId": "known"})
        uploaded = http.post("/api/files", files={"file": ("known.csv", b"a,b\n1,2\n", "text/csv")})
    assert started.status_code == 202 and uploaded.status_code == 201
    return {
        "workflow_id": "known",
        "execution_id": started.json()["executionId"],
        "node_id": "start",
        "file_id": uploaded.json()["fileId"],
        "path": "hub-client.js",
    }


def _nowhere(value: Any) -> Any:
    """``value`` with every URL in it replaced by a closed loopback port."""
    if isinstance(value, str) and _URL.match(value):
        return _NOWHERE
    if isinstance(value, dict):
        return {key: _nowhere(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nowhere(item) for item in value]
    return value


@pytest.mark.parametrize(("path", "method", "mode"), CASES)
def test_no_request_gets_a_server_error_or_an_undocumented_answer(
    api: OpenApiSchema, known: dict[str, str], path: str, method: str, mode: GenerationMode | str
) -> None:
    operation = api[path][method.upper()]
    if mode == KNOWN:
        names = re.findall(r"{(\w+)}", path)
        strategy = operation.as_strategy(path_parameters={name: known[name] for name in names})
    else:
        strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

    @seed(_SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Case) -> None:
        case.body = _nowhere(case.body)
        if case.query:
            case.query = _nowhere(case.query)
        response = case.call(timeout=30)
        # The health check's 503 (no worker here) is its documented answer, not a server error.
        documented = str(response.status_code) in operation.responses.status_codes
        checks = [content_type_conformance, response_schema_conformance]
        if not documented:
            checks.append(not_a_server_error)
        case.validate_response(response, checks=checks)

    fuzz()


def _conforms(name: str, instance: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    problems = [
        f"{list(error.absolute_path)}: {error.message}" for error in Draft202012Validator(schema).iter_errors(instance)
    ]
    assert not problems, f"{name}: {problems}"


async def test_a_completed_execution_is_answered_as_documented(client: HubClient) -> None:
    execution_id = await client.execute(linear(("a", "trigger", {}), ("b", "output", {})), {"a": {"x": 1}})
    await client.wait_for(execution_id)
    _conforms("ExecutionDetail", await client.execution(execution_id))
    events = await client.http.get(f"/api/executions/{execution_id}/events")
    _conforms("EventPage", events.json())
    listed = await client.http.get("/api/executions", params={"limit": 5})
    _conforms("ExecutionList", listed.json())


async def test_a_failed_execution_is_answered_as_documented(client: HubClient) -> None:
    closed_port = {"url": "http://127.0.0.1:9/", "method": "GET"}
    execution_id = await client.execute(linear(("a", "trigger", {}), ("b", "http", closed_port)))
    assert (await client.wait_for(execution_id))["status"] == "failed"
    _conforms("ExecutionDetail", await client.execution(execution_id))
    _conforms("EventPage", (await client.http.get(f"/api/executions/{execution_id}/events")).json())


async def test_the_socket_sends_the_documented_messages(client: HubClient) -> None:
    execution_id = await client.execute(linear(("a", "trigger", {}), ("b", "output", {})))
    snapshot, *events = await client.watch(execution_id)
    _conforms("Snapshot", snapshot)
    for event in events:
        _conforms("Event", event)
