"""Enqueueing executions on arq. Always called after the execution row is committed."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.exceptions import RedisError

from hub.keys import RUN_EXECUTION, run_job_id

logger = logging.getLogger(__name__)


class ExecutionQueue:
    """Puts ``run_execution`` jobs on the queue; a failed enqueue is repaired by the workers' sweeper.

    An enqueue gives up after ``deadline_seconds`` however Redis fails (down, or hanging), so that a
    request that committed an execution answers in time; the sweeper queues the pending execution later.
    """

    def __init__(self, redis: ArqRedis, queue_name: str, deadline_seconds: float) -> None:
        self._redis = redis
        self._queue_name = queue_name
        self._deadline_seconds = deadline_seconds
        self._failing = False

    async def enqueue(self, execution_id: str, *, reason: str = "", defer_until: datetime | None = None) -> bool:
        """True when a job is queued (or one with the same id already was)."""
        try:
            async with asyncio.timeout(self._deadline_seconds):
                await self._redis.enqueue_job(
                    RUN_EXECUTION,
                    execution_id,
                    _job_id=run_job_id(execution_id, reason),
                    _queue_name=self._queue_name,
                    _defer_until=defer_until,
                )
        except (RedisError, OSError) as error:
            self._enqueue_failed(execution_id, reason, error)
            return False
        if self._failing:
            self._failing = False
            logger.info("Redis takes jobs again")
        return True

    def _enqueue_failed(self, execution_id: str, reason: str, error: Exception) -> None:
        """Logs the first failure of an outage only: under load, one line per request would flood the log."""
        if self._failing:
            logger.debug("could not enqueue execution %s (%s): %r", execution_id, reason or "start", error)
            return
        self._failing = True
        logger.warning(
            "Redis did not take execution %s (%s) within %.1f s; executions stay committed and workers queue "
            "them once Redis answers (logged once until it does): %r",
            execution_id,
            reason or "start",
            self._deadline_seconds,
            error,
        )

    async def forget(self, job_id: str) -> None:
        """Removes the arq job of a worker that died, which arq would otherwise hold as in progress for good."""
        try:
            async with asyncio.timeout(self._deadline_seconds), self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self._queue_name, job_id)
                pipe.delete(in_progress_key_prefix + job_id, job_key_prefix + job_id)
                await pipe.execute()
        except (RedisError, OSError) as error:
            logger.warning("could not remove the dead job %s: %s", job_id, error)
