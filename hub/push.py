"""Web Push subscriptions: who is told when an execution ends, and the VAPID key pair that signs the pushes.

A subscription covers one execution (``executionId``), every execution of an organization
(``organizationId``), or, with neither, every execution. The outbox turns each matching subscription
into one delivery when an execution reaches its terminal state.
"""

from __future__ import annotations

import base64
import binascii
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from handlers.egress import url_problem
from hub.database import Database
from hub.errors import InvalidRequest, Problem
from hub.events import dumps, loads, utc_now

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS push_subscriptions (
        id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        subscription TEXT NOT NULL,
        scope TEXT NOT NULL,
        executionId TEXT,
        organizationId TEXT,
        createdAt TEXT NOT NULL,
        UNIQUE (endpoint, scope))""",
    "CREATE INDEX IF NOT EXISTS ix_push_execution ON push_subscriptions (executionId)",
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class VapidKeys:
    """A VAPID key pair as the browser and ``HUB_VAPID_*`` take it: base64url, raw point and raw scalar."""

    public_key: str
    private_key: str

    @classmethod
    def generate(cls) -> VapidKeys:
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return cls(b64url(public), b64url(key.private_numbers().private_value.to_bytes(32, "big")))


@dataclass(frozen=True, slots=True)
class Target:
    """Whom a subscription is for: one execution, one organization, or (neither) every execution."""

    execution_id: str | None = None
    organization_id: str | None = None

    @property
    def scope(self) -> str:
        if self.execution_id is not None:
            return f"execution:{self.execution_id}"
        if self.organization_id is not None:
            return f"organization:{self.organization_id}"
        return "all"


def parse_subscription(value: Any, path: str = "subscription") -> dict[str, Any]:
    """The browser's ``PushSubscription.toJSON()``; every problem is named by its field."""
    problems: list[Problem] = []
    if not isinstance(value, Mapping):
        raise InvalidRequest("The subscription is not valid", [Problem(path, f"{path} must be an object")])
    endpoint = value.get("endpoint")
    if not isinstance(endpoint, str) or url_problem(endpoint) is not None:
        problems.append(Problem(f"{path}.endpoint", "endpoint must be the push service's http(s) URL"))
    keys = value.get("keys")
    if not isinstance(keys, Mapping):
        problems.append(Problem(f"{path}.keys", "keys must be an object with p256dh and auth"))
        keys = {}
    for name, size in (("p256dh", 65), ("auth", 16)):
        if not _is_key(keys.get(name), size):
            problems.append(Problem(f"{path}.keys.{name}", f"{name} must be {size} bytes in base64url"))
    if problems:
        raise InvalidRequest(f"The subscription has {len(problems)} problem(s)", problems)
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


def _is_key(value: Any, size: int) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return len(b64url_decode(value)) == size
    except (binascii.Error, ValueError):
        return False


class PushSubscriptions:
    """The ``push_subscriptions`` table."""

    def __init__(self, database: Database) -> None:
        self.db = database

    async def add(self, subscription: Mapping[str, Any], target: Target) -> str:
        """Stores a subscription (again, harmlessly); returns its id."""
        subscription_id = str(uuid.uuid4())

        def upsert(connection: sqlite3.Connection) -> str:
            rows = list(
                connection.execute(
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
                ).fetchall()
            )
            found: str = rows[0]["id"]
            return found

        return await self.db.write(upsert)

    async def remove(self, endpoint: str, target: Target) -> int:
        def delete(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "DELETE FROM push_subscriptions WHERE endpoint = ? AND scope = ?", (endpoint, target.scope)
            )
            return cursor.rowcount

        return await self.db.write(delete)

    async def forget_endpoint(self, endpoint: str) -> None:
        """Removes every subscription of an endpoint the push service says is gone (404 or 410)."""

        def delete(connection: sqlite3.Connection) -> None:
            connection.execute("DELETE FROM push_subscriptions WHERE endpoint = ?", (endpoint,))

        await self.db.write(delete)

    async def get(self, subscription_id: str) -> dict[str, Any] | None:
        row = await self.db.fetch_one("SELECT subscription FROM push_subscriptions WHERE id = ?", (subscription_id,))
        return None if row is None else dict(loads(row["subscription"]))
