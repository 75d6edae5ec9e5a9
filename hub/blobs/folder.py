"""The folder file store: ``<folder>/<organization or _>/<fileId>``, the layout uploads have always had."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from hub.errors import FileStoreError, MissingBlob


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)


class FolderBlobStore:
    """Bytes as files under one folder; a volume every machine mounts serves several machines.

    Uploads are staged inside the folder, so that a put is a rename and no reader sees half a file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def staging(self) -> Path:
        return self.folder / ".incoming"

    @property
    def url(self) -> str:
        return self.folder.absolute().as_uri()

    def _path(self, key: str) -> Path:
        return self.folder / key

    async def put(self, key: str, source: Path) -> None:
        try:
            await asyncio.to_thread(_move, source, self._path(key))
        except OSError as error:
            raise FileStoreError(f"Could not store the file in {self.url}: {error.strerror or error}") from None

    @asynccontextmanager
    async def open(self, key: str) -> AsyncIterator[Path]:
        path = self._path(key)
        if not await asyncio.to_thread(path.is_file):
            raise MissingBlob(f"{self.url} has nothing under {key}")
        yield path

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)

    async def close(self) -> None:
        return None
