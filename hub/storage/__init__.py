"""The hub's storage: typed Protocols (``contract``) on SQLite or PostgreSQL, opened with ``open_storage``.

Nothing outside this package sees a connection, a cursor, SQL or which database is behind it.
The one exception is ``create_engine``: an operator's tools (the bench, the tests) run their own SQL on it.
"""

from __future__ import annotations

from hub.storage._engine import Connection, Engine, Row
from hub.storage._store import create_engine, open_storage, prepare_schema
from hub.storage.contract import (
    Claim,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    EventLog,
    Executions,
    FileMetadata,
    FileRecord,
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
    "Connection",
    "Delivery",
    "DeliveryKind",
    "DeliveryStatus",
    "Engine",
    "EventLog",
    "Executions",
    "FileMetadata",
    "FileRecord",
    "NewExecution",
    "NodeState",
    "Outbox",
    "PushSubscriptions",
    "PushTarget",
    "Renewal",
    "RunLedger",
    "Row",
    "RunState",
    "Storage",
    "Sweep",
    "Workflows",
    "create_engine",
    "open_storage",
    "prepare_schema",
]
