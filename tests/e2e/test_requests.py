"""The request layer against hostile input: body limits while streaming, Content-Type, Origin, Host, JSON depth,
malformed numbers, socket cursors and workflow size, each a clear 4xx and never a 500."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import websockets

from hub.api._request import MAX_JSON_DEPTH
from tests.support import HubStack, hub_stack, linear

ALLOWED_ORIGIN = "https://app.example"
BODY_LIMIT = 10 * 1024 * 1024
"""The default HUB_MAX_BODY_MB, in bytes."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    """A hub with default limits; nothing here needs an execution to run, so there is no worker."""
    with hub_stack(tmp_path_factory.mktemp("requests"), workers=0, HUB_ALLOWED_ORIGINS=ALLOWED_ORIGIN) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="session")
async def http(stack: HubStack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.url, timeout=60) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def hook_id(http: httpx.AsyncClient) -> str:
    workflow_id = f"hook-{uuid.uuid4().hex[:8]}"
    response = await http.put(f"/api/workflows/{workflow_id}", json=linear(("hook", "webhook", {})))
    assert response.status_code == 200, response.text
    return workflow_id


@pytest_asyncio.fixture(loop_scope="session")
async def execution_id(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/workflows/execute", json={"workflow": linear(("a", "trigger", {}))})
    assert response.status_code == 202, response.text
    found: str = response.json()["executionId"]
    return found


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one response (the hub's error answers all carry a Content-Length)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    lines = head.split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
    return int(lines[0].split(" ", 2)[1]), await reader.readexactly(int(headers["content-length"]))


async def _raw_request(stack: HubStack, head: str, body_chunks: Iterable[bytes] = ()) -> tuple[int, bytes]:
    """Sends a request head and then only ``body_chunks``, never the rest the head promises, and reads the
    answer. A server that waited for the whole body would never answer, and the timeout would fail the test."""
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n")
        for chunk in body_chunks:
            writer.write(chunk)
            await writer.drain()
        async with asyncio.timeout(60):
            return await _answer(reader)
    finally:
        writer.close()


def _chunked(total: int, size: int = 1024 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a JSON string's inside, in HTTP/1.1 chunks, without the closing zero chunk."""
    sent = 0
    while sent < total:
        part = min(size, total - sent)
        yield f"{part:x}\r\n".encode() + b"a" * part + b"\r\n"
        sent += part


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


async def test_a_60_mb_hook_body_is_413_from_its_content_length_before_any_of_it_is_read(
    stack: HubStack, hook_id: str
) -> None:
    status, body = await _raw_request(
        stack,
        f"POST /api/hooks/{hook_id} HTTP/1.1\nHost: 127.0.0.1:{stack.port}\n"
        f"Content-Type: application/json\nContent-Length: {60 * 1024 * 1024}\n",
    )
    assert status == 413 and b"HUB_MAX_BODY_MB" in body


async def test_a_streamed_hook_body_is_cut_off_at_the_limit_without_waiting_for_the_rest(
    stack: HubStack, hook_id: str
) -> None:
    """A chunked body has no length to check: one byte past the limit answers 413, though 60 MB were meant."""
    status, body = await _raw_request(
        stack,
        f"POST /api/hooks/{hook_id} HTTP/1.1\nHost: 127.0.0.1:{stack.port}\n"
        "Content-Type: text/plain\nTransfer-Encoding: chunked\n",
        _chunked(BODY_LIMIT + 1),
    )
    assert status == 413 and b"HUB_MAX_BODY_MB" in body


async def test_a_client_that_sends_its_whole_oversized_body_before_reading_still_gets_the_413(
    http: httpx.AsyncClient, hook_id: str
) -> None:
    response = await http.post(
        f"/api/hooks/{hook_id}", content=b"a" * (BODY_LIMIT + 1), headers={"content-type": "text/plain"}
    )
    assert response.status_code == 413 and "HUB_MAX_BODY_MB" in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/workflows/execute"),
        ("PUT", "/api/workflows/big"),
        ("POST", "/api/executions/some-id/resume/some-node"),
        ("POST", "/api/push/subscriptions"),
    ],
)
async def test_every_route_refuses_a_body_over_the_limit(stack: HubStack, method: str, path: str) -> None:
    status, body = await _raw_request(
        stack,
        f"{method} {path} HTTP/1.1\nHost: 127.0.0.1:{stack.port}\n"
        f"Content-Type: application/json\nContent-Length: {BODY_LIMIT + 1}\n",
    )
    assert status == 413 and b"HUB_MAX_BODY_MB" in body


