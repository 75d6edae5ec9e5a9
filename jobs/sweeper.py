"""The sweeper every worker runs: nothing stays stuck, even when Redis lost the job that would move it.

It re-queues executions whose lease expired (their worker died), waits whose timer came due, and pending
executions whose job never arrived; and it fails waiting executions past their ``maxDurationSeconds``.
Several workers sweeping at once is harmless: job ids repeat, so arq keeps one job, and claims are atomic.
"""

from __future__ import annotations

import asyncio
import logging

from jobs.execution import WorkerState

logger = logging.getLogger(__name__)

PENDING_GRACE_SECONDS = 10.0


async def sweep_once(state: WorkerState) -> None:
    found = await state.store.sweep(pending_older_than=PENDING_GRACE_SECONDS)
    for execution_id, expired_at in found.expired_leases:
        await state.queue.enqueue(execution_id, reason=f"lease:{int(expired_at * 1000)}")
    for execution_id, resume_at in found.due_waits:
        await state.queue.enqueue(execution_id, reason=f"wake:{int(resume_at * 1000)}")
    for execution_id in found.stale_pending:
        await state.queue.enqueue(execution_id)
    await state.bus.publish(await state.store.fail_overdue())


async def sweep_forever(state: WorkerState, interval: float) -> None:
    while True:
        try:
            await sweep_once(state)
        except Exception:  # noqa: BLE001 - the next sweep tries again; a sweeper that dies helps nobody
            logger.warning("sweep failed; retrying in %.1f s", interval, exc_info=True)
        await asyncio.sleep(interval)
