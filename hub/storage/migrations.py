"""Schema migrations: numbered steps, each with its DDL per dialect, recorded in ``schema_version``.

``migrate`` applies the steps a database lacks in one write transaction, under a lock, so several
processes (on several machines) may run it at once: SQLite's ``BEGIN IMMEDIATE`` holds the whole file,
and on PostgreSQL ``pg_advisory_xact_lock`` makes the others wait until the first committed; they then
find nothing left to do. DDL is transactional on both, so a step applies whole or not at all.

Migration 1 is the schema the hub had before migrations existed, statement for statement. On SQLite
its statements are ``IF NOT EXISTS``, so a database made by that code upgrades in place: the tables are
kept as they are and version 1 is recorded. On PostgreSQL the old system's tables
(``workflow_executions``, ``execution_logs``) have unquoted column names, so its queries
(``SELECT id, workflowId, status ... FROM workflow_executions``) run verbatim; every other table is
unquoted too, so one rule (fold to lower case) names every column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hub.errors import SchemaOutdated
from hub.events import utc_now
from hub.storage._engine import Connection, Dialect, Engine

_LOCK_KEY = 0x687562  # "hub": the advisory lock every migrating process takes on PostgreSQL


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    statements: Mapping[Dialect, Sequence[str]]


_SQLITE_1 = (
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
    """CREATE TABLE IF NOT EXISTS files (
        id TEXT PRIMARY KEY,
        organizationId TEXT,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        contentType TEXT NOT NULL,
        createdAt TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS records (
        id TEXT PRIMARY KEY,
        entity TEXT NOT NULL,
        organizationId TEXT,
        data TEXT NOT NULL,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_records_entity ON records (organizationId, entity)",
)

# Epoch seconds are DOUBLE PRECISION, counters INTEGER, JSON bodies TEXT (they are stored as written and
# read back whole); records.data is jsonb, queried by the records module, and records.document the record
# as saved (jsonb keeps no key order, and a record's columns come back in its own order). ``records.seq`` keeps the
# insertion order that SQLite's rowid gives the records there.
_POSTGRES_1 = (
    """CREATE TABLE workflows (
        id TEXT PRIMARY KEY,
        organizationId TEXT,
        name TEXT,
        definition TEXT NOT NULL,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL)""",
    """CREATE TABLE workflow_executions (
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
        lastSeq BIGINT NOT NULL DEFAULT 0,
        leaseOwner TEXT,
        leaseExpiresAt DOUBLE PRECISION,
        cancelRequested INTEGER NOT NULL DEFAULT 0,
        resumeAt DOUBLE PRECISION,
        maxDurationSeconds DOUBLE PRECISION,
        deadlineAt DOUBLE PRECISION,
        retryOf TEXT,
        callbackUrl TEXT,
        jobId TEXT,
        recoveries INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX ix_executions_created ON workflow_executions (createdAt)",
    "CREATE INDEX ix_executions_workflow ON workflow_executions (workflowId, createdAt)",
    "CREATE INDEX ix_executions_status ON workflow_executions (status, leaseExpiresAt)",
    """CREATE TABLE execution_logs (
        id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        executionId TEXT NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
        nodeId TEXT NOT NULL,
        nodeType TEXT NOT NULL,
        nodeLabel TEXT,
        status TEXT NOT NULL,
        message TEXT,
        duration DOUBLE PRECISION,
        timestamp TEXT NOT NULL,
        startedAt TEXT,
        completedAt TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        outputData TEXT,
        branch TEXT,
        error TEXT,
        resumeAt DOUBLE PRECISION,
        UNIQUE (executionId, nodeId))""",
    """CREATE TABLE execution_events (
        executionId TEXT NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
        seq BIGINT NOT NULL,
        type TEXT NOT NULL,
        nodeId TEXT,
        timestamp TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (executionId, seq))""",
    """CREATE TABLE delivery_outbox (
        id TEXT PRIMARY KEY,
        executionId TEXT NOT NULL,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        nextAttemptAt DOUBLE PRECISION NOT NULL,
        lockedUntil DOUBLE PRECISION,
        lastError TEXT,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL)""",
    "CREATE INDEX ix_outbox_due ON delivery_outbox (status, nextAttemptAt)",
    """CREATE TABLE push_subscriptions (
        id TEXT PRIMARY KEY,
        endpoint TEXT NOT NULL,
        subscription TEXT NOT NULL,
        scope TEXT NOT NULL,
        executionId TEXT,
        organizationId TEXT,
        createdAt TEXT NOT NULL,
        UNIQUE (endpoint, scope))""",
    "CREATE INDEX ix_push_execution ON push_subscriptions (executionId)",
    """CREATE TABLE files (
        id TEXT PRIMARY KEY,
        organizationId TEXT,
        name TEXT NOT NULL,
        size BIGINT NOT NULL,
        contentType TEXT NOT NULL,
        createdAt TEXT NOT NULL)""",
    """CREATE TABLE records (
        id TEXT PRIMARY KEY,
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        entity TEXT NOT NULL,
        organizationId TEXT,
        data JSONB NOT NULL,
        document TEXT NOT NULL,
        createdAt TEXT NOT NULL,
        updatedAt TEXT NOT NULL)""",
    "CREATE INDEX ix_records_entity ON records (organizationId, entity, seq)",
)

# An organization's idempotency key names the execution it created. ``scope`` is the organization id, or ''
# for none (a primary key column cannot be NULL); ``fingerprint`` identifies the request the key came with.
_IDEMPOTENCY_KEYS = """CREATE TABLE idempotency_keys (
        scope TEXT NOT NULL,
        idempotencyKey TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        executionId TEXT NOT NULL,
        createdAt {epoch} NOT NULL,
        PRIMARY KEY (scope, idempotencyKey))"""
_IDEMPOTENCY_EXPIRY = "CREATE INDEX ix_idempotency_created ON idempotency_keys (createdAt)"

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the schema before migrations", {Dialect.SQLITE: _SQLITE_1, Dialect.POSTGRES: _POSTGRES_1}),
    Migration(
        2,
        "idempotency keys of execute requests",
        {
            Dialect.SQLITE: (_IDEMPOTENCY_KEYS.format(epoch="REAL"), _IDEMPOTENCY_EXPIRY),
            Dialect.POSTGRES: (_IDEMPOTENCY_KEYS.format(epoch="DOUBLE PRECISION"), _IDEMPOTENCY_EXPIRY),
        },
    ),
)
CURRENT_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL,
    appliedAt TEXT NOT NULL)"""
_HAS_VERSION_TABLE = {
    Dialect.SQLITE: "SELECT count(*) AS found FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
    # In the schema the connection works in (search_path), not in any schema of the database.
    Dialect.POSTGRES: "SELECT count(*) AS found FROM pg_tables WHERE tablename = 'schema_version'"
    " AND schemaname = current_schema()",
}


async def schema_version(engine: Engine) -> int:
    """The version the database is at: 0 when it has no ``schema_version`` table."""
    found = await engine.fetch_one(_HAS_VERSION_TABLE[engine.dialect])
    if found is None or not found["found"]:
        return 0
    row = await engine.fetch_one("SELECT max(version) AS version FROM schema_version")
    return int(row["version"] or 0) if row is not None else 0


async def migrate(engine: Engine) -> list[int]:
    """Applies every migration the database lacks; returns the versions applied (none when current)."""

    def apply(connection: Connection) -> list[int]:
        if engine.dialect is Dialect.POSTGRES:
            connection.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK_KEY,))
        connection.execute(_VERSION_TABLE)
        row = connection.execute("SELECT max(version) AS version FROM schema_version").fetchone()
        current = int(row["version"] or 0) if row is not None else 0
        applied = []
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            for statement in migration.statements[engine.dialect]:
                connection.execute(statement)
            connection.execute(
                "INSERT INTO schema_version (version, description, appliedAt) VALUES (?, ?, ?)",
                (migration.version, migration.description, utc_now()),
            )
            applied.append(migration.version)
        return applied

    return await engine.write(apply)


async def require_current(engine: Engine) -> None:
    """Raises ``SchemaOutdated`` (saying to run ``hub migrate``) when the database is behind the code."""
    version = await schema_version(engine)
    if version < CURRENT_VERSION:
        raise SchemaOutdated(
            f"The database schema is at version {version}, and this hub needs version {CURRENT_VERSION}; "
            "run `hub migrate` first"
        )
