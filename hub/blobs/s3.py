"""The S3 file store: ``s3://bucket/prefix`` on AWS, MinIO, R2 or any S3-compatible server.

Puts send a small file in one request and a large one in parts, each part read from disk in a thread, so
memory holds one part at most. Opens spool the object to a file of this process's own data dir, because
the parsers (openpyxl, pypdf) need a seekable file; the spooled copy is deleted when the block ends, and
the copies of a process that was killed are deleted when the next one on the machine connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from hub.errors import FileStoreError, MissingBlob
from hub.settings import FileStoreSettings

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

PART_BYTES = 8 * 1024 * 1024
"""Above this a put goes in parts of this size (S3 wants at least 5 MiB for every part but the last)."""

_READ_BYTES = 1024 * 1024
_MISSING = {"NoSuchKey", "404", "NotFound"}


def _read_part(path: Path, offset: int) -> bytes:
    with path.open("rb") as file:
        file.seek(offset)
        return file.read(PART_BYTES)


def _sweep_spool(spool: Path) -> None:
    """Deletes the spooled copies of processes that are gone; each copy's name starts with its process id."""
    if not spool.is_dir():
        return
    for path in spool.iterdir():
        pid = path.name.partition("-")[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except PermissionError:
            continue


class S3BlobStore:
    """Bytes as objects under ``prefix`` in one bucket, through one aiobotocore client per process."""

    def __init__(self, client: S3Client, exits: AsyncExitStack, files: FileStoreSettings, data_dir: Path) -> None:
        self._client = client
        self._exits = exits
        self._bucket = files.bucket or ""
        self._prefix = files.prefix
        self._url = files.url
        self._data_dir = data_dir

    @classmethod
    async def connect(cls, files: FileStoreSettings, data_dir: Path) -> S3BlobStore:
        s3 = files.s3
        config = AioConfig(
            # A custom endpoint (MinIO, moto, most self-hosted servers) seldom has a DNS name per bucket.
            s3={"addressing_style": "path" if s3.endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        exits = AsyncExitStack()
        client = await exits.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=s3.endpoint_url,
                region_name=s3.region,
                aws_access_key_id=s3.access_key_id,
                aws_secret_access_key=s3.secret_access_key,
                aws_session_token=s3.session_token,
                config=config,
            )
        )
        await asyncio.to_thread(_sweep_spool, data_dir / "spool")
        return cls(client, exits, files, data_dir)

    @property
    def staging(self) -> Path:
        return self._data_dir / "incoming"

    @property
    def url(self) -> str:
        return self._url

    def _key(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def _failure(self, doing: str, error: Exception) -> FileStoreError:
        if isinstance(error, ClientError):
            details = error.response.get("Error", {})
            reason = f"{details.get('Code', 'error')}: {details.get('Message', '')}".rstrip(": ")
        else:
            reason = type(error).__name__
        return FileStoreError(f"Could not {doing} {self._url} ({reason})")

    async def put(self, key: str, source: Path) -> None:
        size = (await asyncio.to_thread(source.stat)).st_size
        try:
            if size <= PART_BYTES:
                body = await asyncio.to_thread(source.read_bytes)
                await self._client.put_object(Bucket=self._bucket, Key=self._key(key), Body=body)
            else:
                await self._put_in_parts(self._key(key), source, size)
        except (ClientError, BotoCoreError) as error:
            raise self._failure("store the file in", error) from None
        await asyncio.to_thread(source.unlink, True)

    async def _put_in_parts(self, key: str, source: Path, size: int) -> None:
        started = await self._client.create_multipart_upload(Bucket=self._bucket, Key=key)
        upload_id = started["UploadId"]
        parts: list[CompletedPartTypeDef] = []
        try:
            for number, offset in enumerate(range(0, size, PART_BYTES), start=1):
                body = await asyncio.to_thread(_read_part, source, offset)
                sent = await self._client.upload_part(
                    Bucket=self._bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                parts.append({"ETag": sent["ETag"], "PartNumber": number})
            await self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException:
            with contextlib.suppress(ClientError, BotoCoreError):
                await self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
            raise

    @asynccontextmanager
    async def open(self, key: str) -> AsyncIterator[Path]:
        spool = self._data_dir / "spool"
        path = spool / f"{os.getpid()}-{uuid.uuid4().hex}"
        try:
            await self._download(key, spool, path)
            yield path
        finally:
            await anyio.Path(path).unlink(missing_ok=True)

    async def _download(self, key: str, spool: Path, path: Path) -> None:
        await anyio.Path(spool).mkdir(parents=True, exist_ok=True)
        try:
            response = await self._client.get_object(Bucket=self._bucket, Key=self._key(key))
            async with response["Body"] as body, await anyio.open_file(path, "wb") as file:
                async for chunk in body.iter_chunks(_READ_BYTES):
                    await file.write(chunk)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING:
                raise MissingBlob(f"{self._url} has nothing under {key}") from None
            raise self._failure("read the file from", error) from None
        except BotoCoreError as error:
            raise self._failure("read the file from", error) from None

    async def delete(self, key: str) -> None:
        try:
            await self._client.delete_object(Bucket=self._bucket, Key=self._key(key))
        except (ClientError, BotoCoreError) as error:
            raise self._failure("delete the file from", error) from None

    async def close(self) -> None:
        await self._exits.aclose()
