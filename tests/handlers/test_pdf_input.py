"""pdfInput: the text of each page of a PDF, and clear failures for locked or damaged files."""

from __future__ import annotations

import pytest

from handlers import pdf_input
from handlers.contract import NodeError
from tests.documents import damaged_pdf_bytes, encrypted_pdf_bytes, pdf_bytes
from tests.fakes import DownloadService
from tests.handlers.conftest import Stores


async def test_the_text_of_every_page_comes_out(stores: Stores) -> None:
    uploaded = await stores.upload("invoice.pdf", pdf_bytes(["Invoice 2024-117", "Total due: 1,250.00 EUR"]))
    result = await stores.run(pdf_input.run, {"fileId": uploaded.file_id})
    assert result.output_data == {
        "text": "Invoice 2024-117\n\nTotal due: 1,250.00 EUR",
        "pages": ["Invoice 2024-117", "Total due: 1,250.00 EUR"],
        "pageCount": 2,
    }


async def test_max_pages_reads_the_first_pages_and_counts_them_all(stores: Stores) -> None:
    uploaded = await stores.upload("book.pdf", pdf_bytes(["one", "two", "three"]))
    result = await stores.run(pdf_input.run, {"fileId": uploaded.file_id, "maxPages": 2})
    assert (result.output_data["pages"], result.output_data["pageCount"]) == (["one", "two"], 3)


async def test_an_encrypted_pdf_fails_saying_it_has_a_password(stores: Stores) -> None:
    uploaded = await stores.upload("locked.pdf", encrypted_pdf_bytes("secret salary list", "hunter22"))
    with pytest.raises(NodeError, match="'locked.pdf': it is encrypted with a password") as failure:
        await stores.run(pdf_input.run, {"fileId": uploaded.file_id})
    assert "salary" not in str(failure.value)


async def test_a_damaged_pdf_fails_saying_it_is_damaged(stores: Stores) -> None:
    uploaded = await stores.upload("broken.pdf", damaged_pdf_bytes())
    with pytest.raises(NodeError, match="Could not read the PDF 'broken.pdf': it is damaged"):
        await stores.run(pdf_input.run, {"fileId": uploaded.file_id})


async def test_a_spreadsheet_is_not_read_as_a_pdf(stores: Stores) -> None:
    uploaded = await stores.upload("data.csv", b"a,b\n1,2\n")
    with pytest.raises(NodeError, match="pdfInput reads PDF files"):
        await stores.run(pdf_input.run, {"fileId": uploaded.file_id})


async def test_a_pdf_at_a_url_is_read(stores: Stores, downloads: tuple[DownloadService, str]) -> None:
    service, url = downloads
    service.add("terms", pdf_bytes(["Terms and conditions"]), "application/pdf")
    result = await stores.run(pdf_input.run, {"url": f"{url}/files/terms"})
    assert result.output_data["pages"] == ["Terms and conditions"]


def test_a_bad_config_is_refused_naming_the_field() -> None:
    assert [problem.path for problem in pdf_input.validate({"fileId": "f", "maxPages": 0})] == ["maxPages"]
    assert [problem.path for problem in pdf_input.validate({})] == ["fileId"]
