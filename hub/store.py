"""The durable record of workflows, executions, node runs and events (SQLite, shared by hub and workers).

Table and column names are those of the system this hub replaces, so its queries run unchanged.
Every state change is written together with its event in one transaction; the event's seq comes from
the execution row's ``lastSeq``, so seqs are gapless whoever writes. Writes made by a worker carry its
lease owner and fail with ``LeaseLost`` when another worker has taken the execution over.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hub import _views, outbox, push
from hub.database import Database
from hub.errors import Conflict, LeaseLost, NotFound
from hub.events import Event, EventType, ExecutionStatus, dumps, loads, utc_now
from hub.redaction import Redactor
from hub.workflow import Workflow

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS workflows (
        id TEXT PRIMARY KEY,
        organizationId TEXT,
        name TEXT,
        definition TEXT NOT NULL,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS workflow_executions (
        id TEXT PRIMARY KEY,
        workflowId TEXT NOT NULL,
        workflowName TEXT,
        organizationId TEXT,
        status TEXT NOT NULL,
        currentNodeId TEXT,
        totalNodes INTEGER NOT NULL DEFAULT 0,
        completedNodes INTEGER NOT NULL DEFAULT 0,
        failedNodes INTEGER NOT NULL DEFAULT 0,
        skippedNodes INTEGER NOT NULL DEFAULT 0,
        workflow TEXT NOT NULL,
        inputs TEXT,
        triggerData TEXT,
        engine TEXT NOT NULL,
        finalOutput TEXT,
        error TEXT,
        createdAt TEXT NOT NULL,
        startedAt TEXT,
        completedAt TEXT,
        updatedAt TEXT NOT NULL,
        lastSeq INTEGER NOT NULL DEFAULT 0,
        leaseOwner TEXT,
        leaseExpiresAt REAL,
        cancelRequested INTEGER NOT NULL DEFAULT 0,
        resumeAt REAL,
        maxDurationSeconds REAL,
        deadlineAt REAL,
        retryOf TEXT,
        callbackUrl TEXT,
        jobId TEXT,
        recoveries INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS ix_executions_created ON workflow_executions (createdAt)",
    "CREATE INDEX IF NOT EXISTS ix_executions_workflow ON workflow_executions (workflowId, createdAt)",
    "CREATE INDEX IF NOT EXISTS ix_executions_status ON workflow_executions (status, leaseExpiresAt)",
    """CREATE TABLE IF NOT EXISTS execution_logs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        executionId TEXT NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
        nodeId TEXT NOT NULL,
        nodeType TEXT NOT NULL,
        nodeLabel TEXT,
        status TEXT NOT NULL,
        message TEXT,
        duration REAL,
        timestamp TEXT NOT NULL,
        startedAt TEXT,
        completedAt TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        outputData TEXT,
        branch TEXT,
        error TEXT,
        resumeAt REAL,
        UNIQUE (executionId, nodeId))""",
    """CREATE TABLE IF NOT EXISTS execution_events (
        executionId TEXT NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        type TEXT NOT NULL,
        nodeId TEXT,
        timestamp TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (executionId, seq)) WITHOUT ROWID""",
)

_EVENT_LIMIT = 1000
_LIVE_STATUSES = ("pending", "running", "waiting")


@dataclass(frozen=True, slots=True)
class NewExecution:
    """What the hub knows about an execution when it is created."""

    workflow: Workflow
    organization_id: str | None
    inputs: Mapping[str, Any]
    trigger_data: Any
    engine: str
    max_duration_seconds: float | None = None
    callback_url: str | None = None
    retry_of: str | None = None


@dataclass(frozen=True, slots=True)
class NodeState:
    """A node's stored state, as a worker resuming an execution needs it."""

    status: str
    output: Any = None
    branch: str | None = None
    resume_at: float | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class RunState:
    """Everything a worker needs to run (or resume) an execution."""

    execution_id: str
    workflow: dict[str, Any]
    organization_id: str | None
    inputs: dict[str, Any]
    trigger_data: Any
    engine: str
    deadline_at: float | None
    nodes: dict[str, NodeState] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Claim:
    """A worker's successful claim: the events it produced and whether it took over from another worker."""

    events: list[Event]
    recovered: bool = False
    resumed: bool = False
    runnable: bool = True
    previous_job_id: str | None = None


