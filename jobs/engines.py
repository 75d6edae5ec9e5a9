"""How a graph and its nodes are wrapped: natively, or as a Prefect flow with a Prefect task per node.

Both engines honour the same node settings (retries, retryDelaySeconds); the runner enforces timeouts
and writes every event itself, so nothing the hub promises waits on the engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from handlers.contract import NodeResult
from hub.settings import Engine as EngineName
from hub.workflow import Node

T = TypeVar("T")

Attempt = Callable[[int], Awaitable[NodeResult]]
"""Runs one attempt of a node (numbered from 1); raises when the attempt fails."""


class Engine(Protocol):
    name: str

    async def run_flow(self, execution_id: str, workflow_name: str, body: Callable[[], Awaitable[T]]) -> T: ...

    async def run_node(self, node: Node, attempt: Attempt) -> NodeResult: ...


class NativeEngine:
    """Runs the graph directly in the worker's event loop, with the same retry rules as Prefect's."""

    name = EngineName.NATIVE.value

    async def run_flow(self, execution_id: str, workflow_name: str, body: Callable[[], Awaitable[T]]) -> T:
        return await body()

    async def run_node(self, node: Node, attempt: Attempt) -> NodeResult:
        number = 1
        while True:
            try:
                return await attempt(number)
            except Exception:
                if number > node.retries:
                    raise
            await asyncio.sleep(node.retry_delay_seconds)
            number += 1


def create_engine(name: str) -> Engine:
    if name == EngineName.PREFECT.value:
        from jobs.prefect_engine import PrefectEngine

        return PrefectEngine()
    return NativeEngine()
