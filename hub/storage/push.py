"""The ``push_subscriptions`` table: who is told when an execution ends (see ``hub.push``)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from hub.events import dumps, loads, utc_now
from hub.storage._base import Tables
from hub.storage._engine import Connection
from hub.storage.contract import PushTarget


class SqlPushSubscriptions(Tables):
    """Web Push subscriptions by endpoint and scope."""

    async def add(self, subscription: Mapping[str, Any], target: PushTarget) -> str:
        subscription_id = str(uuid.uuid4())

        def upsert(connection: Connection) -> str:
            row = connection.execute(
                """INSERT INTO push_subscriptions
                       (id, endpoint, subscription, scope, executionId, organizationId, createdAt)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (endpoint, scope) DO UPDATE SET subscription = excluded.subscription
                   RETURNING id""",
                (
                    subscription_id,
                    subscription["endpoint"],
                    dumps(subscription),
                    target.scope,
                    target.execution_id,
                    target.organization_id,
                    utc_now(),
                ),
            ).fetchone()
            found: str = row["id"]
            return found

        return await self.engine.write(upsert)

    async def remove(self, endpoint: str, target: PushTarget) -> int:
        def delete(connection: Connection) -> int:
            cursor = connection.execute(
                "DELETE FROM push_subscriptions WHERE endpoint = ? AND scope = ?", (endpoint, target.scope)
            )
            return cursor.rowcount

        return await self.engine.write(delete)

    async def forget_endpoint(self, endpoint: str) -> None:
        def delete(connection: Connection) -> None:
            connection.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", (endpoint,))

        await self.engine.write(delete)

    async def get(self, subscription_id: str) -> dict[str, Any] | None:
        row = await self.engine.fetch_one(
            "SELECT subscription FROM push_subscriptions WHERE id = ?", (subscription_id,)
        )
        return None if row is None else dict(loads(row["subscription"]))
