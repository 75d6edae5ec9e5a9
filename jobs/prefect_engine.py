"""The Prefect engine: an execution is a Prefect flow run, and each node a task run named after its type.

Prefect owns the retries of a node (its states and UI show them); the hub's own events and store writes
happen in the runner around these calls and never wait on a Prefect API call. Prefect is imported only
by workers that use this engine, since importing it takes seconds.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import prefect.flow_engine
from prefect import flow, task
from prefect.cache_policies import NONE

from handlers.contract import NodeResult
from hub.settings import Engine as EngineName
from hub.workflow import Node
from jobs.engines import Attempt

T = TypeVar("T")

# The worker owns SIGTERM: it drains, lets running nodes finish and hands executions back. Prefect's flow
# engine would swap in a handler that raises TerminationSignal wherever the main thread happens to be,
# which is inside the event loop's select, and the whole worker dies mid-node.
prefect.flow_engine.capture_sigterm = contextlib.nullcontext  # type: ignore[attr-defined,assignment]


async def _node_body(attempt: Callable[[], Awaitable[NodeResult]]) -> NodeResult:
    return await attempt()


class PrefectEngine:
    name = EngineName.PREFECT.value

    def __init__(self) -> None:
        self._tasks: dict[tuple[str, int, float], Any] = {}

    def _task(self, node: Node) -> Any:
        key = (node.type, node.retries, node.retry_delay_seconds)
        if key not in self._tasks:
            self._tasks[key] = task(
                name=node.type,
                retries=node.retries,
                retry_delay_seconds=node.retry_delay_seconds,
                cache_policy=NONE,
                persist_result=False,
                log_prints=False,
            )(_node_body)
        return self._tasks[key]

    async def run_flow(self, execution_id: str, workflow_name: str, body: Callable[[], Awaitable[T]]) -> T:
        async def execution() -> T:
            return await body()

        wrapped = flow(
            name=workflow_name or "workflow",
            flow_run_name=execution_id,
            persist_result=False,
            validate_parameters=False,
            log_prints=False,
        )(execution)
        result: T = await wrapped()
        return result

    async def run_node(self, node: Node, attempt: Attempt) -> NodeResult:
        numbers = itertools.count(1)

        async def next_attempt() -> NodeResult:
            return await attempt(next(numbers))

        result: NodeResult = await self._task(node).with_options(task_run_name=f"{node.type}-{node.id}")(next_attempt)
        return result
