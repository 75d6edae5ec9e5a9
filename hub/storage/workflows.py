"""Stored workflow definitions (``PUT``/``GET /api/workflows``)."""

from __future__ import annotations

from typing import Any

from hub.events import dumps, loads, utc_now
from hub.storage._base import Tables
from hub.storage._engine import Connection
from hub.workflow import Workflow


class SqlWorkflows(Tables):
    """The ``workflows`` table."""

    async def put_workflow(self, workflow: Workflow, organization_id: str | None) -> dict[str, Any]:
        now = utc_now()

        def upsert(connection: Connection) -> None:
            connection.execute(
                """INSERT INTO workflows (id, organizationId, name, definition, createdAt, updatedAt)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET organizationId = excluded.organizationId,
                       name = excluded.name, definition = excluded.definition, updatedAt = excluded.updatedAt""",
                (workflow.id, organization_id, workflow.name, dumps(workflow.to_dict()), now, now),
            )

        await self.engine.write(upsert)
        stored = await self.get_workflow(workflow.id)
        assert stored is not None
        return stored

    async def get_workflow(self, workflow_id: str) -> dict[str, Any] | None:
        row = await self.engine.fetch_one(
            "SELECT definition, organizationId, createdAt, updatedAt FROM workflows WHERE id = ?", (workflow_id,)
        )
        if row is None:
            return None
        definition = loads(row["definition"])
        return {
            **definition,
            "organizationId": row["organizationId"],
            "createdAt": row["createdAt"],
            "updatedAt": row["updatedAt"],
        }
