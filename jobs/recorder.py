"""Write first, then announce: each state change goes to the store, and only then onto the bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hub.bus import EventBus
from hub.errors import LeaseLost
from hub.events import Event, EventType, ExecutionStatus, dumps
from hub.store import ExecutionStore
from hub.workflow import Node

logger = logging.getLogger(__name__)

_INLINE_OUTPUT_BYTES = 16 * 1024


def _with_output(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    """Puts a small output in the event itself; a large one stays in the store only."""
    size = len(dumps(value))
    if size <= _INLINE_OUTPUT_BYTES:
        data[key] = value
    else:
        data[f"{key}Truncated"] = True
        data[f"{key}Bytes"] = size
    return data


class Recorder:
    """One execution's writer, bound to the lease owner so that a worker that lost its lease writes nothing."""

    def __init__(self, store: ExecutionStore, bus: EventBus, execution_id: str, owner: str) -> None:
        self.store = store
        self.bus = bus
        self.execution_id = execution_id
        self.owner = owner
        self._background: set[asyncio.Task[None]] = set()

    async def _announce(self, events: Sequence[Event]) -> None:
        await self.bus.publish(events)

    def node_started(self, node: Node, attempt: int) -> None:
        """Records node.started without making the node wait for the commit.

        The store commits writes in the order they are made, so the node's later events still follow this
        one; a lost lease shows up at the node's next write, which is awaited.
        """
        written = self.store.node_started(self.execution_id, self.owner, node.id, node.type, node.label, attempt)
        task = asyncio.create_task(self._announce_when_written(written), name=f"started:{node.id}")
        self._background.add(task)
        task.add_done_callback(self._forget)

    async def _announce_when_written(self, written: asyncio.Future[Event]) -> None:
        await self._announce([await written])

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        error = None if task.cancelled() else task.exception()
        if isinstance(error, LeaseLost):
            logger.info("execution %s: node.started was not written, the lease is gone", self.execution_id)
        elif error is not None:
            logger.warning("execution %s: node.started was not announced: %s", self.execution_id, error)

    async def node_event(
        self, node: Node, event_type: EventType, data: Mapping[str, Any], *, attempts: int | None = None
    ) -> None:
        event = await self.store.node_event(self.execution_id, self.owner, node.id, event_type, data, attempts=attempts)
        await self._announce([event])

    async def node_completed(self, node: Node, output: Any, branch: str | None, message: str, duration: float) -> None:
        data: dict[str, Any] = {"nodeType": node.type, "label": node.label, "duration": duration, "message": message}
        if branch is not None:
            data["branch"] = branch
        event = await self.store.node_completed(
            self.execution_id,
            self.owner,
            node.id,
            output=output,
            branch=branch,
            message=message,
            duration=duration,
            data=_with_output(data, "output", output),
        )
        await self._announce([event])

    async def node_failed(self, node: Node, error: str, duration: float, attempts: int) -> None:
        data = {"nodeType": node.type, "label": node.label, "error": error, "duration": duration, "attempts": attempts}
        event = await self.store.node_failed(
            self.execution_id, self.owner, node.id, error=error, duration=duration, data=data
        )
        await self._announce([event])

    async def nodes_skipped(self, nodes: Sequence[Node], reason: str) -> None:
        if nodes:
            events = await self.store.nodes_skipped(
                self.execution_id, self.owner, [(node.id, node.type, node.label) for node in nodes], reason
            )
            await self._announce(events)

    async def node_waiting(self, node: Node, resume_at: float | None, data: Mapping[str, Any]) -> None:
        event = await self.store.node_waiting(self.execution_id, self.owner, node.id, resume_at, data)
        await self._announce([event])

    async def park(self) -> bool:
        """True when the execution now waits without a worker; False when a waiting node is already due."""
        events = await self.store.park(self.execution_id, self.owner)
        await self._announce(events)
        return bool(events)

    async def completed(self, final_output: Any, duration: float) -> None:
        data = _with_output({"durationSeconds": duration}, "finalOutput", final_output)
        event = await self.store.finish(
            self.execution_id, self.owner, ExecutionStatus.COMPLETED, final_output=final_output, data=data
        )
        await self._announce([event])

    async def failed(self, error: str, node_id: str | None) -> None:
        event = await self.store.finish(
            self.execution_id,
            self.owner,
            ExecutionStatus.FAILED,
            error=error,
            data={"error": error, "failedNodeId": node_id},
        )
        await self._announce([event])

    async def stopped(self, status: ExecutionStatus, reason: str) -> None:
        event = await self.store.stop(self.execution_id, self.owner, status, reason)
        await self._announce([event])

    async def handed_back(self, reason: str) -> None:
        await self._announce(await self.store.hand_back(self.execution_id, self.owner, reason))
