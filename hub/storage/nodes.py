"""Node state changes, written by the lease owner, each with its event in one transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from hub.events import Event, EventType, utc_now
from hub.storage._engine import Connection
from hub.storage.events import SqlEventLog


class SqlNodes(SqlEventLog):
    """The ``execution_logs`` rows of a running execution."""

    def node_started(
        self, execution_id: str, owner: str, node_id: str, node_type: str, label: str, attempt: int
    ) -> asyncio.Future[Event]:
        """Queues the node's start at once, so that the node need not wait for the commit (see Engine.submit)."""
        now = utc_now()

        def write(connection: Connection) -> Event:
            connection.execute(
                """INSERT INTO execution_logs (executionId, nodeId, nodeType, nodeLabel, status, timestamp,
                       startedAt, attempts)
                   VALUES (?, ?, ?, ?, 'running', ?, ?, ?)
                   ON CONFLICT (executionId, nodeId) DO UPDATE SET status = 'running', attempts = excluded.attempts,
                       startedAt = excluded.startedAt, error = NULL, resumeAt = NULL""",
                (execution_id, node_id, node_type, label, now, now, attempt),
            )
            return self._append(
                connection,
                execution_id,
                owner,
                EventType.NODE_STARTED,
                {"nodeType": node_type, "label": label, "attempt": attempt},
                node_id=node_id,
                sets=", currentNodeId = ?",
                parameters=(node_id,),
            )

        return self.engine.submit(write)

    async def node_event(
        self,
        execution_id: str,
        owner: str,
        node_id: str,
        event_type: EventType,
        data: Mapping[str, Any],
        *,
        attempts: int | None = None,
    ) -> Event:
        def write(connection: Connection) -> Event:
            if attempts is not None:
                connection.execute(
                    "UPDATE execution_logs SET attempts = ? WHERE executionId = ? AND nodeId = ?",
                    (attempts, execution_id, node_id),
                )
            return self._append(connection, execution_id, owner, event_type, data, node_id=node_id)

        return await self.engine.write(write)

    def node_completed(
        self,
        execution_id: str,
        owner: str,
        node_id: str,
        *,
        output_json: str,
        branch: str | None,
        message: str,
        duration: float,
        data: Mapping[str, Any],
    ) -> asyncio.Future[Event]:
        """Queues the node's completion at once (see Engine.submit). The output comes as JSON, made when the
        node ended; ``data`` is read when the write runs, so it must not change meanwhile."""
        now = utc_now()

        def write(connection: Connection) -> Event:
            connection.execute(
                """UPDATE execution_logs SET status = 'completed', message = ?, duration = ?, completedAt = ?,
                       outputData = ?, branch = ?, error = NULL, resumeAt = NULL
                   WHERE executionId = ? AND nodeId = ?""",
                (self._text(message), duration, now, self._redact(output_json), branch, execution_id, node_id),
            )
            return self._append(
                connection,
                execution_id,
                owner,
                EventType.NODE_COMPLETED,
                data,
                node_id=node_id,
                sets=", completedNodes = completedNodes + 1",
                with_progress=True,
            )

        return self.engine.submit(write)

    async def node_failed(
        self,
        execution_id: str,
        owner: str,
        node_id: str,
        *,
        error: str,
        duration: float,
        data: Mapping[str, Any],
        status: str = "failed",
    ) -> Event:
        now = utc_now()

        def write(connection: Connection) -> Event:
            connection.execute(
                """UPDATE execution_logs SET status = ?, message = ?, error = ?, duration = ?, completedAt = ?
                   WHERE executionId = ? AND nodeId = ?""",
                (status, self._text(error), self._text(error), duration, now, execution_id, node_id),
            )
            counter = ", failedNodes = failedNodes + 1" if status == "failed" else ""
            return self._append(
                connection,
                execution_id,
                owner,
                EventType.NODE_FAILED,
                data,
                node_id=node_id,
                sets=counter,
                with_progress=True,
            )

        return await self.engine.write(write)

    async def nodes_skipped(
        self, execution_id: str, owner: str, nodes: Sequence[tuple[str, str, str]], reason: str
    ) -> list[Event]:
        now = utc_now()

        def write(connection: Connection) -> list[Event]:
            events = []
            for node_id, node_type, label in nodes:
                connection.execute(
                    """INSERT INTO execution_logs (executionId, nodeId, nodeType, nodeLabel, status, message,
                           timestamp, duration)
                       VALUES (?, ?, ?, ?, 'skipped', ?, ?, 0)
                       ON CONFLICT (executionId, nodeId)
                       DO UPDATE SET status = 'skipped', message = excluded.message""",
                    (execution_id, node_id, node_type, label, reason, now),
                )
                events.append(
                    self._append(
                        connection,
                        execution_id,
                        owner,
                        EventType.NODE_SKIPPED,
                        {"nodeType": node_type, "label": label, "reason": reason},
                        node_id=node_id,
                        sets=", skippedNodes = skippedNodes + 1",
                        with_progress=True,
                    )
                )
            return events

        return await self.engine.write(write)

    async def node_waiting(
        self, execution_id: str, owner: str, node_id: str, resume_at: float | None, data: Mapping[str, Any]
    ) -> Event:
        def write(connection: Connection) -> Event:
            connection.execute(
                "UPDATE execution_logs SET status = 'waiting', resumeAt = ? WHERE executionId = ? AND nodeId = ?",
                (resume_at, execution_id, node_id),
            )
            return self._append(connection, execution_id, owner, EventType.NODE_WAITING, data, node_id=node_id)

        return await self.engine.write(write)
