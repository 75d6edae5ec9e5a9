"""Enqueueing executions on arq. Always called after the execution row is committed."""

from __future__ import annotations

import logging
from datetime import datetime

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix
from redis.exceptions import RedisError

from hub.keys import RUN_EXECUTION, run_job_id

logger = logging.getLogger(__name__)


class ExecutionQueue:
    """Puts ``run_execution`` jobs on the queue; a failed enqueue is repaired by the workers' sweeper."""

    def __init__(self, redis: ArqRedis, queue_name: str) -> None:
        self._redis = redis
        self._queue_name = queue_name

    async def enqueue(self, execution_id: str, *, reason: str = "", defer_until: datetime | None = None) -> bool:
        """True when a job is queued (or one with the same id already was)."""
        try:
            await self._redis.enqueue_job(
                RUN_EXECUTION,
                execution_id,
                _job_id=run_job_id(execution_id, reason),
                _queue_name=self._queue_name,
                _defer_until=defer_until,
            )
        except (RedisError, OSError) as error:
            logger.warning(
                "could not enqueue execution %s (%s); a worker will pick it up once Redis is back: %s",
                execution_id,
                reason or "start",
                error,
            )
            return False
        return True

    async def forget(self, job_id: str) -> None:
        """Removes the arq job of a worker that died, which arq would otherwise hold as in progress for good."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(self._queue_name, job_id)
                pipe.delete(in_progress_key_prefix + job_id, job_key_prefix + job_id)
                await pipe.execute()
        except (RedisError, OSError) as error:
            logger.warning("could not remove the dead job %s: %s", job_id, error)
