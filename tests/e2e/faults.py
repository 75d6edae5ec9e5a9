"""Faults the durability and scale-out tests both inject, and what a client must see through each: the same
checks on one hub and one database, and on several hubs sharing PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import orjson
import pytest
import websockets

from tests.fakes import TargetService
from tests.support import HubClient, gapless, lease_owner, linear


async def check_a_killed_workers_run_completes_on_another(
    client: HubClient,
    worker_running: Callable[[str], subprocess.Popen[bytes]],
    target: tuple[TargetService, str],
) -> None:
    """SIGKILLs the worker running a slow node; another worker finishes the run without rerunning done nodes."""
    service, url = target
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        ("first", "http", {"url": f"{url}/count/{key}-first"}),
        ("second", "http", {"url": f"{url}/slow/{key}-second?seconds=2"}),
        ("third", "http", {"url": f"{url}/count/{key}-third"}),
    )
    execution_id = await client.execute(workflow)
    await client.first_event(execution_id, "node.started", "second")
    victim = worker_running(lease_owner(await client.events(execution_id)))
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    body = await client.wait_for(execution_id)
    assert body["status"] == "completed", body
    assert service.calls[f"{key}-first"] == 1
    assert service.calls[f"{key}-second"] >= 2
    assert service.calls[f"{key}-third"] == 1
    events = await client.events(execution_id)
    recovered = [e for e in events if e["type"] == "execution.recovered"]
    assert recovered and recovered[0]["data"]["worker"] != recovered[0]["data"]["previousWorker"]
    assert gapless(events)


async def check_a_socket_dropped_by_a_hub_crash_resumes_with_after(
    watched: HubClient, resumed: HubClient, crash: Callable[[], None], url: str
) -> None:
    """Watches a run on ``watched``'s socket, runs ``crash`` (which kills that hub) mid-run, then goes on
    through ``resumed`` with ``after=`` the last seq received: every seq arrives once, up to the end."""
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        *((f"step{i}", "http", {"url": f"{url}/slow/{key}-{i}?seconds=0.5"}) for i in range(6)),
    )
    execution_id = await resumed.execute(workflow)
    received: list[dict[str, Any]] = []
    async with websockets.connect(f"{watched.stack.ws_url}/ws/executions/{execution_id}?after=0") as socket:
        while len(received) < 4:
            received.append(orjson.loads(await socket.recv()))
        await asyncio.to_thread(crash)
        with pytest.raises(websockets.ConnectionClosed):
            while True:
                received.append(orjson.loads(await socket.recv()))
    received += await resumed.watch(execution_id, after=received[-1]["seq"])
    assert received[-1]["type"] == "execution.completed"
    assert gapless(received)
