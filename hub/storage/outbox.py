"""The delivery outbox: completion webhooks and push notifications, stored with the terminal state.

``enqueue_deliveries`` runs inside the transaction that moves an execution to completed, failed or
cancelled, so the deliveries exist exactly when the terminal state does: a crash or a restart at any
moment loses none. The workers' delivery loop (``jobs.deliveries``) claims due rows under a short lock,
sends them, and records each attempt; a failed one is retried later with exponential backoff.
"""

from __future__ import annotations

import time
import uuid

from hub.events import dumps, loads, utc_now
from hub.storage._base import Tables
from hub.storage._engine import Connection
from hub.storage.contract import Delivery, DeliveryKind, DeliveryStatus

_INSERT = """INSERT INTO delivery_outbox (id, executionId, kind, target, body, nextAttemptAt, createdAt, updatedAt)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""


def enqueue_deliveries(connection: Connection, execution_id: str) -> None:
    """Writes the execution's webhook and push deliveries, in the transaction that ends the execution."""
    row = connection.execute(
        """SELECT workflowId, workflowName, organizationId, status, finalOutput, error, completedAt, callbackUrl
           FROM workflow_executions WHERE id = ?""",
        (execution_id,),
    ).fetchone()
    if row is None:
        return
    now, stamp = time.time(), utc_now()
    if row["callbackUrl"]:
        body = {
            "executionId": execution_id,
            "workflowId": row["workflowId"],
            "status": row["status"],
            "finalOutput": loads(row["finalOutput"]),
            "error": row["error"],
            "completedAt": row["completedAt"],
        }
        connection.execute(
            _INSERT,
            (
                str(uuid.uuid4()),
                execution_id,
                DeliveryKind.WEBHOOK.value,
                row["callbackUrl"],
                dumps(body),
                now,
                stamp,
                stamp,
            ),
        )
    notice = dumps(
        {
            "executionId": execution_id,
            "workflowId": row["workflowId"],
            "workflowName": row["workflowName"],
            "status": row["status"],
            "error": (row["error"] or "")[:300] or None,
        }
    )
    subscriptions = connection.execute(
        """SELECT id FROM push_subscriptions
           WHERE executionId = ? OR (executionId IS NULL AND (organizationId IS NULL OR organizationId = ?))""",
        (execution_id, row["organizationId"]),
    ).fetchall()
    for subscription in subscriptions:
        connection.execute(
            _INSERT,
            (str(uuid.uuid4()), execution_id, DeliveryKind.PUSH.value, subscription["id"], notice, now, stamp, stamp),
        )


class SqlOutbox(Tables):
    """Claims due deliveries and records their attempts."""

    async def claim_due(self, *, lock_seconds: float, limit: int = 20) -> list[Delivery]:
        now = time.time()
        lock = self._for_update(skip_locked=True)

        def claim(connection: Connection) -> list[Delivery]:
            rows = connection.execute(
                f"""UPDATE delivery_outbox SET lockedUntil = ?, updatedAt = ?
                    WHERE id IN (SELECT id FROM delivery_outbox
                                 WHERE status = 'pending' AND nextAttemptAt <= ?
                                       AND (lockedUntil IS NULL OR lockedUntil <= ?)
                                 ORDER BY nextAttemptAt LIMIT ?{lock})
                    RETURNING id, executionId, kind, target, body, attempts""",
                (now + lock_seconds, utc_now(), now, now, limit),
            ).fetchall()
            return [
                Delivery(
                    row["id"],
                    row["executionId"],
                    DeliveryKind(row["kind"]),
                    row["target"],
                    row["body"],
                    row["attempts"],
                )
                for row in rows
            ]

        return await self.engine.write(claim)

    async def record(
        self, delivery_id: str, *, status: DeliveryStatus, attempts: int, next_attempt_at: float, error: str | None
    ) -> None:
        def update(connection: Connection) -> None:
            connection.execute(
                """UPDATE delivery_outbox SET status = ?, attempts = ?, nextAttemptAt = ?, lockedUntil = NULL,
                       lastError = ?, updatedAt = ?
                   WHERE id = ?""",
                (status.value, attempts, next_attempt_at, error, utc_now(), delivery_id),
            )

        await self.engine.write(update)
