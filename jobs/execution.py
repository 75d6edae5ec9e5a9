"""The one arq job: claim an execution's lease, run (or resume) its graph, and leave it in a clear state.

Whatever happens the execution ends completed, failed, cancelled, waiting (holding no worker), or
handed back with its lease released so that another worker resumes it at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from hub.bus import EventBus
from hub.errors import LeaseLost
from hub.events import ExecutionStatus
from hub.files import FileCatalog
from hub.queue import ExecutionQueue
from hub.settings import Settings
from hub.storage import RunState, Storage
from hub.workflow import parse_workflow
from jobs.engines import Engine
from jobs.lease import Lease
from jobs.recorder import Recorder
from jobs.runner import GraphRun, GraphRunner, NodeServices, Outcome

logger = logging.getLogger(__name__)


class StopReason(StrEnum):
    CANCELLED = "cancelled"
    LEASE_LOST = "lease-lost"
    DEADLINE = "deadline"
    SHUTDOWN = "shutdown"


class ActiveRun:
    """An execution this worker is running, and why it was told to stop, if it was."""

    def __init__(self, execution_id: str, draining: bool, lease: Lease) -> None:
        self.execution_id = execution_id
        self.lease = lease
        self.draining = asyncio.Event()
        if draining:
            self.draining.set()
        self.reason: StopReason | None = None
        self.task: asyncio.Task[Any] | None = None

    def stop(self, reason: StopReason) -> None:
        if self.reason is None:
            self.reason = reason
            if self.task is not None:
                self.task.cancel()


@dataclass
class WorkerState:
    """What every job of one worker process shares (arq's ``ctx["hub"]``)."""

    settings: Settings
    worker_id: str
    store: Storage
    bus: EventBus
    queue: ExecutionQueue
    services: NodeServices
    engines: dict[str, Engine]
    files: FileCatalog
    runs: dict[str, ActiveRun] = field(default_factory=dict)
    draining: bool = False

    def engine(self, name: str) -> Engine:
        return self.engines.get(name) or next(iter(self.engines.values()))


async def run_execution(ctx: dict[str, Any], execution_id: str) -> str:
    """arq job: run one execution as far as it can go in this worker."""
    state: WorkerState = ctx["hub"]
    if state.draining or execution_id in state.runs:
        return "not-claimed"
    asked_at = time.time()
    claim = await state.store.claim(
        execution_id, state.worker_id, state.settings.lease_seconds, job_id=ctx.get("job_id")
    )
    if claim is None:
        return "not-claimed"
    await state.bus.publish(claim.events)
    if claim.previous_job_id is not None and claim.previous_job_id != ctx.get("job_id"):
        await state.queue.forget(claim.previous_job_id)
    if not claim.runnable:
        return "cancelled"
    run = ActiveRun(execution_id, state.draining, Lease(state.settings.lease_seconds, asked_at))
    state.runs[execution_id] = run
    try:
        return await _drive(state, run)
    finally:
        state.runs.pop(execution_id, None)


async def _drive(state: WorkerState, run: ActiveRun) -> str:
    recorder = Recorder(state.store, state.bus, run.execution_id, state.worker_id, run.lease)
    stored = await state.store.load_run_state(run.execution_id)
    runner = GraphRunner(_graph_run(state, stored), recorder, state.engine(stored.engine), state.services, run.draining)
    keeper = asyncio.create_task(_keep_lease(state, run), name=f"lease:{run.execution_id}")
    timer = None
    if stored.deadline_at is not None:
        delay = max(0.0, stored.deadline_at - time.time())
        timer = asyncio.get_running_loop().call_later(delay, run.stop, StopReason.DEADLINE)
    run.task = asyncio.create_task(runner.execute(), name=f"execution:{run.execution_id}")
    try:
        result = await run.task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        reason = StopReason.SHUTDOWN if current is not None and current.cancelling() else run.reason
        await _after_stop(state, recorder, run, reason or StopReason.SHUTDOWN)
        return f"stopped:{reason}"
    except LeaseLost:
        logger.warning("lost the lease on %s to another worker; stopped without writing", run.execution_id)
        return "lease-lost"
    except Exception:
        logger.exception("execution %s failed inside the worker", run.execution_id)
        await _quietly(recorder.failed("The worker hit an internal error; the hub's log has the details", None))
        return "failed"
    finally:
        keeper.cancel()
        if timer is not None:
            timer.cancel()
    if result.outcome is Outcome.WAITING:
        await _schedule_wake(state, run.execution_id)
    elif result.outcome is Outcome.HANDED_BACK:
        await _hand_back(state, recorder, run.execution_id)
    return str(result.outcome)


def _graph_run(state: WorkerState, stored: RunState) -> GraphRun:
    """The graph and the stores its nodes may use, scoped to the execution's organization."""
    return GraphRun(
        execution_id=stored.execution_id,
        workflow=parse_workflow(stored.workflow),
        inputs=stored.inputs,
        trigger_data=stored.trigger_data,
        organization_id=stored.organization_id,
        stored=stored.nodes,
        records=state.store.records(stored.organization_id),
        files=state.files.scoped(stored.organization_id),
    )


async def _after_stop(state: WorkerState, recorder: Recorder, run: ActiveRun, reason: StopReason) -> None:
    if reason is StopReason.CANCELLED:
        await _quietly(recorder.stopped(ExecutionStatus.CANCELLED, "Cancelled by request"))
    elif reason is StopReason.DEADLINE:
        message = "The execution ran longer than its maxDurationSeconds and was stopped"
        await _quietly(recorder.stopped(ExecutionStatus.FAILED, message))
    elif reason is StopReason.SHUTDOWN:
        await _hand_back(state, recorder, run.execution_id)


async def _hand_back(state: WorkerState, recorder: Recorder, execution_id: str) -> None:
    await _quietly(recorder.handed_back(f"Worker {state.worker_id} stopped; another worker resumes the execution"))
    await state.queue.enqueue(execution_id, reason=f"handoff:{time.time_ns()}")


async def _schedule_wake(state: WorkerState, execution_id: str) -> None:
    """Queues a deferred job for the earliest timer; the sweeper repairs it if Redis loses it."""
    stored = await state.store.load_run_state(execution_id)
    timers = [node.resume_at for node in stored.nodes.values() if node.status == "waiting" and node.resume_at]
    if timers:
        wake = min(timers)
        await state.queue.enqueue(
            execution_id, reason=f"wake:{int(wake * 1000)}", defer_until=datetime.fromtimestamp(wake, UTC)
        )


async def _keep_lease(state: WorkerState, run: ActiveRun) -> None:
    lease = run.lease.seconds
    while True:
        await asyncio.sleep(lease / 3)
        asked_at = time.time()
        try:
            renewal = await state.store.renew(run.execution_id, state.worker_id, lease)
        except Exception:  # noqa: BLE001 - a failed renewal is retried; the lease has two more chances
            logger.warning("could not renew the lease on %s", run.execution_id, exc_info=True)
            continue
        if not renewal.alive:
            run.stop(StopReason.LEASE_LOST)
            return
        run.lease.renewed(asked_at)
        if renewal.cancel_requested:
            run.stop(StopReason.CANCELLED)
            return


async def _quietly(write: Any) -> None:
    """A final write that may find the lease gone (another worker took over): that is not an error."""
    try:
        await write
    except LeaseLost:
        logger.info("the lease passed to another worker before the final write")
