"""The delivery outbox: completion webhooks and push notifications, stored with the terminal state.

``enqueue_deliveries`` runs inside the transaction that moves an execution to completed, failed or
cancelled, so the deliveries exist exactly when the terminal state does: a crash or a restart at any
moment loses none. The workers' delivery loop (``jobs.deliveries``) claims due rows under a short lock,
sends them, and records each attempt; a failed one is retried later with exponential backoff.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from hub.database import Database
from hub.events import dumps, loads, utc_now

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS delivery_outbox (
        id TEXT PRIMARY KEY,
        executionId TEXT NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        nextAttemptAt REAL NOT NULL,
        lockedUntil REAL,
        lastError TEXT,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_outbox_due ON delivery_outbox (status, nextAttemptAt)",
)


class DeliveryKind(StrEnum):
    WEBHOOK = "webhook"
    PUSH = "push"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class Delivery:
    """One claimed delivery. ``target`` is the callback URL, or the push subscription's id."""

    id: str
    execution_id: str
    kind: DeliveryKind
    target: str
    body: str
    attempts: int


def enqueue_deliveries(connection: sqlite3.Connection, execution_id: str) -> None:
    """Writes the execution's webhook and push deliveries; call it in the transaction that ends the execution."""
    row = connection.execute(
        """SELECT workflowId, workflowName, organizationId, status, finalOutput, error, completedAt, callbackUrl
           FROM workflow_executions WHERE id = ?""",
        (execution_id,),
    ).fetchone()
    if row is None:
        return
    now, stamp = time.time(), utc_now()
    insert = """INSERT INTO delivery_outbox (id, executionId, kind, target, body, nextAttemptAt, createdAt, updatedAt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
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
            insert,
            (str(uuid.uuid4()), execution_id, DeliveryKind.WEBHOOK, row["callbackUrl"], dumps(body), now, stamp, stamp),
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
            insert, (str(uuid.uuid4()), execution_id, DeliveryKind.PUSH, subscription["id"], notice, now, stamp, stamp)
        )


class DeliveryOutbox:
    """Claims due deliveries and records their attempts."""

    def __init__(self, database: Database) -> None:
        self.db = database

    async def claim_due(self, *, lock_seconds: float, limit: int = 20) -> list[Delivery]:
        """Due deliveries, locked for ``lock_seconds`` so that no other worker sends them meanwhile."""
        now = time.time()

        def claim(connection: sqlite3.Connection) -> list[Delivery]:
            rows = connection.execute(
                """UPDATE delivery_outbox SET lockedUntil = ?, updatedAt = ?
                   WHERE id IN (SELECT id FROM delivery_outbox
                                WHERE status = 'pending' AND nextAttemptAt <= ?
                                      AND (lockedUntil IS NULL OR lockedUntil <= ?)
                                ORDER BY nextAttemptAt LIMIT ?)
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

        return await self.db.write(claim)

    async def record(
        self, delivery_id: str, *, status: DeliveryStatus, attempts: int, next_attempt_at: float, error: str | None
    ) -> None:
        def update(connection: sqlite3.Connection) -> None:
            connection.execute(
                """UPDATE delivery_outbox SET status = ?, attempts = ?, nextAttemptAt = ?, lockedUntil = NULL,
                       lastError = ?, updatedAt = ?
                   WHERE id = ?""",
                (status, attempts, next_attempt_at, error, utc_now(), delivery_id),
            )

        await self.db.write(update)
