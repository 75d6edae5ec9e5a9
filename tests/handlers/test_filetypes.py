"""File types are recognised by content: a name only says what a file claims to be."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from handlers.filetypes import UnsupportedFile, identify, recognise
from tests.documents import PNG_BYTES, corrupt_xlsx_bytes, csv_bytes, pdf_bytes, xlsx_bytes


def _file(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "file"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        (
            "book.xlsx",
            xlsx_bytes({"Sheet": [["a"], [1]]}),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("data.csv", csv_bytes([["a", "b"], ["ñandú", "2"]]), "text/csv"),
        ("report.pdf", pdf_bytes(["hello"]), "application/pdf"),
        ("notes.txt", "plain text, UTF-8: ü".encode(), "text/plain"),
        ("payload.json", b'{"a": [1, 2]}', "application/json"),
        ("pixel.png", PNG_BYTES, "image/png"),
        ("photo.JPG", b"\xff\xd8\xff\xe0" + bytes(32), "image/jpeg"),
    ],
)
def test_an_accepted_file_is_identified_with_its_content_type(
    tmp_path: Path, name: str, content: bytes, content_type: str
) -> None:
    assert identify(_file(tmp_path, content), name).content_type == content_type


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("book.xlsx", b"name,amount\nAda,1\n", "not an Excel workbook"),
        ("book.xlsx", xlsx_bytes({"Sheet": [["a"]]})[:500], "not an Excel workbook"),
        ("report.pdf", b"<html>not a pdf</html>", "not a PDF document"),
        ("data.csv", bytes(range(256)), "not UTF-8 text"),
        ("data.csv", "café;1\n".encode("cp1252"), "not UTF-8 text"),
        ("payload.json", b"{broken", "not a JSON document"),
        ("pixel.png", pdf_bytes(["x"]), "not a PNG image"),
    ],
)
def test_content_that_disagrees_with_the_name_is_refused(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    with pytest.raises(UnsupportedFile, match=reason):
        identify(_file(tmp_path, content), name)


@pytest.mark.parametrize("name", ["program.exe", "archive.zip", "README", "old.xls"])
def test_types_outside_the_list_are_refused_naming_the_accepted_ones(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsupportedFile, match="not accepted; send one of: csv, gif, jpeg, jpg, json, pdf"):
        identify(_file(tmp_path, b"anything"), name)


def test_a_zip_with_excel_part_names_passes_the_content_check(tmp_path: Path) -> None:
    """Only reading it tells that it is corrupt; excelInput reports that clearly."""
    assert identify(_file(tmp_path, corrupt_xlsx_bytes()), "book.xlsx").name == "xlsx"


def test_a_download_without_a_telling_name_is_recognised_by_content(tmp_path: Path) -> None:
    assert recognise(_file(tmp_path, xlsx_bytes({"S": [["a"]]})), "export", "application/octet-stream").name == "xlsx"
    assert recognise(_file(tmp_path, b"a;b\n1;2\n"), "", "").name == "csv"
    assert recognise(_file(tmp_path, bytes(range(256))), "blob", "") is None


def test_a_large_json_upload_is_checked_without_building_the_document(tmp_path: Path) -> None:
    """A full parse of this 20 MB array builds over 100 MB of objects; the streamed check holds a few KB."""
    content = b"[" + b",".join(b'{"id": %d, "name": "customer"}' % index for index in range(700_000)) + b"]"
    path = _file(tmp_path, content)
    tracemalloc.start()
    try:
        kind = identify(path, "customers.json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kind.name == "json"
    assert peak < 5 * 1024 * 1024


def test_a_json_document_followed_by_more_text_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFile, match="not a JSON document"):
        identify(_file(tmp_path, b'{"a": 1} {"b": 2}'), "two.json")
