"""The graph runner: runs a workflow's nodes in dependency order, concurrently where it can.

A node runs once every incoming connection is resolved and at least one was taken; a node none of
whose connections was taken is skipped, and so is everything after a failed node. Nodes that already
completed in an earlier run of the same execution are not run again: their stored outputs are reused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import httpx

from handlers.contract import (
    FileStore,
    NodeContext,
    NodeError,
    NodeResult,
    RecordStore,
    Resources,
    Scope,
)
from handlers.registry import NODE_TYPES, RUNNER_KEYS
from handlers.settings import NodeSettings
from handlers.templating import render
from hub.events import EventType
from hub.storage import NodeState
from hub.workflow import Node, Workflow
from jobs.engines import Engine
from jobs.recorder import Recorder

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    WAITING = "waiting"
    HANDED_BACK = "handed-back"


@dataclass(frozen=True, slots=True)
class RunResult:
    outcome: Outcome
    final_output: Any = None
    error: str | None = None
    failed_node_id: str | None = None


@dataclass(frozen=True, slots=True)
class NodeServices:
    """What the worker lends every node: settings, one http client, long-lived resources."""

    settings: NodeSettings
    http: httpx.AsyncClient
    resources: Resources


@dataclass
class GraphRun:
    """One execution's graph, what its earlier runs left behind, and the stores of its organization."""

    execution_id: str
    workflow: Workflow
    inputs: Mapping[str, Any]
    trigger_data: Any
    organization_id: str | None
    stored: dict[str, NodeState] = field(default_factory=dict)
    records: RecordStore | None = None
    files: FileStore | None = None


class NodeTimedOut(NodeError):
    """Raised when one attempt of a node runs past its ``timeoutSeconds``."""


_DONE = frozenset({"completed", "skipped", "failed"})


