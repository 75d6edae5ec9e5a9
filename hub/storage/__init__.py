"""The hub's storage: typed Protocols (``contract``) on SQLite or PostgreSQL, opened with ``open_storage``.

Nothing outside this package sees a connection, a cursor, SQL or which database is behind it.
"""

from __future__ import annotations

from hub.storage._store import open_storage, prepare_schema
from hub.storage.contract import (
    Claim,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventLog,
    Executions,
    FileMetadata,
    FileRecord,
    IdempotencyKey,
    KeyedExecution,
    NewExecution,
    NodeState,
    Outbox,
    PushSubscriptions,
    PushTarget,
    Renewal,
    RunLedger,
    RunState,
    Storage,
    Sweep,
    Workflows,
)
from hub.storage.migrations import CURRENT_VERSION

__all__ = [
    "CURRENT_VERSION",
    "Claim",
    "Delivery",
    "DeliveryKind",
    "DeliveryStatus",
    "EventLog",
    "Executions",
    "FileMetadata",
    "FileRecord",
    "IdempotencyKey",
    "KeyedExecution",
    "NewExecution",
    "NodeState",
    "Outbox",
    "PushSubscriptions",
    "PushTarget",
    "Renewal",
    "RunLedger",
    "RunState",
    "Storage",
    "Sweep",
    "Workflows",
    "open_storage",
    "prepare_schema",
]
