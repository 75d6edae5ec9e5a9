"""What the bench asks the system under test, as the Node server and an operator would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from arq import create_pool
from arq.connections import RedisSettings

from bench.stack import BenchStack
from bench.workflows import execute_body

TERMINAL = ("completed", "failed", "cancelled")


def epoch(timestamp: str) -> float:
    """Seconds since the epoch of one of the hub's ISO 8601 timestamps."""
    return datetime.fromisoformat(timestamp).timestamp()


def execute(url: str, workflow: dict[str, Any]) -> str:
    response = httpx.post(f"{url}/api/workflows/execute", json=execute_body(workflow), timeout=60)
    if response.status_code != 202:
        raise RuntimeError(f"execute answered {response.status_code}: {response.text[:300]}")
    execution_id: str = response.json()["executionId"]
    return execution_id


def cancel(url: str, execution_id: str) -> None:
    httpx.post(f"{url}/api/executions/{execution_id}/cancel", timeout=60)


def wait_until(ready: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.2)


def finished_count(stack: BenchStack) -> int:
    placeholders = ",".join("?" * len(TERMINAL))
    rows = stack.query(f"SELECT count(*) FROM workflow_executions WHERE status IN ({placeholders})", TERMINAL)
    return int(rows[0][0])


def wait_finished(stack: BenchStack, count: int, timeout: float) -> None:
    wait_until(lambda: finished_count(stack) >= count, f"{count} executions to finish", timeout)


def status(stack: BenchStack, execution_id: str) -> str:
    rows = stack.query("SELECT status FROM workflow_executions WHERE id = ?", (execution_id,))
    return str(rows[0]["status"]) if rows else "missing"


def arq_finish_times(redis_url: str, job_prefix: str) -> list[float]:
    """When each finished arq job whose id starts with ``job_prefix`` finished (from arq's stored results)."""

    async def read() -> list[float]:
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            results = await pool.all_job_results()
        finally:
            await pool.aclose()
        return [result.finish_time.timestamp() for result in results if (result.job_id or "").startswith(job_prefix)]

    return asyncio.run(read())


def arq_queue_length(redis_url: str, queue: str) -> int:
    async def read() -> int:
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            return int(await pool.zcard(queue))
        finally:
            await pool.aclose()

    return asyncio.run(read())


def run_arq_job(redis_url: str, queue: str, function: str, *args: Any, timeout: float = 600) -> Any:
    """Enqueues one job and waits for its result."""

    async def run() -> Any:
        pool = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            job = await pool.enqueue_job(function, *args, _queue_name=queue)
            assert job is not None
            return await job.result(timeout=timeout, poll_delay=0.05)
        finally:
            await pool.aclose()

    return asyncio.run(run())
