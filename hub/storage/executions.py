"""Executions as the API creates, lists and reads them, and the state a worker loads to run one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from hub.errors import NotFound
from hub.events import ExecutionStatus, dumps, loads, utc_now
from hub.storage import views
from hub.storage._base import Tables
from hub.storage._engine import Connection
from hub.storage.contract import IdempotencyKey, KeyedExecution, NewExecution, NodeState, RunState


class SqlExecutions(Tables):
    """Creating (with an idempotency key, if given) and reading ``workflow_executions`` rows and their
    ``execution_logs``."""

    async def create_execution(self, new: NewExecution, seeded: Mapping[str, NodeState] | None = None) -> str:
        execution_id = str(uuid.uuid4())
        await self.engine.write(lambda connection: self._insert_execution(connection, execution_id, new, seeded))
        return execution_id

    async def create_keyed_execution(self, new: NewExecution, key: IdempotencyKey) -> KeyedExecution:
        execution_id = str(uuid.uuid4())
        scope = key.organization_id or ""

        def write(connection: Connection) -> KeyedExecution:
            now = time.time()
            connection.execute("DELETE FROM idempotency_keys WHERE createdAt <= ?", (now - key.ttl_seconds,))
            # On PostgreSQL, a concurrent insert of the same key makes this wait for that transaction, then
            # do nothing: the winner's row is read below, and its execution is the only one.
            inserted = connection.execute(
                """INSERT INTO idempotency_keys (scope, idempotencyKey, fingerprint, executionId, createdAt)
                   VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, idempotencyKey) DO NOTHING""",
                (scope, key.key, key.fingerprint, execution_id, now),
            )
            if inserted.rowcount == 1:
                self._insert_execution(connection, execution_id, new, None)
                return KeyedExecution(execution_id, True, key.fingerprint)
            row = connection.execute(
                "SELECT executionId, fingerprint FROM idempotency_keys WHERE scope = ? AND idempotencyKey = ?",
                (scope, key.key),
            ).fetchone()
            return KeyedExecution(row["executionId"], False, row["fingerprint"])

        return await self.engine.write(write)

    def _insert_execution(
        self, connection: Connection, execution_id: str, new: NewExecution, seeded: Mapping[str, NodeState] | None
    ) -> None:
        now = utc_now()
        workflow = new.workflow
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

    async def execution(self, execution_id: str) -> dict[str, Any]:
        async with self.engine.snapshot() as reader:
            row = await reader.fetch_one("SELECT * FROM workflow_executions WHERE id = ?", (execution_id,))
            if row is None:
                raise NotFound(f"No execution with id {execution_id!r}")
            node_rows = await reader.fetch_all(
                "SELECT * FROM execution_logs WHERE executionId = ? ORDER BY timestamp, id", (execution_id,)
            )
        return views.execution_detail(row, node_rows)

    async def status(self, execution_id: str) -> ExecutionStatus:
        row = await self.engine.fetch_one("SELECT status FROM workflow_executions WHERE id = ?", (execution_id,))
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
        rows = await self.engine.fetch_all(
            f"SELECT * FROM workflow_executions {where} ORDER BY createdAt DESC, id DESC LIMIT ?",
            (*parameters, limit),
        )
        return [views.execution_summary(row) for row in rows]

    async def node_output(self, execution_id: str, node_id: str) -> Any:
        row = await self.engine.fetch_one(
            "SELECT outputData, status FROM execution_logs WHERE executionId = ? AND nodeId = ?",
            (execution_id, node_id),
        )
        if row is None:
            raise NotFound(f"Node {node_id!r} has not run in execution {execution_id!r}")
        return loads(row["outputData"])

    async def completed_nodes(self, execution_id: str) -> dict[str, NodeState]:
        rows = await self.engine.fetch_all(
            """SELECT nodeId, status, outputData, branch FROM execution_logs
               WHERE executionId = ? AND status = 'completed'""",
            (execution_id,),
        )
        return {row["nodeId"]: NodeState(row["status"], loads(row["outputData"]), row["branch"]) for row in rows}

    async def run_parameters(self, execution_id: str) -> dict[str, Any]:
        row = await self.engine.fetch_one("SELECT * FROM workflow_executions WHERE id = ?", (execution_id,))
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

    async def load_run_state(self, execution_id: str) -> RunState:
        async with self.engine.snapshot() as reader:
            row = await reader.fetch_one("SELECT * FROM workflow_executions WHERE id = ?", (execution_id,))
            if row is None:
                raise NotFound(f"No execution with id {execution_id!r}")
            node_rows = await reader.fetch_all(
                """SELECT nodeId, status, outputData, branch, resumeAt, attempts
                   FROM execution_logs WHERE executionId = ?""",
                (execution_id,),
            )
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
