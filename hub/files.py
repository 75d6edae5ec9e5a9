"""Uploaded files: their bytes in the file store (``hub.blobs``) under ``<organization or _>/<fileId>``,
their metadata in the store (``hub.storage.FileMetadata``)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from handlers.contract import NodeError, StoredFile
from handlers.filetypes import identify
from hub.blobs import BlobStore
from hub.errors import FileStoreError, MissingBlob
from hub.events import utc_now
from hub.storage import FileMetadata, FileRecord

ORGANIZATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
"""An organization id that can name a folder: it can be neither ``_`` (no organization) nor ``..``."""

_NO_ORGANIZATION = "_"


def blob_key(organization_id: str | None, file_id: str) -> str:
    """Where a file's bytes are in the file store."""
    return f"{organization_id or _NO_ORGANIZATION}/{file_id}"


class FileCatalog:
    """Uploads: their bytes in the file store, their rows in the ``files`` table."""

    def __init__(self, metadata: FileMetadata, blobs: BlobStore) -> None:
        self._metadata = metadata
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
            await self._metadata.add(record)
        except BaseException:
            # The row is what makes a file exist; failing to remove its bytes as well must not hide why.
            with contextlib.suppress(FileStoreError):
                await self.blobs.delete(key)
            raise
        return record

    async def get(self, file_id: str) -> FileRecord | None:
        return await self._metadata.get(file_id)

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
