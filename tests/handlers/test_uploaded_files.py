"""Nodes read uploads through the file store the same way whether it is a folder or an S3 bucket (moto's server)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from handlers import excel_input, pdf_input, send_email
from handlers.contract import NodeError
from handlers.settings import NodeSettings, SmtpSettings
from hub.blobs import open_blob_store
from hub.files import blob_key
from hub.settings import FileStoreSettings, S3Settings, Settings
from tests.backends import MailServer, S3Server
from tests.documents import csv_bytes, pdf_bytes
from tests.handlers.conftest import Stores, open_stores


@pytest.fixture(scope="module")
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


def _file_store(request: pytest.FixtureRequest, directory: Path) -> FileStoreSettings:
    if request.param == "folder":
        return FileStoreSettings(folder=directory / "files")
    server: S3Server = request.getfixturevalue("s3_server")
    credentials = S3Settings(server.url, server.region, server.access_key_id, server.secret_access_key)
    return FileStoreSettings(bucket=server.new_bucket(), prefix="uploads/", s3=credentials)


@pytest_asyncio.fixture(loop_scope="session", params=["folder", "s3"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    settings = Settings(data_dir=tmp_path / "data", files=_file_store(request, tmp_path))
    async with open_stores(tmp_path, await open_blob_store(settings)) as opened:
        yield opened


async def test_excel_input_reads_an_upload(stores: Stores) -> None:
    uploaded = await stores.upload("people.csv", csv_bytes([["name", "age"], ["Ada", "36"]]), "acme")
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id}, organization_id="acme")
    assert result.output_data["rows"] == [{"name": "Ada", "age": 36}]


async def test_pdf_input_reads_an_upload(stores: Stores) -> None:
    uploaded = await stores.upload("memo.pdf", pdf_bytes(["Memo"]))
    result = await stores.run(pdf_input.run, {"fileId": uploaded.file_id})
    assert result.output_data["pages"] == ["Memo"]


async def test_send_email_attaches_an_upload_whole(stores: Stores, mail: MailServer) -> None:
    content = csv_bytes([["name"], ["Ada"]])
    uploaded = await stores.upload("people.csv", content)
    smtp = SmtpSettings(host="127.0.0.1", port=mail.port, starttls=False, sender="hub@example.com")
    address = f"{uploaded.file_id}@example.com"
    config = {"to": address, "text": "attached", "attachments": [uploaded.file_id]}
    await stores.run(send_email.run, config, settings=NodeSettings(smtp=smtp))
    [received] = mail.messages_to(address)
    [attachment] = received.message.iter_attachments()
    assert (attachment.get_filename(), attachment.get_content().encode()) == ("people.csv", content)


async def test_another_organizations_upload_is_not_found(stores: Stores) -> None:
    uploaded = await stores.upload("people.csv", csv_bytes([["name"], ["Ada"]]), "owner")
    with pytest.raises(NodeError, match=f"No file '{uploaded.file_id}' was uploaded for organization 'other'"):
        await stores.run(excel_input.run, {"fileId": uploaded.file_id}, organization_id="other")


async def test_an_upload_whose_content_is_gone_fails_the_node_with_the_same_message(stores: Stores) -> None:
    uploaded = await stores.upload("people.csv", csv_bytes([["name"], ["Ada"]]), "acme")
    await stores.catalog.blobs.delete(blob_key("acme", uploaded.file_id))
    expected = f"The content of file '{uploaded.file_id}' (people.csv) is missing from the file store; upload it again"
    with pytest.raises(NodeError) as failed:
        await stores.run(excel_input.run, {"fileId": uploaded.file_id}, organization_id="acme")
    assert str(failed.value) == expected
