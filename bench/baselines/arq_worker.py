"""A bare arq worker, set up as the hub's worker is (same slots, same poll delay), with nothing of the hub.

Jobs: ``noop`` (returns at once), and with ``--prefect`` a bare Prefect flow of five tasks (``five``) and
a flow of ``n`` tasks in a row that reports how long it took (``chain``). With ``--prefect`` it runs
against a private Prefect server made exactly as the hub's worker makes its own.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from arq import Worker
from arq.connections import RedisSettings
from arq.worker import func

from hub.settings import Settings


async def noop(ctx: dict[str, Any]) -> None:
    return None


def _prefect_functions() -> list[Any]:
    from prefect import flow, task
    from prefect.cache_policies import NONE

    @task(name="addField", cache_policy=NONE, persist_result=False, log_prints=False)
    async def add_field(data: dict[str, Any], step: int) -> dict[str, Any]:
        return {**data, "step": step}

    @flow(name="bench-five", persist_result=False, validate_parameters=False, log_prints=False)
    async def five_tasks(inputs: dict[str, Any]) -> dict[str, Any]:
        data = inputs
        for step in range(5):
            data = await add_field(data, step)
        return data

    @flow(name="bench-chain", persist_result=False, validate_parameters=False, log_prints=False)
    async def chain_tasks(length: int) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for step in range(length):
            data = await add_field(data, step)
        return data

    async def five(ctx: dict[str, Any]) -> None:
        await five_tasks({"city": "Madrid"})

    async def chain(ctx: dict[str, Any], length: int) -> float:
        began = time.perf_counter()
        await chain_tasks(length)
        return time.perf_counter() - began

    async def warm_up(ctx: dict[str, Any]) -> None:
        await five_tasks({})

    return [func(five, name="five"), func(chain, name="chain"), warm_up]


async def _serve(redis_url: str, queue: str, prefect: bool) -> None:
    settings = Settings()
    functions: list[Any] = [func(noop, name="noop")]
    on_startup = None
    if prefect:
        *jobs, on_startup = _prefect_functions()
        functions += jobs
    worker = Worker(
        functions=functions,
        queue_name=queue,
        redis_settings=RedisSettings.from_dsn(redis_url),
        on_startup=on_startup,
        max_jobs=settings.worker_concurrency,
        poll_delay=0.05,
        keep_result=300,
        handle_signals=False,
        log_results=False,
    )
    await worker.async_run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--prefect-home", help="run Prefect flows against a private server under this folder")
    arguments = parser.parse_args()
    if arguments.prefect_home:
        from pathlib import Path

        from jobs.worker import prefect_api

        with prefect_api(Settings(data_dir=Path(arguments.prefect_home))):
            asyncio.run(_serve(arguments.redis, arguments.queue, True))
    else:
        asyncio.run(_serve(arguments.redis, arguments.queue, False))


if __name__ == "__main__":
    main()
