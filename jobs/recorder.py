"""Write first, then announce: each state change goes to the store, and only then onto the bus."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from hub.bus import EventBus
from hub.events import Event, EventType, ExecutionStatus, dumps, loads
from hub.storage import RunLedger
from hub.workflow import Node
from jobs.lease import Lease

logger = logging.getLogger(__name__)

_INLINE_OUTPUT_BYTES = 16 * 1024


def _with_output(data: dict[str, Any], key: str, encoded: str) -> dict[str, Any]:
    """Puts a small output (given as its JSON) in the event itself; a large one stays in the store only.

    The event gets a copy, read back from the JSON: a write may run after the next nodes started, and a
    handler may change its input in place.
    """
    size = len(encoded)
    if size <= _INLINE_OUTPUT_BYTES:
        data[key] = loads(encoded)
    else:
        data[f"{key}Truncated"] = True
        data[f"{key}Bytes"] = size
    return data


class Recorder:
    """One execution's writer, bound to the lease owner so that a worker that lost its lease writes nothing.

    node.started and node.completed, the two writes of every node, do not make the graph wait for their
    commit while the lease cannot have expired (see Lease): nobody else can have taken the execution, and
    the store commits writes in the order they are made, so the events still follow each other. Close to
    the lease's end they are awaited, so that a worker that lost its lease stops before its next node.
    """

    def __init__(self, store: RunLedger, bus: EventBus, execution_id: str, owner: str, lease: Lease) -> None:
        self.store = store
        self.bus = bus
        self.execution_id = execution_id
        self.owner = owner
        self.lease = lease
        self._background: set[asyncio.Task[None]] = set()
        self._lost_write: BaseException | None = None

    async def _announce(self, events: Sequence[Event]) -> None:
        await self.bus.publish(events)

    async def _record(self, written: asyncio.Future[Event], name: str) -> None:
        if not self.lease.certain:
            await self._announce_when_written(written)
            return
        task = asyncio.create_task(self._announce_when_written(written), name=name)
        self._background.add(task)
        task.add_done_callback(self._forget)

    async def _announce_when_written(self, written: asyncio.Future[Event]) -> None:
        await self._announce([await written])

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            logger.warning("execution %s: a node's state change was not recorded: %s", self.execution_id, error)
            self._lost_write = self._lost_write or error

    async def _settled(self) -> None:
        """Waits for the writes not yet awaited; raises the first that failed, so that no execution is
        recorded as completed without one of its nodes."""
        if self._background:
            await asyncio.wait(set(self._background))
        if self._lost_write is not None:
            error, self._lost_write = self._lost_write, None
            raise error

    async def node_started(self, node: Node, attempt: int) -> None:
        written = self.store.node_started(self.execution_id, self.owner, node.id, node.type, node.label, attempt)
        await self._record(written, f"started:{node.id}")

    async def node_event(
        self, node: Node, event_type: EventType, data: Mapping[str, Any], *, attempts: int | None = None
    ) -> None:
        event = await self.store.node_event(self.execution_id, self.owner, node.id, event_type, data, attempts=attempts)
        await self._announce([event])

    async def node_completed(self, node: Node, output: Any, branch: str | None, message: str, duration: float) -> None:
        data: dict[str, Any] = {"nodeType": node.type, "label": node.label, "duration": duration, "message": message}
        if branch is not None:
            data["branch"] = branch
        encoded = dumps(output)
        written = self.store.node_completed(
            self.execution_id,
            self.owner,
            node.id,
            output_json=encoded,
            branch=branch,
            message=message,
            duration=duration,
            data=_with_output(data, "output", encoded),
        )
        await self._record(written, f"completed:{node.id}")

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
        await self._settled()
        data = _with_output({"durationSeconds": duration}, "finalOutput", dumps(final_output))
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
