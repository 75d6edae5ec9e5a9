"""Where the bytes of uploads live: a folder (local, or a volume every machine mounts) or an S3 bucket.

``HUB_FILES_URL`` chooses. The hub puts what it received; a worker opens it as a local file to parse in a
thread, so no worker ever needs the hub's disk. Metadata (name, type, owner) is the ``files`` table's job.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol

from hub.settings import Settings

__all__ = ["BlobStore", "open_blob_store"]


class BlobStore(Protocol):
    """Bytes by key (``<organization or _>/<fileId>``); every method raises ``FileStoreError`` when the store
    cannot be reached, and ``open`` raises ``MissingBlob`` when nothing is stored under the key."""

    @property
    def staging(self) -> Path:
        """A local folder for an upload while it arrives; for a folder store, on its disk, so ``put`` renames."""
        ...

    @property
    def url(self) -> str:
        """Where the bytes are, for log lines and messages; never a credential."""
        ...

    async def put(self, key: str, source: Path) -> None:
        """Stores the local file ``source`` under ``key``; ``source`` may be gone afterwards."""
        ...

    def open(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A local, seekable file holding the bytes under ``key``, readable while the block runs."""
        ...

    async def delete(self, key: str) -> None:
        """Removes what is under ``key``; a key with nothing under it is no error."""
        ...

    async def close(self) -> None: ...


async def open_blob_store(settings: Settings) -> BlobStore:
    """The store ``HUB_FILES_URL`` names, ready to use; close it when the process stops."""
    # Imported here, so that a process on a folder store never loads aiobotocore.
    if settings.files.bucket is None:
        from hub.blobs.folder import FolderBlobStore

        return FolderBlobStore(settings.files.folder)
    from hub.blobs.s3 import S3BlobStore

    return await S3BlobStore.connect(settings.files, settings.data_dir)
