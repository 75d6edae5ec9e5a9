"""Uploaded files: their bytes under ``<HUB_DATA_DIR>/files/<organization or _>/<fileId>``, their metadata
in the store (``hub.storage.FileMetadata``)."""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path

from handlers.contract import NodeError, StoredFile
from handlers.filetypes import identify
from hub.events import utc_now
from hub.storage import FileMetadata, FileRecord

ORGANIZATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
"""An organization id that can name a folder: it can be neither ``_`` (no organization) nor ``..``."""

_NO_ORGANIZATION = "_"


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


class FileCatalog:
    """Where uploads live on disk, and their rows in the ``files`` table."""

    def __init__(self, metadata: FileMetadata, data_dir: Path) -> None:
        self._metadata = metadata
        self.root = data_dir / "files"

    @property
    def incoming(self) -> Path:
        """Where an upload is written while it arrives; on the same disk, so moving it out is a rename."""
        return self.root / ".incoming"

    def path_of(self, organization_id: str | None, file_id: str) -> Path:
        return self.root / (organization_id or _NO_ORGANIZATION) / file_id

    async def adopt(self, source: Path, name: str, organization_id: str | None) -> FileRecord:
        """Takes a received file in: checks its content against its name (``UnsupportedFile`` when they
        disagree), moves it to its place and records it."""
        kind = await asyncio.to_thread(identify, source, name)
        record = FileRecord(
            file_id=uuid.uuid4().hex,
            organization_id=organization_id,
            name=name,
            size=(await asyncio.to_thread(source.stat)).st_size,
            content_type=kind.content_type,
            created_at=utc_now(),
        )
        target = self.path_of(organization_id, record.file_id)
        await asyncio.to_thread(_move, source, target)
        try:
            await self._metadata.add(record)
        except BaseException:
            await asyncio.to_thread(target.unlink, True)
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

    async def get(self, file_id: str) -> StoredFile:
        record = await self._catalog.get(file_id)
        if record is None or record.organization_id != self._organization_id:
            owner = f"organization {self._organization_id!r}" if self._organization_id else "no organization"
            raise NodeError(f"No file {file_id!r} was uploaded for {owner}; upload it with POST /api/files")
        return StoredFile(
            file_id=record.file_id,
            name=record.name,
            content_type=record.content_type,
            size=record.size,
            path=str(self._catalog.path_of(record.organization_id, record.file_id)),
        )
