"""Sweeps: what no worker is looking after, found by any worker's periodic pass."""

from __future__ import annotations

import time
from functools import partial

from hub.events import Event, EventType, utc_now
from hub.storage._base import iso
from hub.storage._engine import Connection, rows
from hub.storage.contract import Sweep
from hub.storage.events import SqlEventLog
from hub.storage.outbox import enqueue_deliveries

_OVERDUE = "The execution ran longer than its maxDurationSeconds"


class SqlSweeps(SqlEventLog):
    """Expired leases, due waits, pending executions nobody took, and waits past their deadline."""

    async def sweep(self, pending_older_than: float) -> Sweep:
        now = time.time()
        expired = await self.engine.fetch_all(
            "SELECT id, leaseExpiresAt FROM workflow_executions WHERE status = 'running' AND leaseExpiresAt < ?",
            (now,),
        )
        due = await self.engine.fetch_all(
            "SELECT id, resumeAt FROM workflow_executions WHERE status = 'waiting' AND resumeAt <= ?", (now,)
        )
        pending = await self.engine.fetch_all(
            "SELECT id FROM workflow_executions WHERE status = 'pending' AND createdAt < ?",
            (iso(now - pending_older_than),),
        )
        return Sweep(
            [(row["id"], row["leaseExpiresAt"]) for row in expired],
            [(row["id"], row["resumeAt"]) for row in due],
            [row["id"] for row in pending],
        )

    async def fail_overdue(self) -> list[Event]:
        overdue = await self.engine.fetch_all(
            "SELECT id FROM workflow_executions WHERE status = 'waiting' AND deadlineAt < ?", (time.time(),)
        )
        events = []
        for row in overdue:
            event = await self.engine.write(partial(self._fail, execution_id=row["id"]))
            if event is not None:
                events.append(event)
        return events

    def _fail(self, connection: Connection, execution_id: str) -> Event | None:
        lock = self._for_update()
        still_waiting = rows(
            connection,
            f"SELECT status FROM workflow_executions WHERE id = ? AND status = 'waiting'{lock}",
            (execution_id,),
        )
        if not still_waiting:
            return None
        event = self._append(
            connection,
            execution_id,
            None,
            EventType.EXECUTION_FAILED,
            {"error": _OVERDUE},
            sets=""", status = 'failed', completedAt = ?, error = ?, resumeAt = NULL""",
            parameters=(utc_now(), _OVERDUE),
            with_progress=True,
        )
        enqueue_deliveries(connection, execution_id)
        return event
