"""Handlers run against the hub's real stores: a SQLite file with the files and records tables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from handlers.contract import NodeContext, NodeResult, NodeRun, RecordStore, Scope
from handlers.settings import NodeSettings
from hub.files import FileCatalog
from hub.settings import DatabaseUrl, Settings
from hub.storage import FileRecord, Storage, open_storage


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


@pytest_asyncio.fixture
async def stores(tmp_path: Path) -> AsyncIterator[Stores]:
    storage = await open_storage(Settings(database_url=DatabaseUrl.sqlite(tmp_path / "hub.sqlite3")))
    async with httpx.AsyncClient() as http:
        yield Stores(storage, FileCatalog(storage.files, tmp_path / "data"), tmp_path, http)
    await storage.close()
