"""Every Redis key and channel the hub and its workers use, named in one place."""

from __future__ import annotations

EVENTS_PATTERN = "hub:events:*"
"""The one pattern subscription each hub process holds."""

CANCEL_CHANNEL = "hub:cancel"
"""Execution ids whose cancellation was requested; every worker listens."""

WORKER_HEARTBEAT_PREFIX = "hub:workers:"
"""``hub:workers:<worker id>``, refreshed by each live worker with a short expiry."""

RUN_EXECUTION = "run_execution"
"""The name of the one arq job: run (or resume) one execution."""


def events_channel(execution_id: str) -> str:
    return f"hub:events:{execution_id}"


def worker_heartbeat(worker_id: str) -> str:
    return f"{WORKER_HEARTBEAT_PREFIX}{worker_id}"


def run_job_id(execution_id: str, reason: str = "") -> str:
    """arq job ids: one per execution and reason, so racing enqueuers make one job, not two."""
    return f"hub:run:{execution_id}:{reason}" if reason else f"hub:run:{execution_id}"