class GraphRunner:
    """Schedules one execution's nodes and records every step through the recorder.

    Each node counts its unresolved incoming connections; when a node is done (completed, skipped or
    failed) its targets count down, and a target at zero is ready. Scheduling is linear in the graph.
    """

    def __init__(
        self, run: GraphRun, recorder: Recorder, engine: Engine, services: NodeServices, draining: asyncio.Event
    ) -> None:
        self.run = run
        self.workflow = run.workflow
        self.recorder = recorder
        self.engine = engine
        self.services = services
        self.draining = draining
        self.status: dict[str, str] = {}
        self.outputs: dict[str, Any] = {}
        self.branches: dict[str, str | None] = {}
        self.parked: dict[str, NodeState] = {}
        self.failure: tuple[str, str] | None = None
        self._running: dict[asyncio.Task[None], Node] = {}
        self._unresolved = {node.id: len(self.workflow.incoming[node.id]) for node in self.workflow.nodes}
        self._ready: deque[Node] = deque()
        for node_id, state in run.stored.items():
            if state.status in ("completed", "skipped"):
                self._finish(node_id, state.status, state.output, state.branch)
            elif state.status in ("waiting", "resumed"):
                self.parked[node_id] = state
        self._ready = deque(
            node for node in self.workflow.nodes if node.id not in self.status and not self._unresolved[node.id]
        )

    async def execute(self) -> RunResult:
        started = time.monotonic()
        try:
            result = await self.engine.run_flow(self.run.execution_id, self.workflow.name, self._flow)
        except _FlowFailed as failed:
            result = failed.result
        if result.outcome is Outcome.COMPLETED:
            await self.recorder.completed(result.final_output, _elapsed(started))
        elif result.outcome is Outcome.FAILED:
            await self.recorder.failed(result.error or "failed", result.failed_node_id)
        return result

    async def _flow(self) -> RunResult:
        """The body of the flow; a failed execution raises so that Prefect marks its flow run failed too."""
        try:
            await self._schedule()
        finally:
            for task in self._running:
                task.cancel()
        if self.failure is not None:
            node_id, error = self.failure
            label = self.workflow.by_id[node_id].label
            raise _FlowFailed(
                RunResult(Outcome.FAILED, error=f"Node '{label}' failed: {error}", failed_node_id=node_id)
            )
        if all(self.status.get(node.id) in _DONE for node in self.workflow.nodes):
            return RunResult(Outcome.COMPLETED, final_output=self._final_output())
        if self.draining.is_set():
            return RunResult(Outcome.HANDED_BACK)
        return RunResult(Outcome.WAITING)

    async def _schedule(self) -> None:
        while True:
            if not self.draining.is_set() and self.failure is None:
                await self._start_ready_nodes()
            if not self._running:
                if self.failure is not None or self.draining.is_set() or not self.parked:
                    break
                if await self.recorder.park():
                    break
                await self._reload_parked()
                continue
            done, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                self._running.pop(task)
                task.result()
        if self.failure is not None:
            reason = f"Skipped because node '{self.workflow.by_id[self.failure[0]].label}' failed"
            await self.recorder.nodes_skipped([n for n in self.workflow.nodes if n.id not in self.status], reason)

    async def _reload_parked(self) -> None:
        """A resume call or a timer came due while other branches ran: pick up the parked nodes' state."""
        state = await self.recorder.store.load_run_state(self.run.execution_id)
        self.parked = {
            node_id: stored for node_id, stored in state.nodes.items() if stored.status in ("waiting", "resumed")
        }
        for node_id in self.parked:
            if self.status.get(node_id) == "parked":
                del self.status[node_id]
                self._ready.append(self.workflow.by_id[node_id])

    def _taken(self, node: Node) -> list[Any]:
        """The outputs of the incoming connections that were taken, in connection order."""
        outputs = []
        for connection in self.workflow.incoming[node.id]:
            if self.status.get(connection.source) != "completed":
                continue
            branch = self.branches.get(connection.source)
            if connection.output_type is None or branch is None or connection.output_type == branch:
                outputs.append(self.outputs[connection.source])
        return outputs

    async def _start_ready_nodes(self) -> None:
        skipped: list[Node] = []
        while self._ready:
            node = self._ready.popleft()
            taken = self._taken(node)
            if self.workflow.incoming[node.id] and not taken:
                skipped.append(node)
                self._finish(node.id, "skipped", None, None)
                continue
            parked = self.parked.get(node.id)
            if parked is not None and parked.status == "waiting" and (parked.resume_at or _NEVER) > time.time():
                self.status[node.id] = "parked"
                continue
            self.status[node.id] = "running"
            task = asyncio.create_task(self._run_node(node, taken, parked), name=f"node:{node.id}")
            self._running[task] = node
        await self.recorder.nodes_skipped(skipped, "Skipped because no incoming branch was taken")

    async def _run_node(self, node: Node, taken: list[Any], parked: NodeState | None) -> None:
        node_input = taken[0] if len(taken) == 1 else (taken if taken else self.run.trigger_data)
        if parked is not None:
            output = parked.output if parked.status == "resumed" else node_input
            self.parked.pop(node.id, None)
            await self.recorder.node_completed(node, output, None, "Resumed", 0.0)
            self._finish(node.id, "completed", output, None)
            return
        await self.recorder.node_started(node, 1)
        started = time.monotonic()
        attempts = 0

        async def attempt(number: int) -> NodeResult:
            nonlocal attempts
            attempts = number
            if number > 1:
                await self.recorder.node_started(node, number)
            return await self._attempt(node, node_input, taken, number)

        try:
            result = await self.engine.run_node(node, attempt)
        except Exception as error:  # noqa: BLE001 - any failure of a node is reported on that node
            message = _message(error)
            await self.recorder.node_failed(node, message, _elapsed(started), attempts)
            self._finish(node.id, "failed", None, None)
            if self.failure is None:
                self.failure = (node.id, message)
            return
        if result.suspend is not None:
            await self._suspend(node, result.suspend.resume_at)
            return
        await self.recorder.node_completed(node, result.output_data, result.branch, result.message, _elapsed(started))
        self._finish(node.id, "completed", result.output_data, result.branch)

    def _finish(self, node_id: str, status: str, output: Any, branch: str | None) -> None:
        self.status[node_id] = status
        self.outputs[node_id] = output
        self.branches[node_id] = branch
        for connection in self.workflow.outgoing[node_id]:
            self._unresolved[connection.target] -= 1
            if not self._unresolved[connection.target] and connection.target not in self.status:
                self._ready.append(self.workflow.by_id[connection.target])

    async def _suspend(self, node: Node, resume_at: datetime | None) -> None:
        epoch = resume_at.astimezone(UTC).timestamp() if resume_at is not None else None
        self.status[node.id] = "parked"
        self.parked[node.id] = NodeState("waiting", resume_at=epoch)
        data: dict[str, Any] = {"nodeType": node.type, "label": node.label, "resumeAt": None}
        if resume_at is not None:
            data["resumeAt"] = resume_at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        else:
            data["resumeUrl"] = f"/api/executions/{self.run.execution_id}/resume/{node.id}"
        await self.recorder.node_waiting(node, epoch, data)

    async def _context(self, node: Node, node_input: Any, taken: list[Any], attempt: int) -> NodeContext:
        scope = Scope(
            input=node_input,
            inputs=self.run.inputs,
            nodes=self.outputs,
            execution={"id": self.run.execution_id, "workflowId": self.workflow.id},
        )
        node_type = NODE_TYPES.get(node.type)
        config = {key: value for key, value in node.config.items() if key not in RUNNER_KEYS}
        recorder = self.recorder

        async def log(message: str, level: str = "info") -> None:
            await recorder.node_event(node, EventType.LOG, {"level": level, "message": message})

        async def progress(data: Mapping[str, Any]) -> None:
            await recorder.node_event(node, EventType.NODE_PROGRESS, data)

        return NodeContext(
            execution_id=self.run.execution_id,
            organization_id=self.run.organization_id,
            node_id=node.id,
            node_type=node.type,
            label=node.label,
            config=await render(config, scope, self.services.settings.templates, raw_keys=node_type.raw_keys),
            input=node_input,
            scope=scope,
            settings=self.services.settings,
            http=self.services.http,
            log=log,
            progress=progress,
            resources=self.services.resources,
            records=self.run.records,
            files=self.run.files,
            attempt=attempt,
            branches=tuple(taken),
        )

    async def _attempt(self, node: Node, node_input: Any, taken: list[Any], attempt: int) -> NodeResult:
        """One attempt: render the config and run the handler, both under the node's timeout; report a retry."""
        timeout = node.timeout_seconds
        try:
            async with asyncio.timeout(timeout) as deadline:
                ctx = await self._context(node, node_input, taken, attempt)
                result = await NODE_TYPES.get(node.type).run(ctx)
            if not result.success:
                raise NodeError(result.message)
            return result
        except TimeoutError:
            if not deadline.expired():
                raise
            error: Exception = NodeTimedOut(f"timed out after {timeout:g} s")
            await self.recorder.node_event(
                node, EventType.NODE_TIMEOUT, {"attempt": attempt, "timeoutSeconds": timeout}
            )
        except Exception as failure:  # noqa: BLE001 - reported on the node, retried if it has retries left
            error = failure
        if attempt <= node.retries:
            await self.recorder.node_event(
                node,
                EventType.NODE_RETRYING,
                {
                    "attempt": attempt,
                    "maxAttempts": node.retries + 1,
                    "error": _message(error),
                    "delaySeconds": node.retry_delay_seconds,
                },
                attempts=attempt,
            )
        raise error

    def _final_output(self) -> dict[str, Any]:
        outputs = [node for node in self.workflow.nodes if node.type == "output"]
        if not outputs:
            outputs = [node for node in self.workflow.nodes if not self.workflow.outgoing[node.id]]
        return {node.id: self.outputs.get(node.id) for node in outputs if self.status.get(node.id) == "completed"}


class _FlowFailed(Exception):
    def __init__(self, result: RunResult) -> None:
        super().__init__(result.error)
        self.result = result


_NEVER = float("inf")


def _message(error: BaseException) -> str:
    return str(error) if isinstance(error, NodeError) else f"{type(error).__name__}: {error}"


def _elapsed(started: float) -> float:
    return round(time.monotonic() - started, 3)
