"""Real files for the tests, made with the libraries people make them with: openpyxl, reportlab, pypdf."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
from pypdf import PdfReader, PdfWriter
from reportlab.pdfgen import canvas


def xlsx_bytes(sheets: dict[str, Sequence[Sequence[Any]]]) -> bytes:
    """A workbook with one sheet per entry, rows written as given."""
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_large_xlsx(path: Path, rows: int) -> None:
    """A sheet of ``rows`` rows under a header, written in openpyxl's streaming mode."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Data")
    sheet.append(["id", "name", "amount", "region"])
    for index in range(rows):
        sheet.append([index, f"customer {index}", index * 1.5, ("north", "south", "east", "west")[index % 4]])
    workbook.save(path)


def corrupt_xlsx_bytes() -> bytes:
    """A zip with an Excel workbook's part names whose workbook part is not XML at all."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "this is not a workbook")
    return buffer.getvalue()


def xlsx_bomb_bytes(inflated_mb: int, extra_parts: int = 0) -> bytes:
    """A real workbook whose sharedStrings.xml inflates to ``inflated_mb`` MB from a few hundred KB;
    with ``extra_parts``, that many more parts of the same size sit beside it."""
    workbook = xlsx_bytes({"Sheet": [["name"], ["Ada"]]})
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bomb:
        for member in source.infolist():
            if member.filename != "xl/sharedStrings.xml":
                bomb.writestr(member, source.read(member))
        with bomb.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            block = b"<si><t>" + b"A" * (1024 * 1024 - 16) + b"</t></si>"
            for _ in range(inflated_mb):
                strings.write(block)
            strings.write(b"</sst>")
        for index in range(extra_parts):
            bomb.writestr(f"xl/media/fill{index}.bin", b"\0" * inflated_mb * 1024 * 1024)
    return buffer.getvalue()


def csv_bytes(rows: Iterable[Sequence[Any]], delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode()


def pdf_bytes(pages: Sequence[str]) -> bytes:
    """A PDF with one page per text, drawn as real text that a reader extracts."""
    buffer = io.BytesIO()
    document = canvas.Canvas(buffer)
    for text in pages:
        document.drawString(72, 720, text)
        document.showPage()
    document.save()
    return buffer.getvalue()


def encrypted_pdf_bytes(text: str, password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes([text]))))
    writer.encrypt(user_password=password, algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def damaged_pdf_bytes() -> bytes:
    """Starts like a PDF, so an upload accepts it, but holds nothing a reader can parse."""
    return b"%PDF-1.7\n" + bytes(range(256)) * 8


PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
