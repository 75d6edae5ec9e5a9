"""Uploaded files: their bytes in the file store (``hub.blobs``) under ``<organization or _>/<fileId>``,
their metadata in the ``files`` table of the hub's SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.contract import NodeError, StoredFile
from handlers.filetypes import identify
from hub.blobs import BlobStore
from hub.database import Database
from hub.errors import FileStoreError, MissingBlob
from hub.events import utc_now

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS files (
        id TEXT PRIMARY KEY,
        organizationId TEXT,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        contentType TEXT NOT NULL,
        createdAt TEXT NOT NULL)""",
)

ORGANIZATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
"""An organization id that can name a folder: it can be neither ``_`` (no organization) nor ``..``."""

_NO_ORGANIZATION = "_"


async def migrate(database: Database) -> None:
    await database.migrate(SCHEMA)


def blob_key(organization_id: str | None, file_id: str) -> str:
    """Where a file's bytes are in the file store."""
    return f"{organization_id or _NO_ORGANIZATION}/{file_id}"


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One uploaded file's metadata, as ``GET /api/files/{id}`` shows it."""

    file_id: str
    organization_id: str | None
    name: str
    size: int
    content_type: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "fileId": self.file_id,
            "name": self.name,
            "size": self.size,
            "contentType": self.content_type,
            "organizationId": self.organization_id,
            "createdAt": self.created_at,
        }


class FileCatalog:
    """Uploads: their bytes in the file store, their rows in the ``files`` table."""

    def __init__(self, database: Database, blobs: BlobStore) -> None:
        self._db = database
        self.blobs = blobs

    @property
    def incoming(self) -> Path:
        """Where an upload is written while it arrives, before the file store takes it."""
        return self.blobs.staging

    async def adopt(self, source: Path, name: str, organization_id: str | None) -> FileRecord:
        """Takes a received file in: checks its content against its name (``UnsupportedFile`` when they
        disagree), puts it in the file store and records it."""
        kind = await asyncio.to_thread(identify, source, name)
        record = FileRecord(
            file_id=uuid.uuid4().hex,
            organization_id=organization_id,
            name=name,
            size=(await asyncio.to_thread(source.stat)).st_size,
            content_type=kind.content_type,
            created_at=utc_now(),
        )
        key = blob_key(organization_id, record.file_id)
        await self.blobs.put(key, source)
        try:
            await self._add(record)
        except BaseException:
            # The row is what makes a file exist; failing to remove its bytes as well must not hide why.
            with contextlib.suppress(FileStoreError):
                await self.blobs.delete(key)
            raise
        return record

    async def _add(self, record: FileRecord) -> None:
        def insert(connection: sqlite3.Connection) -> None:
            connection.execute(
                """INSERT INTO files (id, organizationId, name, size, contentType, createdAt)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    record.file_id,
                    record.organization_id,
                    record.name,
                    record.size,
                    record.content_type,
                    record.created_at,
                ),
            )

        await self._db.write(insert)

    async def get(self, file_id: str) -> FileRecord | None:
        row = await self._db.fetch_one(
            "SELECT id, organizationId, name, size, contentType, createdAt FROM files WHERE id = ?", (file_id,)
        )
        if row is None:
            return None
        return FileRecord(row[0], row[1], row[2], row[3], row[4], row[5])

    def scoped(self, organization_id: str | None) -> OrganizationFiles:
        return OrganizationFiles(self, organization_id)


class OrganizationFiles:
    """The files one organization uploaded (those uploaded without one, for ``None``), as handlers see them."""

    def __init__(self, catalog: FileCatalog, organization_id: str | None) -> None:
        self._catalog = catalog
        self._organization_id = organization_id

    @asynccontextmanager
    async def open(self, file_id: str) -> AsyncIterator[StoredFile]:
        record = await self._catalog.get(file_id)
        if record is None or record.organization_id != self._organization_id:
            owner = f"organization {self._organization_id!r}" if self._organization_id else "no organization"
            raise NodeError(f"No file {file_id!r} was uploaded for {owner}; upload it with POST /api/files")
        key = blob_key(record.organization_id, record.file_id)
        async with AsyncExitStack() as stack:
            try:
                path = await stack.enter_async_context(self._catalog.blobs.open(key))
            except MissingBlob:
                raise NodeError(
                    f"The content of file {file_id!r} ({record.name}) is missing from the file store; upload it again"
                ) from None
            except FileStoreError as error:
                raise NodeError(error.message) from None
            yield StoredFile(record.file_id, record.name, record.content_type, record.size, str(path))
