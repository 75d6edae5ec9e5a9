"""With PREFECT_API_URL set, Prefect records each execution as a flow run and each node as a task run."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobs.prefect_server import PrivatePrefectServer
from tests.fakes import TargetService
from tests.support import HubClient, HubStack, hub_stack, linear


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePrefectServer]:
    """A Prefect API server of the test's own, playing the one a deployment points PREFECT_API_URL at."""
    server = PrivatePrefectServer(tmp_path_factory.mktemp("prefect-server")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def prefect_stack(prefect_server: PrivatePrefectServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStack]:
    with hub_stack(tmp_path_factory.mktemp("stack"), engine="prefect", PREFECT_API_URL=prefect_server.api_url) as stack:
        yield stack


def _flow_run(api: str, execution_id: str) -> dict[str, Any]:
    runs = httpx.post(f"{api}/flow_runs/filter", json={"flow_runs": {"name": {"any_": [execution_id]}}}).json()
    assert len(runs) == 1, runs
    return runs[0]  # type: ignore[no-any-return]


def _task_runs(api: str, flow_run_id: str, expected: int) -> list[dict[str, Any]]:
    """The flow run's task runs, once ``expected`` of them have finished: Prefect's server records task runs
    from events it ingests in the background, so the last ones may land after the flow run ended."""
    deadline = time.monotonic() + 60
    while True:
        tasks: list[dict[str, Any]] = httpx.post(
            f"{api}/task_runs/filter", json={"flow_runs": {"id": {"any_": [flow_run_id]}}}
        ).json()
        finished = [task for task in tasks if task["state_type"] in {"COMPLETED", "FAILED"}]
        if len(finished) >= expected or time.monotonic() > deadline:
            return tasks
        time.sleep(0.2)


async def test_each_execution_is_a_flow_run_and_each_node_a_task_run_with_its_retries(
    prefect_stack: HubStack, prefect_server: PrivatePrefectServer, target: tuple[TargetService, str]
) -> None:
    key = uuid.uuid4().hex
    workflow = linear(
        ("start", "trigger", {}),
        ("flaky", "http", {"url": f"{target[1]}/flaky/{key}?failures=2", "retries": 2}),
        ("mark", "addField", {"fields": {"done": True}}),
        workflow_id="prefect-visible",
    )
    client = HubClient(prefect_stack)
    try:
        execution_id = await client.execute(workflow)
        assert (await client.wait_for(execution_id))["status"] == "completed"
    finally:
        await client.close()
    flow_run = _flow_run(prefect_server.api_url, execution_id)
    assert flow_run["state_type"] == "COMPLETED"
    expected = {"trigger-start", "http-flaky", "addField-mark"}
    tasks = _task_runs(prefect_server.api_url, flow_run["id"], len(expected))
    by_name = {task["name"]: task for task in tasks}
    assert set(by_name) == expected
    assert by_name["http-flaky"]["run_count"] == 3
    assert all(task["state_type"] == "COMPLETED" for task in tasks)


async def test_a_failed_execution_is_a_failed_flow_run(
    prefect_stack: HubStack, prefect_server: PrivatePrefectServer, target: tuple[TargetService, str]
) -> None:
    client = HubClient(prefect_stack)
    try:
        execution_id = await client.execute(
            linear(("start", "trigger", {}), ("bad", "http", {"url": f"{target[1]}/status/500"}))
        )
        assert (await client.wait_for(execution_id))["status"] == "failed"
    finally:
        await client.close()
    assert _flow_run(prefect_server.api_url, execution_id)["state_type"] == "FAILED"


def test_the_private_prefect_server_stops_with_its_worker(tmp_path: Path) -> None:
    """Prefect's own ephemeral server outlives a killed worker; the hub's goes with it."""
    with hub_stack(tmp_path, engine="prefect", workers=1) as stack:
        worker = stack.workers[0]
        children = subprocess.run(["pgrep", "-P", str(worker.pid)], capture_output=True, text=True).stdout.split()
        assert children, "the worker has no Prefect server child"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        deadline = time.monotonic() + 30
        while any(Path(f"/proc/{child}").exists() for child in children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [child for child in children if Path(f"/proc/{child}").exists()], "a child outlived its worker"
