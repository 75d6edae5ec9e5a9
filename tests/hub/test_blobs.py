"""The file store contract, run once against a folder and once against moto's real S3 server."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from hub.blobs import BlobStore, open_blob_store
from hub.blobs.s3 import PART_BYTES
from hub.errors import FileStoreError, MissingBlob
from hub.processes import free_port
from hub.settings import FileStoreSettings, S3Settings, Settings
from tests.backends import S3Server


def _s3_settings(server: S3Server, bucket: str, endpoint_url: str | None = None) -> FileStoreSettings:
    return FileStoreSettings(
        bucket=bucket,
        prefix="blobs/",
        s3=S3Settings(
            endpoint_url=endpoint_url or server.url,
            region=server.region,
            access_key_id=server.access_key_id,
            secret_access_key=server.secret_access_key,
        ),
    )


@pytest_asyncio.fixture(loop_scope="session", params=["folder", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    if request.param == "folder":
        files = FileStoreSettings(folder=tmp_path / "files")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        files = _s3_settings(server, server.new_bucket())
    blobs = await open_blob_store(Settings(data_dir=tmp_path / "data", files=files))
    yield blobs
    await blobs.close()


def _source(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "source"
    path.write_bytes(content)
    return path


async def test_what_is_put_opens_as_a_local_file_with_the_same_bytes(store: BlobStore, tmp_path: Path) -> None:
    await store.put("acme/one", _source(tmp_path, b"name,city\nAda,London\n"))
    async with store.open("acme/one") as path:
        assert path.read_bytes() == b"name,city\nAda,London\n"


async def test_a_file_larger_than_one_part_goes_whole(store: BlobStore, tmp_path: Path) -> None:
    content = bytes(range(256)) * (PART_BYTES // 256) + b"tail"
    await store.put("_/large", _source(tmp_path, content))
    async with store.open("_/large") as path:
        assert path.read_bytes() == content


async def test_a_put_takes_the_staged_file_away(store: BlobStore, tmp_path: Path) -> None:
    source = store.staging / "upload"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(b"staged")
    await store.put("_/staged", source)
    assert not source.exists()


async def test_opening_a_key_with_nothing_under_it_raises_missing_blob(store: BlobStore) -> None:
    with pytest.raises(MissingBlob, match="acme/absent"):
        async with store.open("acme/absent"):
            pass


async def test_a_deleted_key_is_missing_and_deleting_it_again_is_no_error(store: BlobStore, tmp_path: Path) -> None:
    await store.put("acme/gone", _source(tmp_path, b"bytes"))
    await store.delete("acme/gone")
    await store.delete("acme/gone")
    with pytest.raises(MissingBlob):
        async with store.open("acme/gone"):
            pass


async def test_a_spooled_s3_copy_is_gone_after_the_block(s3_server: S3Server, tmp_path: Path) -> None:
    files = _s3_settings(s3_server, s3_server.new_bucket())
    blobs = await open_blob_store(Settings(data_dir=tmp_path / "data", files=files))
    try:
        await blobs.put("_/spooled", _source(tmp_path, b"spooled"))
        async with blobs.open("_/spooled") as path:
            assert path.is_relative_to(tmp_path / "data")
        assert not path.exists()
    finally:
        await blobs.close()


async def test_copies_spooled_by_a_process_that_is_gone_are_deleted_on_connect(
    s3_server: S3Server, tmp_path: Path
) -> None:
    finished = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await finished.wait()
    spool = tmp_path / "data" / "spool"
    spool.mkdir(parents=True)
    orphan, own = spool / f"{finished.pid}-orphan", spool / f"{os.getpid()}-in-use"
    orphan.write_bytes(b"left by a killed worker")
    own.write_bytes(b"still being read")
    files = _s3_settings(s3_server, s3_server.new_bucket())
    blobs = await open_blob_store(Settings(data_dir=tmp_path / "data", files=files))
    await blobs.close()
    assert (orphan.exists(), own.exists()) == (False, True)


async def test_the_objects_sit_under_the_prefix_in_the_bucket(s3_server: S3Server, tmp_path: Path) -> None:
    bucket = s3_server.new_bucket()
    blobs = await open_blob_store(Settings(data_dir=tmp_path / "data", files=_s3_settings(s3_server, bucket)))
    try:
        await blobs.put("acme/report", _source(tmp_path, b"report"))
    finally:
        await blobs.close()
    stored = s3_server.client().get_object(Bucket=bucket, Key="blobs/acme/report")
    assert stored["Body"].read() == b"report"


async def test_a_bucket_that_does_not_exist_is_a_file_store_error_naming_it(
    s3_server: S3Server, tmp_path: Path
) -> None:
    files = _s3_settings(s3_server, "hub-test-no-such-bucket")
    blobs = await open_blob_store(Settings(data_dir=tmp_path / "data", files=files))
    try:
        with pytest.raises(FileStoreError, match="s3://hub-test-no-such-bucket/blobs/ .*NoSuchBucket"):
            await blobs.put("_/file", _source(tmp_path, b"bytes"))
    finally:
        await blobs.close()


async def test_an_s3_endpoint_that_does_not_answer_is_a_file_store_error(s3_server: S3Server, tmp_path: Path) -> None:
    files = _s3_settings(s3_server, "hub-test-bucket", endpoint_url=f"http://127.0.0.1:{free_port()}")
    blobs = await open_blob_store(Settings(data_dir=tmp_path / "data", files=files))
    try:
        with pytest.raises(FileStoreError, match="Could not read the file from s3://hub-test-bucket/blobs/"):
            async with blobs.open("_/file"):
                pass
    finally:
        await blobs.close()
