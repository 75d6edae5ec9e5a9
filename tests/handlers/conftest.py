"""Handlers run against the hub's real stores: a SQLite file (or PostgreSQL) with the files and records tables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from handlers.contract import NodeContext, NodeResult, NodeRun, RecordStore, Scope
from handlers.egress import EgressPolicy, guarded_client, parse_allow
from handlers.settings import NodeSettings
from hub.blobs import BlobStore
from hub.blobs.folder import FolderBlobStore
from hub.files import FileCatalog
from hub.settings import DatabaseUrl, Settings
from hub.storage import FileRecord, Storage, open_storage
from tests.backends import postgres_schema
from tests.support import LOOPBACK_ALLOW


class _Resources:
    async def get(self, key: str, open_resource: Any) -> Any:
        return await open_resource()


@dataclass
class Stores:
    """A real SQLite file with its files and records, and a way to run a node against them."""

    storage: Storage
    catalog: FileCatalog
    directory: Path
    http: httpx.AsyncClient
    logs: list[tuple[str, str]] = field(default_factory=list)

    async def upload(self, name: str, content: bytes, organization_id: str | None = None) -> FileRecord:
        """Stores a file as POST /api/files does, content check included."""
        received = self.directory / "received"
        received.write_bytes(content)
        return await self.catalog.adopt(received, name, organization_id)

    def records(self, organization_id: str | None = None) -> RecordStore:
        return self.storage.records(organization_id)

    async def run(
        self,
        run: NodeRun,
        config: Mapping[str, Any],
        node_input: Any = None,
        *,
        organization_id: str | None = None,
        settings: NodeSettings | None = None,
    ) -> NodeResult:
        async def log(message: str, level: str = "info") -> None:
            self.logs.append((level, message))

        async def progress(data: Mapping[str, Any]) -> None:
            return None

        context = NodeContext(
            execution_id="execution",
            organization_id=organization_id,
            node_id="node",
            node_type="test",
            label="node",
            config=config,
            input=node_input,
            scope=Scope(node_input, {}, {}),
            settings=settings or NodeSettings(),
            http=self.http,
            log=log,
            progress=progress,
            resources=_Resources(),
            records=self.records(organization_id),
            files=self.catalog.scoped(organization_id),
        )
        return await run(context)


@asynccontextmanager
async def open_stores(
    directory: Path, blobs: BlobStore, database_url: DatabaseUrl | None = None
) -> AsyncIterator[Stores]:
    """The store on ``database_url`` (a fresh SQLite file in ``directory`` by default), its uploads' bytes in
    ``blobs`` (closed afterwards)."""
    url = database_url or DatabaseUrl.sqlite(directory / "hub.sqlite3")
    storage = await open_storage(Settings(database_url=url), migrate=True)
    try:
        async with guarded_client(EgressPolicy(parse_allow(LOOPBACK_ALLOW)), timeout=30) as http:
            yield Stores(storage, FileCatalog(storage.files, blobs), directory, http)
    finally:
        await blobs.close()
        await storage.close()


@pytest.fixture
def database() -> str:
    """Which database ``stores`` opens; the records tests run on every one (``database`` overridden there)."""
    return "sqlite"


@pytest_asyncio.fixture
async def stores(request: pytest.FixtureRequest, database: str, tmp_path: Path) -> AsyncIterator[Stores]:
    """The record and file stores: a SQLite file, or a schema of its own in this run's PostgreSQL database."""
    async with AsyncExitStack() as stack:
        url = None
        if database == "postgres":
            url = DatabaseUrl.parse(stack.enter_context(postgres_schema(request.getfixturevalue("postgres"))))
        blobs = FolderBlobStore(tmp_path / "data" / "files")
        yield await stack.enter_async_context(open_stores(tmp_path, blobs, url))
