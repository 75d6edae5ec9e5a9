"""The store on one engine: every SQL module's methods together, and ``open_storage``."""

from __future__ import annotations

from handlers.contract import RecordStore
from hub.redaction import Redactor
from hub.settings import DatabaseKind, DatabaseUrl, Settings
from hub.storage import migrations
from hub.storage._engine import Engine
from hub.storage.contract import FileMetadata, Outbox, PushSubscriptions, Storage
from hub.storage.executions import SqlExecutions
from hub.storage.files import SqlFileMetadata
from hub.storage.leases import SqlLeases
from hub.storage.nodes import SqlNodes
from hub.storage.outbox import SqlOutbox
from hub.storage.push import SqlPushSubscriptions
from hub.storage.records import organization_records
from hub.storage.sqlite import SqliteEngine
from hub.storage.sweeps import SqlSweeps
from hub.storage.workflows import SqlWorkflows


class SqlStorage(SqlWorkflows, SqlExecutions, SqlNodes, SqlLeases, SqlSweeps):
    """``Storage`` on an engine: the same SQL on SQLite and PostgreSQL, dialect seams where it differs."""

    def __init__(self, engine: Engine, redactor: Redactor | None = None) -> None:
        super().__init__(engine, redactor)
        self._outbox = SqlOutbox(engine, redactor)
        self._push = SqlPushSubscriptions(engine, redactor)
        self._files = SqlFileMetadata(engine, redactor)

    @property
    def outbox(self) -> Outbox:
        return self._outbox

    @property
    def push(self) -> PushSubscriptions:
        return self._push

    @property
    def files(self) -> FileMetadata:
        return self._files

    def records(self, organization_id: str | None) -> RecordStore:
        return organization_records(self.engine, organization_id)

    async def ping(self) -> None:
        await self.engine.ping()

    async def schema_version(self) -> int:
        return await migrations.schema_version(self.engine)

    async def close(self) -> None:
        await self.engine.close()


def create_engine(url: DatabaseUrl, *, pool_size: int = Settings.database_pool_size) -> Engine:
    """The engine for a database URL, not yet open; ``pool_size`` read connections on PostgreSQL."""
    if url.kind is DatabaseKind.SQLITE:
        assert url.path is not None
        return SqliteEngine(url.path)
    # Imported on demand: the PostgreSQL driver is only loaded by processes that use it.
    from hub.storage.postgres import PostgresEngine

    return PostgresEngine(url.url, pool_size=pool_size)


async def prepare_schema(settings: Settings, *, migrate: bool | None = None) -> int:
    """Checks (and with ``migrate``, brings up to date) the database's schema as ``open_storage`` does,
    then closes it; returns the schema version. ``hub migrate`` and the start of ``hub serve`` and
    ``hub worker`` call it, so that an outdated schema stops them with one clear message."""
    storage = await open_storage(settings, migrate=migrate)
    try:
        return await storage.schema_version()
    finally:
        await storage.close()


async def open_storage(settings: Settings, *, migrate: bool | None = None) -> Storage:
    """Opens the configured database. ``migrate`` brings its schema up to date first; by default SQLite
    (the embedded database) is migrated and PostgreSQL must already be current (``hub migrate``), else
    ``SchemaOutdated`` is raised."""
    engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
    await engine.open()
    try:
        if migrate if migrate is not None else settings.database_url.kind is DatabaseKind.SQLITE:
            await migrations.migrate(engine)
        else:
            await migrations.require_current(engine)
    except BaseException:
        await engine.close()
        raise
    return SqlStorage(engine, Redactor(settings.secrets()))
