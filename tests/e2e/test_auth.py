"""HUB_API_TOKEN: with it set, the API and the live channel need the token; health and pages stay open."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.support import HubStack, hub_stack, linear

TOKEN = "hub-token-5d2e8c1a"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    with hub_stack(tmp_path_factory.mktemp("auth"), HUB_API_TOKEN=TOKEN) as stack:
        yield stack


def _execute(stack: HubStack, headers: dict[str, str]) -> httpx.Response:
    body = {"workflowId": "wf", "workflow": linear(("start", "trigger", {}))}
    return httpx.post(f"{stack.url}/api/workflows/execute", json=body, headers=headers, timeout=30)


def test_a_rest_call_without_the_token_is_401_and_says_what_to_send(guarded: HubStack) -> None:
    response = _execute(guarded, {})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]
    assert response.headers["www-authenticate"] == "Bearer"
    assert _execute(guarded, {"authorization": "Bearer wrong"}).status_code == 401


def test_a_rest_call_with_the_token_goes_through(guarded: HubStack) -> None:
    response = _execute(guarded, {"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 202


def test_health_and_the_pages_stay_open(guarded: HubStack) -> None:
    for path in ("/api/health", "/ui", "/static/hub-client.js"):
        assert httpx.get(f"{guarded.url}{path}", timeout=30).status_code == 200, path


async def test_a_socket_without_the_token_is_closed_with_4401(guarded: HubStack) -> None:
    execution_id = _execute(guarded, {"authorization": f"Bearer {TOKEN}"}).json()["executionId"]
    async with websockets.connect(f"{guarded.ws_url}/ws/executions/{execution_id}") as socket:
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
    assert socket.close_code == 4401


async def test_a_socket_with_the_token_in_its_query_gets_the_events(guarded: HubStack) -> None:
    execution_id = _execute(guarded, {"authorization": f"Bearer {TOKEN}"}).json()["executionId"]
    messages = []
    async with websockets.connect(f"{guarded.ws_url}/ws/executions/{execution_id}?after=0&token={TOKEN}") as socket:
        async for message in socket:
            messages.append(message)
    assert socket.close_code == 1000
    assert "execution.completed" in messages[-1]
