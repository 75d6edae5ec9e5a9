"""Requests that change an execution from outside its run: cancel, resume, and ending it early."""

from __future__ import annotations

import time
from typing import Any

from hub.errors import Conflict, NotFound
from hub.events import Event, EventType, ExecutionStatus, utc_now
from hub.storage._engine import Connection, rows
from hub.storage.events import SqlEventLog
from hub.storage.outbox import enqueue_deliveries


class SqlControl(SqlEventLog):
    """Cancel, resume and early stops; each a unit of work with its event (and deliveries, when it ends)."""

    def _stop(
        self,
        connection: Connection,
        execution_id: str,
        owner: str | None,
        status: ExecutionStatus,
        reason: str,
    ) -> Event:
        """Ends an execution early (cancelled, or failed); nodes in flight become cancelled."""
        connection.execute(
            """UPDATE execution_logs SET status = 'cancelled', message = ?
               WHERE executionId = ? AND status IN ('running', 'waiting', 'resumed')""",
            (reason, execution_id),
        )
        event_type = (
            EventType.EXECUTION_CANCELLED if status is ExecutionStatus.CANCELLED else EventType.EXECUTION_FAILED
        )
        data = {"reason": reason} if status is ExecutionStatus.CANCELLED else {"error": reason}
        event = self._append(
            connection,
            execution_id,
            owner,
            event_type,
            data,
            sets=""", status = ?, completedAt = ?, error = ?, leaseOwner = NULL, leaseExpiresAt = NULL,
                      resumeAt = NULL, currentNodeId = NULL""",
            parameters=(status.value, utc_now(), self._text(reason)),
            with_progress=True,
        )
        enqueue_deliveries(connection, execution_id)
        return event

    async def stop(self, execution_id: str, owner: str, status: ExecutionStatus, reason: str) -> Event:
        def write(connection: Connection) -> Event:
            return self._stop(connection, execution_id, owner, status, reason)

        return await self.engine.write(write)

    async def request_cancel(self, execution_id: str) -> tuple[ExecutionStatus, list[Event]]:
        lock = self._for_update()

        def write(connection: Connection) -> tuple[ExecutionStatus, list[Event]]:
            found = rows(
                connection,
                f"SELECT status, leaseExpiresAt FROM workflow_executions WHERE id = ?{lock}",
                (execution_id,),
            )
            if not found:
                raise NotFound(f"No execution with id {execution_id!r}")
            status = ExecutionStatus(found[0]["status"])
            if status is ExecutionStatus.CANCELLED:
                return status, []
            if status.terminal:
                raise Conflict(f"Execution {execution_id} has already {status.value}; only a live one can be cancelled")
            lease_live = (found[0]["leaseExpiresAt"] or 0) > time.time()
            if status is ExecutionStatus.RUNNING and lease_live:
                connection.execute("UPDATE workflow_executions SET cancelRequested = 1 WHERE id = ?", (execution_id,))
                return status, []
            event = self._stop(connection, execution_id, None, ExecutionStatus.CANCELLED, "Cancelled by request")
            return ExecutionStatus.CANCELLED, [event]

        return await self.engine.write(write)

    async def resume_node(self, execution_id: str, node_id: str, body: Any) -> ExecutionStatus:
        lock = self._for_update()

        def write(connection: Connection) -> ExecutionStatus:
            execution = rows(connection, f"SELECT status FROM workflow_executions WHERE id = ?{lock}", (execution_id,))
            if not execution:
                raise NotFound(f"No execution with id {execution_id!r}")
            status = ExecutionStatus(execution[0]["status"])
            if status.terminal:
                raise Conflict(f"Execution {execution_id} has already {status.value}")
            node = rows(
                connection,
                "SELECT status, resumeAt FROM execution_logs WHERE executionId = ? AND nodeId = ?",
                (execution_id, node_id),
            )
            if not node or node[0]["status"] != "waiting" or node[0]["resumeAt"] is not None:
                raise Conflict(f"Node {node_id!r} is not waiting for a resume call")
            connection.execute(
                "UPDATE execution_logs SET status = 'resumed', outputData = ? WHERE executionId = ? AND nodeId = ?",
                (self._json(body), execution_id, node_id),
            )
            connection.execute(
                "UPDATE workflow_executions SET resumeAt = ? WHERE id = ? AND status = 'waiting'",
                (time.time(), execution_id),
            )
            return status

        return await self.engine.write(write)