@dataclass(frozen=True, slots=True)
class Renewal:
    alive: bool
    cancel_requested: bool


@dataclass(frozen=True, slots=True)
class Sweep:
    """Executions that need a worker's attention: ``(execution id, reason)`` pairs."""

    expired_leases: list[tuple[str, float]]
    due_waits: list[tuple[str, float]]
    stale_pending: list[str]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ExecutionStore:
    """Workflows, executions, node runs and events in the shared SQLite file."""

    def __init__(self, database: Database, redactor: Redactor | None = None) -> None:
        self.db = database
        self._redact = redactor or Redactor(())

    async def migrate(self) -> None:
        await self.db.migrate((*SCHEMA, *outbox.SCHEMA, *push.SCHEMA))

    def _json(self, value: Any) -> str:
        return self._redact(dumps(value))

    def _text(self, value: str | None) -> str | None:
        return None if value is None else self._redact(value)

    # -- workflows ---------------------------------------------------------------------------------------

    async def put_workflow(self, workflow: Workflow, organization_id: str | None) -> dict[str, Any]:
        now = utc_now()

        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                """INSERT INTO workflows (id, organizationId, name, definition, createdAt, updatedAt)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET organizationId = excluded.organizationId,
                       name = excluded.name, definition = excluded.definition, updatedAt = excluded.updatedAt""",
                (workflow.id, organization_id, workflow.name, dumps(workflow.to_dict()), now, now),
            )

        await self.db.write(upsert)
        stored = await self.get_workflow(workflow.id)
        assert stored is not None
        return stored

    async def get_workflow(self, workflow_id: str) -> dict[str, Any] | None:
        row = await self.db.fetch_one("SELECT * FROM workflows WHERE id = ?", (workflow_id,))
        if row is None:
            return None
        definition = loads(row["definition"])
        return {
            **definition,
            "organizationId": row["organizationId"],
            "createdAt": row["createdAt"],
            "updatedAt": row["updatedAt"],
        }

    # -- creating and reading executions -----------------------------------------------------------------

    async def create_execution(self, new: NewExecution, seeded: Mapping[str, NodeState] | None = None) -> str:
        """Inserts a pending execution (and, for a retry, the node results it reuses); returns its id."""
        execution_id = str(uuid.uuid4())
        now = utc_now()
        workflow = new.workflow

        def insert(connection: sqlite3.Connection) -> None:
            connection.execute(
                """INSERT INTO workflow_executions (id, workflowId, workflowName, organizationId, status,
                       totalNodes, workflow, inputs, triggerData, engine, createdAt, updatedAt,
                       maxDurationSeconds, retryOf, callbackUrl)
                   VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    execution_id,
                    workflow.id,
                    workflow.name,
                    new.organization_id,
                    len(workflow.nodes),
                    dumps(workflow.to_dict()),
                    self._json(new.inputs),
                    self._json(new.trigger_data),
                    new.engine,
                    now,
                    now,
                    new.max_duration_seconds,
                    new.retry_of,
                    new.callback_url,
                ),
            )
            for node_id, state in (seeded or {}).items():
                node = workflow.by_id[node_id]
                connection.execute(
                    """INSERT INTO execution_logs (executionId, nodeId, nodeType, nodeLabel, status, message,
                           timestamp, outputData, branch, attempts)
                       VALUES (?, ?, ?, ?, ?, 'Reused from the earlier execution', ?, ?, ?, 0)""",
                    (
                        execution_id,
                        node_id,
                        node.type,
                        node.label,
                        state.status,
                        now,
                        self._json(state.output),
                        state.branch,
                    ),
                )
            if seeded:
                connection.execute(
                    "UPDATE workflow_executions SET completedNodes = ? WHERE id = ?", (len(seeded), execution_id)
                )

        await self.db.write(insert)
        return execution_id

    async def execution(self, execution_id: str) -> dict[str, Any]:
        """The ``GET /api/executions/{id}`` body, read in one snapshot so ``lastSeq`` matches the state."""
        async with self.db.snapshot() as connection:
            rows = list(
                await connection.execute_fetchall("SELECT * FROM workflow_executions WHERE id = ?", (execution_id,))
            )
            if not rows:
                raise NotFound(f"No execution with id {execution_id!r}")
            node_rows = await connection.execute_fetchall(
                "SELECT * FROM execution_logs WHERE executionId = ? ORDER BY timestamp, id", (execution_id,)
            )
        return _views.execution_detail(rows[0], node_rows)

    async def status(self, execution_id: str) -> ExecutionStatus:
        row = await self.db.fetch_one("SELECT status FROM workflow_executions WHERE id = ?", (execution_id,))
        if row is None:
            raise NotFound(f"No execution with id {execution_id!r}")
        return ExecutionStatus(row["status"])

    async def list_executions(
        self, *, workflow_id: str | None, status: str | None, organization_id: str | None, limit: int
    ) -> list[dict[str, Any]]:
        clauses, parameters = [], []
        for column, value in (("workflowId", workflow_id), ("status", status), ("organizationId", organization_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                parameters.append(value)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.db.fetch_all(
            f"SELECT * FROM workflow_executions {where} ORDER BY createdAt DESC, rowid DESC LIMIT ?",
            (*parameters, limit),
        )
        return [_views.execution_summary(row) for row in rows]

    async def events_after(self, execution_id: str, after: int, limit: int = _EVENT_LIMIT) -> list[Event]:
        rows = await self.db.fetch_all(
            """SELECT seq, type, nodeId, timestamp, data FROM execution_events
               WHERE executionId = ? AND seq > ? ORDER BY seq LIMIT ?""",
            (execution_id, after, limit),
        )
        return [_event(execution_id, row) for row in rows]

    async def last_seqs(self, execution_ids: list[str]) -> dict[str, int]:
        """The stored ``lastSeq`` of each execution (unknown ids are left out)."""
        marks = ", ".join("?" * len(execution_ids))
        rows = await self.db.fetch_all(
            f"SELECT id, lastSeq FROM workflow_executions WHERE id IN ({marks})", execution_ids
        )
        return {row["id"]: row["lastSeq"] for row in rows}

    async def node_output(self, execution_id: str, node_id: str) -> Any:
        row = await self.db.fetch_one(
            "SELECT outputData, status FROM execution_logs WHERE executionId = ? AND nodeId = ?",
            (execution_id, node_id),
        )
        if row is None:
            raise NotFound(f"Node {node_id!r} has not run in execution {execution_id!r}")
        return loads(row["outputData"])

    async def completed_nodes(self, execution_id: str) -> dict[str, NodeState]:
        """The nodes of an execution that completed, for a retry to reuse (skipped ones are decided again)."""
        rows = await self.db.fetch_all(
            """SELECT nodeId, status, outputData, branch FROM execution_logs
               WHERE executionId = ? AND status = 'completed'""",
            (execution_id,),
        )
        return {row["nodeId"]: NodeState(row["status"], loads(row["outputData"]), row["branch"]) for row in rows}

    async def run_parameters(self, execution_id: str) -> dict[str, Any]:
        """What an execution was started with, so that a retry can start the same way."""
        row = await self.db.fetch_one("SELECT * FROM workflow_executions WHERE id = ?", (execution_id,))
        if row is None:
            raise NotFound(f"No execution with id {execution_id!r}")
        return {
            "status": row["status"],
            "workflow": loads(row["workflow"]),
            "organizationId": row["organizationId"],
            "inputs": loads(row["inputs"]) or {},
            "triggerData": loads(row["triggerData"]),
            "engine": row["engine"],
            "maxDurationSeconds": row["maxDurationSeconds"],
            "callbackUrl": row["callbackUrl"],
        }

    # -- the event write, which every state change goes through ------------------------------------------

    def _append(
        self,
        connection: sqlite3.Connection,
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
            data = {**data, "progress": _views.progress(row)}
        payload = self._json(data)
        connection.execute(
            "INSERT INTO execution_events (executionId, seq, type, nodeId, timestamp, data) VALUES (?, ?, ?, ?, ?, ?)",
            (execution_id, row["lastSeq"], event_type.value, node_id, timestamp, payload),
        )
        return Event(
            execution_id,
            row["lastSeq"],
            event_type.value,
            node_id,
            timestamp,
            Event.wire(execution_id, row["lastSeq"], event_type.value, node_id, timestamp, payload),
        )

    async def append_event(
        self,
        execution_id: str,
        event_type: EventType,
        data: Mapping[str, Any],
        *,
        owner: str | None = None,
        node_id: str | None = None,
    ) -> Event:
        """Stores an event that changes no state (a log line, progress, a delivery attempt)."""

        def write(connection: sqlite3.Connection) -> Event:
            return self._append(connection, execution_id, owner, event_type, data, node_id=node_id)

        return await self.db.write(write)

    # -- leases ------------------------------------------------------------------------------------------

    async def claim(
        self,
        execution_id: str,
        owner: str,
        lease_seconds: float,
        *,
        job_id: str | None = None,
        max_recoveries: int = 5,
    ) -> Claim | None:
        """Takes the lease on a runnable execution. ``None`` when it is finished, owned, or not yet due.

        An execution whose workers died ``max_recoveries`` times in a row is failed instead of run again,
        so that one that kills every worker cannot loop forever.
        """

        def write(connection: sqlite3.Connection) -> Claim | None:
            rows = list(
                _rows(
                    connection,
                    """SELECT status, leaseOwner, leaseExpiresAt, cancelRequested, resumeAt, startedAt,
                          maxDurationSeconds, deadlineAt, workflowId, totalNodes, engine, jobId, recoveries
                   FROM workflow_executions WHERE id = ?""",
                    (execution_id,),
                )
            )
            if not rows:
                return None
            row = rows[0]
            status = ExecutionStatus(row["status"])
            now = time.time()
            if status.terminal:
                return None
            if status is ExecutionStatus.RUNNING and row["leaseOwner"] not in (None, owner):
                if (row["leaseExpiresAt"] or 0) > now:
                    return None
            if status is ExecutionStatus.WAITING and (row["resumeAt"] is None or row["resumeAt"] > now):
                return None
            if row["cancelRequested"]:
                reason = "Cancelled before it resumed"
                event = self._stop(connection, execution_id, None, ExecutionStatus.CANCELLED, reason)
                return Claim([event], runnable=False)
            recovering = status is ExecutionStatus.RUNNING and row["leaseOwner"] not in (None, owner)
            if recovering and row["recoveries"] >= max_recoveries:
                reason = f"Gave up after its worker stopped {row['recoveries'] + 1} times while running it"
                event = self._stop(connection, execution_id, None, ExecutionStatus.FAILED, reason)
                return Claim([event], runnable=False, previous_job_id=row["jobId"])
            deadline = row["deadlineAt"]
            if deadline is None and row["maxDurationSeconds"] is not None:
                deadline = now + row["maxDurationSeconds"]
            sets = """, status = 'running', leaseOwner = ?, leaseExpiresAt = ?, resumeAt = NULL, deadlineAt = ?,
                      jobId = ?, recoveries = recoveries + ?"""
            parameters: list[Any] = [owner, now + lease_seconds, deadline, job_id, int(recovering)]
            if status is ExecutionStatus.PENDING:
                event_type = EventType.EXECUTION_STARTED
                data: dict[str, Any] = {
                    "workflowId": row["workflowId"],
                    "totalNodes": row["totalNodes"],
                    "engine": row["engine"],
                    "worker": owner,
                }
                sets += ", startedAt = ?"
                parameters.append(utc_now())
            elif status is ExecutionStatus.WAITING:
                event_type, data = EventType.EXECUTION_RESUMED, {"worker": owner}
            else:
                event_type = EventType.EXECUTION_RECOVERED
                data = {"worker": owner, "previousWorker": row["leaseOwner"]}
            event = self._append(
                connection, execution_id, None, event_type, data, sets=sets, parameters=parameters, with_progress=True
            )
            return Claim(
                [event],
                recovered=status is ExecutionStatus.RUNNING,
                resumed=status is ExecutionStatus.WAITING,
                previous_job_id=row["jobId"] if recovering else None,
            )

        return await self.db.write(write)

    async def renew(self, execution_id: str, owner: str, lease_seconds: float) -> Renewal:
        def write(connection: sqlite3.Connection) -> Renewal:
            rows = list(
                _rows(
                    connection,
                    """UPDATE workflow_executions SET leaseExpiresAt = ?
                   WHERE id = ? AND leaseOwner = ? AND status = 'running' RETURNING cancelRequested""",
                    (time.time() + lease_seconds, execution_id, owner),
                )
            )
            return Renewal(bool(rows), bool(rows and rows[0]["cancelRequested"]))

        return await self.db.write(write)

    async def hand_back(self, execution_id: str, owner: str, reason: str) -> list[Event]:
        """Gives up the lease on a running execution so that another worker resumes it at once."""

        def write(connection: sqlite3.Connection) -> list[Event]:
            event = self._append(
                connection,
                execution_id,
                owner,
                EventType.LOG,
                {"level": "warning", "message": reason},
                sets=", leaseOwner = NULL, leaseExpiresAt = 0",
            )
            return [event]

        return await self.db.write(write)

    async def load_run_state(self, execution_id: str) -> RunState:
        async with self.db.snapshot() as connection:
            rows = list(
                await connection.execute_fetchall("SELECT * FROM workflow_executions WHERE id = ?", (execution_id,))
            )
            if not rows:
                raise NotFound(f"No execution with id {execution_id!r}")
            node_rows = await connection.execute_fetchall(
                """SELECT nodeId, status, outputData, branch, resumeAt, attempts
                   FROM execution_logs WHERE executionId = ?""",
                (execution_id,),
            )
        row = rows[0]
        nodes = {
            node["nodeId"]: NodeState(
                node["status"], loads(node["outputData"]), node["branch"], node["resumeAt"], node["attempts"]
            )
            for node in node_rows
        }
        return RunState(
            execution_id=execution_id,
            workflow=loads(row["workflow"]),
            organization_id=row["organizationId"],
            inputs=loads(row["inputs"]) or {},
            trigger_data=loads(row["triggerData"]),
            engine=row["engine"],
            deadline_at=row["deadlineAt"],
            nodes=nodes,
        )

    # -- node state changes, written by the lease owner --------------------------------------------------

    def node_started(
        self, execution_id: str, owner: str, node_id: str, node_type: str, label: str, attempt: int
    ) -> asyncio.Future[Event]:
        """Queues the node's start at once, so that the node need not wait for the commit (see Database.submit)."""
        now = utc_now()

        def write(connection: sqlite3.Connection) -> Event:
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

        return self.db.submit(write)

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
        """A node event that changes no counters: progress, log, retrying, timeout."""

        def write(connection: sqlite3.Connection) -> Event:
            if attempts is not None:
                connection.execute(
                    "UPDATE execution_logs SET attempts = ? WHERE executionId = ? AND nodeId = ?",
                    (attempts, execution_id, node_id),
                )
            return self._append(connection, execution_id, owner, event_type, data, node_id=node_id)

        return await self.db.write(write)

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
        """Queues the node's completion at once (see Database.submit). The output comes as JSON, made when the
        node ended; ``data`` is read when the write runs, so it must not change meanwhile."""
        now = utc_now()

        def write(connection: sqlite3.Connection) -> Event:
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

        return self.db.submit(write)

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

        def write(connection: sqlite3.Connection) -> Event:
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

        return await self.db.write(write)

    async def nodes_skipped(
        self, execution_id: str, owner: str, nodes: Sequence[tuple[str, str, str]], reason: str
    ) -> list[Event]:
        """Marks ``(node id, type, label)`` nodes skipped, one event each, in one transaction."""
        now = utc_now()

        def write(connection: sqlite3.Connection) -> list[Event]:
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

        return await self.db.write(write)

    async def node_waiting(
        self, execution_id: str, owner: str, node_id: str, resume_at: float | None, data: Mapping[str, Any]
    ) -> Event:
        def write(connection: sqlite3.Connection) -> Event:
            connection.execute(
                "UPDATE execution_logs SET status = 'waiting', resumeAt = ? WHERE executionId = ? AND nodeId = ?",
                (resume_at, execution_id, node_id),
            )
            return self._append(connection, execution_id, owner, EventType.NODE_WAITING, data, node_id=node_id)

        return await self.db.write(write)

    async def park(self, execution_id: str, owner: str) -> list[Event]:
        """Ends a run whose remaining nodes all wait: releases the lease and sets ``waiting``.

        Returns no events when a waiting node became due in the meantime (a resume call arrived while
        other branches still ran): the caller then keeps running instead of parking.
        """

        def write(connection: sqlite3.Connection) -> list[Event]:
            rows = list(
                _rows(
                    connection,
                    """SELECT min(CASE WHEN status = 'resumed' THEN 0 ELSE resumeAt END) AS due
                   FROM execution_logs WHERE executionId = ? AND status IN ('waiting', 'resumed')""",
                    (execution_id,),
                )
            )
            due = rows[0]["due"] if rows else None
            if due is not None and due <= time.time():
                return []
            event = self._append(
                connection,
                execution_id,
                owner,
                EventType.EXECUTION_WAITING,
                {"resumeAt": _iso(due) if due is not None else None},
                sets=""", status = 'waiting', leaseOwner = NULL, leaseExpiresAt = NULL, resumeAt = ?,
                          currentNodeId = NULL""",
                parameters=(due,),
                with_progress=True,
            )
            return [event]

        return await self.db.write(write)

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
        """Moves an execution to a terminal state and releases its lease."""
        event_type = {
            ExecutionStatus.COMPLETED: EventType.EXECUTION_COMPLETED,
            ExecutionStatus.FAILED: EventType.EXECUTION_FAILED,
            ExecutionStatus.CANCELLED: EventType.EXECUTION_CANCELLED,
        }[status]

        def write(connection: sqlite3.Connection) -> Event:
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
            outbox.enqueue_deliveries(connection, execution_id)
            return event

        return await self.db.write(write)

    # -- requests from the API ---------------------------------------------------------------------------

    def _stop(
        self,
        connection: sqlite3.Connection,
        execution_id: str,
        owner: str | None,
        status: ExecutionStatus,
        reason: str,
    ) -> Event:
        """Ends an execution early (cancelled, or failed past its deadline); nodes in flight become cancelled."""
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
        outbox.enqueue_deliveries(connection, execution_id)
        return event

    async def stop(self, execution_id: str, owner: str, status: ExecutionStatus, reason: str) -> Event:
        """A worker ends the execution it owns early: on a cancel request, or past its deadline."""

        def write(connection: sqlite3.Connection) -> Event:
            return self._stop(connection, execution_id, owner, status, reason)

        return await self.db.write(write)

    async def request_cancel(self, execution_id: str) -> tuple[ExecutionStatus, list[Event]]:
        """Cancels at once what no worker runs; flags a running execution for its worker to stop."""

        def write(connection: sqlite3.Connection) -> tuple[ExecutionStatus, list[Event]]:
            rows = list(
                _rows(
                    connection, "SELECT status, leaseExpiresAt FROM workflow_executions WHERE id = ?", (execution_id,)
                )
            )
            if not rows:
                raise NotFound(f"No execution with id {execution_id!r}")
            status = ExecutionStatus(rows[0]["status"])
            if status is ExecutionStatus.CANCELLED:
                return status, []
            if status.terminal:
                raise Conflict(f"Execution {execution_id} has already {status.value}; only a live one can be cancelled")
            lease_live = (rows[0]["leaseExpiresAt"] or 0) > time.time()
            if status is ExecutionStatus.RUNNING and lease_live:
                connection.execute("UPDATE workflow_executions SET cancelRequested = 1 WHERE id = ?", (execution_id,))
                return status, []
            event = self._stop(connection, execution_id, None, ExecutionStatus.CANCELLED, "Cancelled by request")
            return ExecutionStatus.CANCELLED, [event]

        return await self.db.write(write)

    async def resume_node(self, execution_id: str, node_id: str, body: Any) -> ExecutionStatus:
        """Records the call a waiting webhook node was waiting for; its body becomes the node's output."""

        def write(connection: sqlite3.Connection) -> ExecutionStatus:
            rows = list(
                _rows(
                    connection,
                    """SELECT e.status, l.status AS nodeStatus, l.resumeAt FROM workflow_executions e
                   LEFT JOIN execution_logs l ON l.executionId = e.id AND l.nodeId = ?
                   WHERE e.id = ?""",
                    (node_id, execution_id),
                )
            )
            if not rows:
                raise NotFound(f"No execution with id {execution_id!r}")
            status = ExecutionStatus(rows[0]["status"])
            if status.terminal:
                raise Conflict(f"Execution {execution_id} has already {status.value}")
            if rows[0]["nodeStatus"] != "waiting" or rows[0]["resumeAt"] is not None:
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

        return await self.db.write(write)

    async def fail_overdue(self) -> list[Event]:
        """Fails executions that no worker runs and whose ``maxDurationSeconds`` has passed."""
        now = time.time()
        rows = await self.db.fetch_all(
            "SELECT id FROM workflow_executions WHERE status = 'waiting' AND deadlineAt < ?", (now,)
        )
        events = []
        for row in rows:

            def write(connection: sqlite3.Connection, execution_id: str = row["id"]) -> Event | None:
                current = list(
                    _rows(
                        connection,
                        "SELECT status FROM workflow_executions WHERE id = ? AND status = 'waiting'",
                        (execution_id,),
                    )
                )
                if not current:
                    return None
                event = self._append(
                    connection,
                    execution_id,
                    None,
                    EventType.EXECUTION_FAILED,
                    {"error": "The execution ran longer than its maxDurationSeconds"},
                    sets=""", status = 'failed', completedAt = ?, error = ?, resumeAt = NULL""",
                    parameters=(utc_now(), "The execution ran longer than its maxDurationSeconds"),
                    with_progress=True,
                )
                outbox.enqueue_deliveries(connection, execution_id)
                return event

            event = await self.db.write(write)
            if event is not None:
                events.append(event)
        return events

    async def sweep(self, pending_older_than: float) -> Sweep:
        now = time.time()
        expired = await self.db.fetch_all(
            "SELECT id, leaseExpiresAt FROM workflow_executions WHERE status = 'running' AND leaseExpiresAt < ?",
            (now,),
        )
        due = await self.db.fetch_all(
            "SELECT id, resumeAt FROM workflow_executions WHERE status = 'waiting' AND resumeAt <= ?", (now,)
        )
        pending = await self.db.fetch_all(
            "SELECT id FROM workflow_executions WHERE status = 'pending' AND createdAt < ?",
            (_iso(now - pending_older_than),),
        )
        return Sweep(
            [(row["id"], row["leaseExpiresAt"]) for row in expired],
            [(row["id"], row["resumeAt"]) for row in due],
            [row["id"] for row in pending],
        )


def _rows(connection: sqlite3.Connection, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
    return connection.execute(sql, parameters).fetchall()


def _event(execution_id: str, row: sqlite3.Row) -> Event:
    wire = Event.wire(execution_id, row["seq"], row["type"], row["nodeId"], row["timestamp"], row["data"])
    return Event(execution_id, row["seq"], row["type"], row["nodeId"], row["timestamp"], wire)
