"""The `hub` command as a person uses it from a terminal."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid

import orjson

from tests.support import ROOT, HubClient, linear


async def test_hub_watch_prints_every_event_as_a_json_line_until_the_end(client: HubClient) -> None:
    execution_id = await client.execute(linear(("start", "trigger", {}), ("out", "output", {})))
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub", "watch", execution_id, "--after", "0", "--url", client.stack.url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    events = [orjson.loads(line) for line in result.stdout.splitlines()]
    assert events == await client.events(execution_id)
    assert events[-1]["type"] == "execution.completed"


async def test_hub_watch_of_an_unknown_execution_says_so(client: HubClient) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub", "watch", str(uuid.uuid4()), "--url", client.stack.url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode != 0 and "No execution" in result.stderr
