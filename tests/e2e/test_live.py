"""The live channel: every seq exactly once and in order, however and whenever a client connects."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import websockets

from tests.fakes import TargetService
from tests.support import HubClient, linear, seqs


def _slow_workflow(url: str, steps: int = 4, seconds: float = 0.4) -> dict[str, Any]:
    key = uuid.uuid4().hex
    return linear(
        ("start", "trigger", {}),
        *((f"step{i}", "http", {"url": f"{url}/slow/{key}-{i}?seconds={seconds}"}) for i in range(steps)),
        ("out", "output", {}),
    )


async def _wait_for_events(client: HubClient, execution_id: str, count: int) -> None:
    while len(await client.events(execution_id)) < count:
        await asyncio.sleep(0.05)


async def test_socket_without_after_gets_a_snapshot_then_every_later_seq_once(
    client: HubClient, target: tuple[TargetService, str]
) -> None:
    execution_id = await client.execute(_slow_workflow(target[1]))
    await _wait_for_events(client, execution_id, 3)
    messages = await client.watch(execution_id)
    snapshot, events = messages[0], messages[1:]
    assert snapshot["type"] == "snapshot"
    assert snapshot["execution"]["executionId"] == execution_id
    last_seq = snapshot["execution"]["lastSeq"]
    assert last_seq >= 3
    final = await client.events(execution_id)
    assert seqs(events) == list(range(last_seq + 1, final[-1]["seq"] + 1))
    assert events[-1]["type"] == "execution.completed"


async def test_socket_with_after_gets_every_seq_after_it_stored_then_live(
    client: HubClient, target: tuple[TargetService, str]
) -> None:
    execution_id = await client.execute(_slow_workflow(target[1]))
    await _wait_for_events(client, execution_id, 4)
    events = await client.watch(execution_id, after=1)
    assert seqs(events) == list(range(2, events[-1]["seq"] + 1))
    assert events[-1]["type"] == "execution.completed"
    assert events == (await client.events(execution_id))[1:]


async def test_many_sockets_connecting_at_different_moments_each_see_a_gapless_sequence(
    client: HubClient, target: tuple[TargetService, str]
) -> None:
    execution_id = await client.execute(_slow_workflow(target[1], steps=6, seconds=0.2))
    watchers = []
    for after in (0, None, 2, 5, None, 0):
        watchers.append(asyncio.create_task(client.watch(execution_id, after=after)))
        await asyncio.sleep(0.15)
    results = await asyncio.gather(*watchers)
    stored = await client.events(execution_id)
    for messages in results:
        events = [m for m in messages if m.get("type") != "snapshot"]
        start = messages[0]["execution"]["lastSeq"] if messages[0].get("type") == "snapshot" else events[0]["seq"] - 1
        assert seqs(events) == list(range(start + 1, stored[-1]["seq"] + 1))


async def test_events_endpoint_gives_the_same_sequence_as_the_socket(
    client: HubClient, target: tuple[TargetService, str]
) -> None:
    execution_id = await client.execute(_slow_workflow(target[1], steps=2, seconds=0.1))
    socket_events = await client.watch(execution_id, after=0)
    assert socket_events == await client.events(execution_id)
    page = await client.events(execution_id, after=3)
    assert page == socket_events[3:]


async def test_socket_to_a_finished_execution_gets_its_snapshot_and_closes(client: HubClient) -> None:
    execution_id = await client.execute(linear(("start", "trigger", {})))
    await client.wait_for(execution_id)
    messages = await client.watch(execution_id)
    assert len(messages) == 1 and messages[0]["execution"]["status"] == "completed"


async def test_socket_closes_with_1000_after_the_terminal_event(client: HubClient) -> None:
    execution_id = await client.execute(linear(("start", "trigger", {})))
    async with websockets.connect(f"{client.stack.ws_url}/ws/executions/{execution_id}?after=0") as socket:
        async for _ in socket:
            pass
    assert socket.close_code == 1000


async def test_unknown_execution_closes_the_socket_with_4404(client: HubClient) -> None:
    async with websockets.connect(f"{client.stack.ws_url}/ws/executions/{uuid.uuid4()}") as socket:
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
    assert socket.close_code == 4404


async def test_after_that_is_not_a_number_closes_the_socket_with_4400(client: HubClient) -> None:
    execution_id = await client.execute(linear(("start", "trigger", {})))
    async with websockets.connect(f"{client.stack.ws_url}/ws/executions/{execution_id}?after=x") as socket:
        with pytest.raises(websockets.ConnectionClosed):
            await socket.recv()
    assert socket.close_code == 4400


async def test_a_client_that_leaves_an_unfinished_execution_frees_its_socket(client: HubClient) -> None:
    execution_id = await client.execute(linear(("start", "trigger", {}), ("pause", "wait", {"seconds": 600})))
    async with asyncio.timeout(60):
        while (await client.execution(execution_id))["status"] != "waiting":
            await asyncio.sleep(0.05)

    async def live_sockets() -> int:
        return int((await client.http.get("/api/health")).json()["liveSockets"])

    before = await live_sockets()
    async with websockets.connect(f"{client.stack.ws_url}/ws/executions/{execution_id}") as socket:
        await socket.recv()
        assert await live_sockets() == before + 1
    async with asyncio.timeout(20):
        while await live_sockets() != before:
            await asyncio.sleep(0.05)
    await client.http.post(f"/api/executions/{execution_id}/cancel")