async def test_uploads_keep_their_own_larger_limit(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/files", files={"file": ("big.txt", b"x" * (BODY_LIMIT + 1024))})
    assert response.status_code == 201, response.text


async def test_a_json_route_refuses_another_content_type_with_415_naming_it(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/workflows/execute",
        content=b'{"workflow": {"id": "w", "nodes": [{"id": "a", "type": "trigger"}]}}',
        headers={"content-type": "text/plain"},
    )
    assert response.status_code == 415
    assert "Content-Type" in response.json()["error"]


async def test_a_form_post_cannot_start_a_workflow(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/workflows/execute", data={"workflowId": "w"})
    assert response.status_code == 415


async def test_resume_refuses_a_body_that_is_not_json_with_415(http: httpx.AsyncClient, execution_id: str) -> None:
    response = await http.post(
        f"/api/executions/{execution_id}/resume/a", content=b"go", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415


async def test_a_state_changing_request_from_another_origin_is_403(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/workflows/execute",
        json={"workflow": linear(("a", "trigger", {}))},
        headers={"origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert "HUB_ALLOWED_ORIGINS" in response.json()["error"]


async def test_an_origin_listed_in_hub_allowed_origins_may_start_a_workflow(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/workflows/execute", json={"workflow": linear(("a", "trigger", {}))}, headers={"origin": ALLOWED_ORIGIN}
    )
    assert response.status_code == 202, response.text


async def test_the_hubs_own_pages_may_start_a_workflow(http: httpx.AsyncClient, stack: HubStack) -> None:
    response = await http.post(
        "/api/workflows/execute", json={"workflow": linear(("a", "trigger", {}))}, headers={"origin": stack.url}
    )
    assert response.status_code == 202, response.text


async def test_a_request_without_origin_passes(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/workflows/execute", json={"workflow": linear(("a", "trigger", {}))})
    assert response.status_code == 202, response.text


async def test_reading_from_another_origin_is_not_refused(http: httpx.AsyncClient, execution_id: str) -> None:
    response = await http.get(f"/api/executions/{execution_id}", headers={"origin": "https://evil.example"})
    assert response.status_code == 200


async def test_a_host_the_hub_does_not_serve_is_refused(http: httpx.AsyncClient) -> None:
    """A rebound DNS name that points at the hub: same-origin with itself, so only the Host check stops it."""
    response = await http.get("/api/health", headers={"host": "attacker.example"})
    assert response.status_code == 400


async def test_a_refused_host_is_answered_as_a_json_error_naming_the_setting(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/workflows/execute", json={}, headers={"host": "attacker.example"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert "attacker.example" in response.json()["error"] and "HUB_ALLOWED_HOSTS" in response.json()["error"]


async def test_localhost_is_a_host_the_hub_serves(http: httpx.AsyncClient, stack: HubStack) -> None:
    response = await http.get("/api/examples", headers={"host": f"localhost:{stack.port}"})
    assert response.status_code == 200


async def test_json_nested_300_deep_is_422(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/workflows/execute", json={"workflow": linear(("a", "trigger", {})), "inputs": {"a": _nested(300)}}
    )
    assert response.status_code == 422
    assert f"at most {MAX_JSON_DEPTH} deep" in response.json()["problems"][0]["message"]


async def test_a_hook_body_nested_300_deep_is_422(http: httpx.AsyncClient, hook_id: str) -> None:
    response = await http.post(f"/api/hooks/{hook_id}", json=_nested(300))
    assert response.status_code == 422


async def test_json_nested_to_the_documented_depth_is_accepted(http: httpx.AsyncClient) -> None:
    deepest = {"workflow": linear(("a", "trigger", {})), "inputs": {"a": _nested(MAX_JSON_DEPTH - 2)}}
    response = await http.post("/api/workflows/execute", json=deepest)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("value", ["²", "١٢", "1e3", " 5", "99999999999999999999999"])
async def test_a_malformed_query_number_is_400_naming_it(
    http: httpx.AsyncClient, execution_id: str, value: str
) -> None:
    for path, name in (("/api/executions", "limit"), (f"/api/executions/{execution_id}/events", "after")):
        response = await http.get(path, params={name: value})
        assert response.status_code == 400, (path, value)
        assert name in response.json()["error"]


async def _socket_close_code(stack: HubStack, execution_id: str, after: str) -> int:
    async with websockets.connect(f"{stack.ws_url}/ws/executions/{execution_id}?after={after}") as socket:
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
    assert socket.close_code is not None
    return socket.close_code


@pytest.mark.parametrize("after", [str(2**63), str(10**30), "-1", "%C2%B2"])
async def test_a_socket_after_out_of_range_or_malformed_closes_with_4400(
    stack: HubStack, execution_id: str, after: str
) -> None:
    assert await _socket_close_code(stack, execution_id, after) == 4400


def _nodes(count: int) -> list[dict[str, Any]]:
    return [{"id": f"n{index}", "type": "comment", "config": {}} for index in range(count)]


async def test_a_workflow_over_hub_max_nodes_is_422(http: httpx.AsyncClient) -> None:
    response = await http.put("/api/workflows/huge", json={"nodes": _nodes(1001)})
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["path"] == "nodes" and "HUB_MAX_NODES" in problem["message"]


async def test_a_workflow_of_exactly_hub_max_nodes_is_accepted(http: httpx.AsyncClient) -> None:
    response = await http.put("/api/workflows/largest", json={"nodes": _nodes(1000)})
    assert response.status_code == 200, response.text


async def test_an_inline_workflow_over_hub_max_connections_is_422(http: httpx.AsyncClient) -> None:
    connections = [{"fromNodeId": "n0", "toNodeId": "n1"}] * 5001
    response = await http.post(
        "/api/workflows/execute", json={"workflow": {"id": "w", "nodes": _nodes(2), "connections": connections}}
    )
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["path"] == "connections" and "HUB_MAX_CONNECTIONS" in problem["message"]
