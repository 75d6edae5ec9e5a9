"""Leases: claiming an execution, renewing, handing back, parking and finishing.

``decide_claim`` is the whole claim policy as a pure function of the execution row; ``claim`` reads the
row under a lock (SQLite's write transaction; ``FOR UPDATE`` on PostgreSQL, so two workers claiming
at once are serialised on the row and the second sees the first one's lease) and applies the decision.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from hub.events import Event, EventType, ExecutionStatus, utc_now
from hub.storage._base import iso
from hub.storage._engine import Connection, Row, rows
from hub.storage.contract import Claim, Renewal
from hub.storage.control import SqlControl
from hub.storage.outbox import enqueue_deliveries

_CLAIM_COLUMNS = """status, leaseOwner, leaseExpiresAt, cancelRequested, resumeAt, startedAt, maxDurationSeconds,
    deadlineAt, workflowId, totalNodes, engine, jobId, recoveries"""


class ClaimAction(Enum):
    SKIP = "skip"
    CANCEL = "cancel"
    GIVE_UP = "give-up"
    RUN = "run"


@dataclass(frozen=True, slots=True)
class ClaimDecision:
    """What a claim does with the execution: nothing, end it, or take it (and as what)."""

    action: ClaimAction
    status: ExecutionStatus | None = None
    recovering: bool = False
    reason: str = ""


def decide_claim(row: Row | None, owner: str, now: float, max_recoveries: int) -> ClaimDecision:
    """The claim policy: terminal, live-leased and not-yet-due executions are skipped; a cancel requested
    meanwhile ends it; one whose workers died ``max_recoveries`` times in a row is failed."""
    if row is None:
        return ClaimDecision(ClaimAction.SKIP)
    status = ExecutionStatus(row["status"])
    if status.terminal:
        return ClaimDecision(ClaimAction.SKIP, status)
    foreign_owner = row["leaseOwner"] not in (None, owner)
    if status is ExecutionStatus.RUNNING and foreign_owner and (row["leaseExpiresAt"] or 0) > now:
        return ClaimDecision(ClaimAction.SKIP, status)
    if status is ExecutionStatus.WAITING and (row["resumeAt"] is None or row["resumeAt"] > now):
        return ClaimDecision(ClaimAction.SKIP, status)
    if row["cancelRequested"]:
        return ClaimDecision(ClaimAction.CANCEL, status, reason="Cancelled before it resumed")
    recovering = status is ExecutionStatus.RUNNING and foreign_owner
    if recovering and row["recoveries"] >= max_recoveries:
        reason = f"Gave up after its worker stopped {row['recoveries'] + 1} times while running it"
        return ClaimDecision(ClaimAction.GIVE_UP, status, recovering=True, reason=reason)
    return ClaimDecision(ClaimAction.RUN, status, recovering=recovering)


class SqlLeases(SqlControl):
    """The lease columns of ``workflow_executions``, and the run's endings that release them."""

    async def claim(
        self,
        execution_id: str,
        owner: str,
        lease_seconds: float,
        *,
        job_id: str | None = None,
        max_recoveries: int = 5,
    ) -> Claim | None:
        lock = self._for_update()

        def write(connection: Connection) -> Claim | None:
            found = rows(
                connection, f"SELECT {_CLAIM_COLUMNS} FROM workflow_executions WHERE id = ?{lock}", (execution_id,)
            )
            row = found[0] if found else None
            now = time.time()
            decision = decide_claim(row, owner, now, max_recoveries)
            if decision.action is ClaimAction.SKIP or row is None:
                return None
            if decision.action is ClaimAction.CANCEL:
                event = self._stop(connection, execution_id, None, ExecutionStatus.CANCELLED, decision.reason)
                return Claim([event], runnable=False)
            if decision.action is ClaimAction.GIVE_UP:
                event = self._stop(connection, execution_id, None, ExecutionStatus.FAILED, decision.reason)
                return Claim([event], runnable=False, previous_job_id=row["jobId"])
            return self._take(connection, execution_id, owner, now + lease_seconds, job_id, row, decision)

        return await self.engine.write(write)

    def _take(
        self,
        connection: Connection,
        execution_id: str,
        owner: str,
        expires_at: float,
        job_id: str | None,
        row: Row,
        decision: ClaimDecision,
    ) -> Claim:
        deadline = row["deadlineAt"]
        if deadline is None and row["maxDurationSeconds"] is not None:
            deadline = time.time() + row["maxDurationSeconds"]
        sets = """, status = 'running', leaseOwner = ?, leaseExpiresAt = ?, resumeAt = NULL, deadlineAt = ?,
                  jobId = ?, recoveries = recoveries + ?"""
        parameters: list[Any] = [owner, expires_at, deadline, job_id, int(decision.recovering)]
        if decision.status is ExecutionStatus.PENDING:
            event_type = EventType.EXECUTION_STARTED
            data: dict[str, Any] = {
                "workflowId": row["workflowId"],
                "totalNodes": row["totalNodes"],
                "engine": row["engine"],
                "worker": owner,
            }
            sets += ", startedAt = ?"
            parameters.append(utc_now())
        elif decision.status is ExecutionStatus.WAITING:
            event_type, data = EventType.EXECUTION_RESUMED, {"worker": owner}
        else:
            event_type = EventType.EXECUTION_RECOVERED
            data = {"worker": owner, "previousWorker": row["leaseOwner"]}
        event = self._append(
            connection, execution_id, None, event_type, data, sets=sets, parameters=parameters, with_progress=True
        )
        return Claim(
            [event],
            recovered=decision.status is ExecutionStatus.RUNNING,
            resumed=decision.status is ExecutionStatus.WAITING,
            previous_job_id=row["jobId"] if decision.recovering else None,
        )

    async def renew(self, execution_id: str, owner: str, lease_seconds: float) -> Renewal:
        def write(connection: Connection) -> Renewal:
            renewed = rows(
                connection,
                """UPDATE workflow_executions SET leaseExpiresAt = ?
                   WHERE id = ? AND leaseOwner = ? AND status = 'running' RETURNING cancelRequested""",
                (time.time() + lease_seconds, execution_id, owner),
            )
            return Renewal(bool(renewed), bool(renewed and renewed[0]["cancelRequested"]))

        return await self.engine.write(write)

    async def hand_back(self, execution_id: str, owner: str, reason: str) -> list[Event]:
        def write(connection: Connection) -> list[Event]:
            event = self._append(
                connection,
                execution_id,
                owner,
                EventType.LOG,
                {"level": "warning", "message": reason},
                sets=", leaseOwner = NULL, leaseExpiresAt = 0",
            )
            return [event]

        return await self.engine.write(write)

    async def park(self, execution_id: str, owner: str) -> list[Event]:
        """Ends a run whose remaining nodes all wait: releases the lease and sets ``waiting``.

        Returns no events when a waiting node became due in the meantime (a resume call arrived while
        other branches still ran): the caller then keeps running instead of parking.
        """

        def write(connection: Connection) -> list[Event]:
            found = rows(
                connection,
                """SELECT min(CASE WHEN status = 'resumed' THEN 0 ELSE resumeAt END) AS due
                   FROM execution_logs WHERE executionId = ? AND status IN ('waiting', 'resumed')""",
                (execution_id,),
            )
            due = found[0]["due"] if found else None
            if due is not None and due <= time.time():
                return []
            event = self._append(
                connection,
                execution_id,
                owner,
                EventType.EXECUTION_WAITING,
                {"resumeAt": iso(due) if due is not None else None},
                sets=""", status = 'waiting', leaseOwner = NULL, leaseExpiresAt = NULL, resumeAt = ?,
                          currentNodeId = NULL""",
                parameters=(due,),
                with_progress=True,
            )
            return [event]

        return await self.engine.write(write)

    async def finish(
        self,
        execution_id: str,
        owner: str | None,
        status: ExecutionStatus,
        *,
        final_output: Any = None,
        error: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Event:
        event_type = {
            ExecutionStatus.COMPLETED: EventType.EXECUTION_COMPLETED,
            ExecutionStatus.FAILED: EventType.EXECUTION_FAILED,
            ExecutionStatus.CANCELLED: EventType.EXECUTION_CANCELLED,
        }[status]

        def write(connection: Connection) -> Event:
            event = self._append(
                connection,
                execution_id,
                owner,
                event_type,
                data or {},
                sets=""", status = ?, completedAt = ?, finalOutput = ?, error = ?, leaseOwner = NULL,
                          leaseExpiresAt = NULL, resumeAt = NULL, currentNodeId = NULL""",
                parameters=(status.value, utc_now(), self._json(final_output), self._text(error)),
                with_progress=True,
            )
            enqueue_deliveries(connection, execution_id)
            return event

        return await self.engine.write(write)
