"""The event log: every state change goes through ``_append``, which takes the execution's next seq.

The seq comes from the execution row's ``lastSeq``, raised in the same statement that applies the
change, so seqs are gapless whoever writes. A write with an owner only touches a row leased to that
owner; any other worker's write raises ``LeaseLost``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.errors import LeaseLost, NotFound
from hub.events import Event, EventType, utc_now
from hub.storage import views
from hub.storage._base import Tables
from hub.storage._engine import Connection, Row

_EVENT_LIMIT = 1000


def event_of(execution_id: str, row: Row) -> Event:
    wire = Event.wire(execution_id, row["seq"], row["type"], row["nodeId"], row["timestamp"], row["data"])
    return Event(execution_id, row["seq"], row["type"], row["nodeId"], row["timestamp"], wire)


class SqlEventLog(Tables):
    """Reading events after a cursor, and the one event write."""

    async def events_after(self, execution_id: str, after: int, limit: int = _EVENT_LIMIT) -> list[Event]:
        rows = await self.engine.fetch_all(
            """SELECT seq, type, nodeId, timestamp, data FROM execution_events
               WHERE executionId = ? AND seq > ? ORDER BY seq LIMIT ?""",
            (execution_id, after, limit),
        )
        return [event_of(execution_id, row) for row in rows]

    async def last_seqs(self, execution_ids: list[str]) -> dict[str, int]:
        if not execution_ids:
            return {}
        marks = ", ".join("?" * len(execution_ids))
        rows = await self.engine.fetch_all(
            f"SELECT id, lastSeq FROM workflow_executions WHERE id IN ({marks})", execution_ids
        )
        return {row["id"]: row["lastSeq"] for row in rows}

    async def append_event(
        self,
        execution_id: str,
        event_type: EventType,
        data: Mapping[str, Any],
        *,
        owner: str | None = None,
        node_id: str | None = None,
    ) -> Event:
        def write(connection: Connection) -> Event:
            return self._append(connection, execution_id, owner, event_type, data, node_id=node_id)

        return await self.engine.write(write)

    def _append(
        self,
        connection: Connection,
        execution_id: str,
        owner: str | None,
        event_type: EventType,
        data: Mapping[str, Any],
        *,
        node_id: str | None = None,
        sets: str = "",
        parameters: Sequence[Any] = (),
        with_progress: bool = False,
    ) -> Event:
        """Applies ``sets`` to the execution row, takes the next seq, and stores the event."""
        timestamp = utc_now()
        guard = " AND leaseOwner = ?" if owner is not None else ""
        cursor = connection.execute(
            f"""UPDATE workflow_executions SET lastSeq = lastSeq + 1, updatedAt = ?{sets}
                WHERE id = ?{guard}
                RETURNING lastSeq, status, totalNodes, completedNodes, failedNodes, skippedNodes""",
            (timestamp, *parameters, execution_id, *((owner,) if owner is not None else ())),
        )
        row = cursor.fetchone()
        if row is None:
            if owner is not None:
                raise LeaseLost(f"execution {execution_id} is no longer leased to {owner}")
            raise NotFound(f"No execution with id {execution_id!r}")
        if with_progress:
            data = {**data, "progress": views.progress(row)}
        payload = self._json(data)
        seq = row["lastSeq"]
        connection.execute(
            "INSERT INTO execution_events (executionId, seq, type, nodeId, timestamp, data) VALUES (?, ?, ?, ?, ?, ?)",
            (execution_id, seq, event_type.value, node_id, timestamp, payload),
        )
        wire = Event.wire(execution_id, seq, event_type.value, node_id, timestamp, payload)
        return Event(execution_id, seq, event_type.value, node_id, timestamp, wire)
