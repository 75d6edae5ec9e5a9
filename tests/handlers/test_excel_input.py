"""excelInput: .xlsx and .csv rows from an upload or a url, as JSON-ready records."""

from __future__ import annotations

import csv
import tracemalloc
from datetime import date, datetime
from pathlib import Path

import pytest

from handlers import excel_input
from handlers._sheets import SheetOptions, read_csv, read_xlsx
from handlers.contract import NodeError
from handlers.settings import NodeSettings
from tests.documents import corrupt_xlsx_bytes, csv_bytes, write_large_xlsx, xlsx_bomb_bytes, xlsx_bytes
from tests.fakes import DownloadService
from tests.handlers.conftest import Stores

SALES = {
    "Sales": [
        ["region", "amount", "closed", "note"],
        ["north", 1200.5, datetime(2024, 3, 1), None],
        ["south", 800, datetime(2024, 3, 2, 14, 30), "late"],
        [None, None, None, None],
        ["east", 0, date(2024, 3, 3), ""],
    ],
    "Targets": [["region", "target"], ["north", 1000]],
}
LARGE_ROWS = 100_000


@pytest.fixture(scope="module")
def large_sheet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("large") / "large.xlsx"
    write_large_xlsx(path, LARGE_ROWS)
    return path


async def test_xlsx_rows_keep_numbers_and_give_dates_as_iso_strings(stores: Stores) -> None:
    uploaded = await stores.upload("sales.xlsx", xlsx_bytes(SALES))
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id})
    assert result.output_data == {
        "rows": [
            {"region": "north", "amount": 1200.5, "closed": "2024-03-01", "note": None},
            {"region": "south", "amount": 800, "closed": "2024-03-02T14:30:00", "note": "late"},
            {"region": "east", "amount": 0, "closed": "2024-03-03", "note": None},
        ],
        "columns": ["region", "amount", "closed", "note"],
        "rowCount": 3,
    }


async def test_a_sheet_is_chosen_by_name_or_by_position(stores: Stores) -> None:
    uploaded = await stores.upload("sales.xlsx", xlsx_bytes(SALES))
    by_name = await stores.run(excel_input.run, {"fileId": uploaded.file_id, "sheet": "Targets"})
    by_position = await stores.run(excel_input.run, {"fileId": uploaded.file_id, "sheet": 1})
    assert by_name.output_data["rows"] == by_position.output_data["rows"] == [{"region": "north", "target": 1000}]


async def test_an_unknown_sheet_fails_naming_the_sheets_there_are(stores: Stores) -> None:
    uploaded = await stores.upload("sales.xlsx", xlsx_bytes(SALES))
    with pytest.raises(NodeError, match="no sheet 'Budget'; its sheets are 'Sales', 'Targets'"):
        await stores.run(excel_input.run, {"fileId": uploaded.file_id, "sheet": "Budget"})


async def test_header_row_skips_the_lines_above_it(stores: Stores) -> None:
    content = xlsx_bytes({"Report": [["Quarterly report"], [], ["name", "score"], ["Ada", 9], ["Grace", 10]]})
    uploaded = await stores.upload("report.xlsx", content)
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id, "headerRow": 3})
    assert result.output_data["rows"] == [{"name": "Ada", "score": 9}, {"name": "Grace", "score": 10}]


async def test_header_row_zero_names_the_columns_by_position(stores: Stores) -> None:
    uploaded = await stores.upload("plain.csv", csv_bytes([["Ada", "9"], ["Grace", "10"]]))
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id, "headerRow": 0})
    assert result.output_data["rows"] == [{"column_1": "Ada", "column_2": 9}, {"column_1": "Grace", "column_2": 10}]


async def test_max_rows_stops_reading(stores: Stores) -> None:
    uploaded = await stores.upload("sales.xlsx", xlsx_bytes(SALES))
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id, "maxRows": 1})
    assert result.output_data["rowCount"] == 1


async def test_max_rows_defaults_to_100_000_and_says_the_rows_were_cut(stores: Stores) -> None:
    uploaded = await stores.upload("many.csv", b"n\n" + b"1\n" * 100_001)
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id})
    assert result.output_data["rowCount"] == 100_000
    assert result.output_data["truncated"] is True
    assert any("more than 100,000 rows" in message for _, message in stores.logs)


async def test_a_file_within_max_rows_is_not_marked_truncated(stores: Stores) -> None:
    uploaded = await stores.upload("two.csv", b"n\n1\n2\n")
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id, "maxRows": 2})
    assert "truncated" not in result.output_data


async def test_a_zip_bomb_workbook_is_refused_before_its_parts_are_unpacked(stores: Stores) -> None:
    uploaded = await stores.upload("bomb.xlsx", xlsx_bomb_bytes(inflated_mb=300))
    tracemalloc.start()
    try:
        with pytest.raises(NodeError, match=r"xl/sharedStrings.xml unpacks to .* past the limit of 200 MB"):
            await stores.run(excel_input.run, {"fileId": uploaded.file_id})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


async def test_a_workbook_whose_parts_together_unpack_past_the_limit_is_refused(stores: Stores) -> None:
    uploaded = await stores.upload("bomb.xlsx", xlsx_bomb_bytes(inflated_mb=3, extra_parts=1))
    with pytest.raises(NodeError, match=r"its parts unpack to .* together, past the limit of 4 MB"):
        await stores.run(excel_input.run, {"fileId": uploaded.file_id}, settings=NodeSettings(max_uncompressed_mb=4))


def test_the_csv_sniffer_sees_at_most_4_kb_of_a_pathological_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """csv.Sniffer is quadratic: this 16 KB line took 2.7 s whole, holding the GIL; 4 KB of it takes 0.15 s."""
    samples: list[int] = []
    sniff = csv.Sniffer.sniff

    def measured(self: csv.Sniffer, sample: str, delimiters: str | None = None) -> type[csv.Dialect]:
        samples.append(len(sample))
        return sniff(self, sample, delimiters)

    monkeypatch.setattr(csv.Sniffer, "sniff", measured)
    path = tmp_path / "pathological.csv"
    path.write_text(',"' * 8000 + "\n")
    read_csv(path, SheetOptions())
    assert samples == [4096]


def test_a_given_delimiter_skips_the_sniffer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the sniffer ran")

    monkeypatch.setattr(csv.Sniffer, "sniff", refuse)
    path = tmp_path / "pathological.csv"
    path.write_text(',"' * 8000 + "\n")
    assert read_csv(path, SheetOptions(delimiter=";")).columns


async def test_a_csv_delimiter_is_sniffed_and_columns_of_numbers_hold_numbers(stores: Stores) -> None:
    content = csv_bytes(
        [["name", "zip", "amount", "ratio"], ["Ana", "08001", "12", "0.5"], ["Luis", "28013", "-3", "1,5"]], ";"
    )
    uploaded = await stores.upload("people.csv", content)
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id})
    assert result.output_data["rows"] == [
        {"name": "Ana", "zip": "08001", "amount": 12, "ratio": "0.5"},
        {"name": "Luis", "zip": "28013", "amount": -3, "ratio": "1,5"},
    ]


async def test_a_configured_delimiter_wins_over_sniffing(stores: Stores) -> None:
    uploaded = await stores.upload("pipes.csv", b"a|b;c\n1|2;3\n")
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id, "delimiter": ";"})
    assert result.output_data["rows"] == [{"a|b": "1|2", "c": 3}]


async def test_a_csv_that_is_not_utf8_past_its_first_bytes_fails_clearly(stores: Stores) -> None:
    content = b"name\n" + b"plain ascii\n" * 8000 + "café\n".encode("cp1252")
    uploaded = await stores.upload("legacy.csv", content)
    with pytest.raises(NodeError, match="'legacy.csv': it is not UTF-8 text; save it as CSV UTF-8"):
        await stores.run(excel_input.run, {"fileId": uploaded.file_id})


async def test_a_corrupt_workbook_fails_with_a_clear_message(stores: Stores) -> None:
    uploaded = await stores.upload("broken.xlsx", corrupt_xlsx_bytes())
    with pytest.raises(NodeError, match="Could not read 'broken.xlsx': it is not a readable Excel workbook"):
        await stores.run(excel_input.run, {"fileId": uploaded.file_id})


async def test_a_file_of_another_organization_is_not_found(stores: Stores) -> None:
    uploaded = await stores.upload("sales.xlsx", xlsx_bytes(SALES), organization_id="acme")
    with pytest.raises(NodeError, match="was uploaded for organization 'globex'"):
        await stores.run(excel_input.run, {"fileId": uploaded.file_id}, organization_id="globex")
    result = await stores.run(excel_input.run, {"fileId": uploaded.file_id}, organization_id="acme")
    assert result.output_data["rowCount"] == 3


async def test_a_pdf_is_not_read_as_a_sheet(stores: Stores) -> None:
    uploaded = await stores.upload("doc.pdf", b"%PDF-1.4\n")
    with pytest.raises(NodeError, match="excelInput reads .xlsx and .csv files"):
        await stores.run(excel_input.run, {"fileId": uploaded.file_id})


async def test_a_url_is_downloaded_and_read(stores: Stores, downloads: tuple[DownloadService, str]) -> None:
    service, url = downloads
    service.add("export", xlsx_bytes(SALES), "application/octet-stream")
    result = await stores.run(excel_input.run, {"url": f"{url}/files/export?token=t0k3n"})
    assert result.output_data["rowCount"] == 3


async def test_a_download_past_the_size_limit_is_refused(
    stores: Stores, downloads: tuple[DownloadService, str]
) -> None:
    service, url = downloads
    service.add("big.csv", b"value\n" + b"123456789\n" * 20_000, "text/csv")
    small = NodeSettings(max_file_mb=0.1)
    for route in ("files", "stream"):
        with pytest.raises(NodeError, match="is larger than the limit of 0.1 MB"):
            await stores.run(excel_input.run, {"url": f"{url}/{route}/big.csv"}, settings=small)


async def test_a_failed_download_names_the_status_but_not_the_query(
    stores: Stores, downloads: tuple[DownloadService, str]
) -> None:
    with pytest.raises(NodeError, match=r"/files/missing.csv failed: the server answered 404$"):
        await stores.run(excel_input.run, {"url": f"{downloads[1]}/files/missing.csv?token=t0k3n"})


def test_a_large_sheet_is_read_whole(large_sheet: Path) -> None:
    sheet = read_xlsx(large_sheet, SheetOptions())
    assert len(sheet.rows) == LARGE_ROWS
    assert sheet.rows[-1] == {"id": 99_999, "name": "customer 99999", "amount": 149_998.5, "region": "west"}


def test_a_large_sheet_streams_instead_of_loading_the_workbook(large_sheet: Path) -> None:
    """Loading this workbook whole takes over 150 MB; streaming its first rows takes a fraction of that."""
    tracemalloc.start()
    try:
        sheet = read_xlsx(large_sheet, SheetOptions(max_rows=10))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(sheet.rows) == 10
    assert peak < 40 * 1024 * 1024


@pytest.mark.parametrize(
    ("config", "path"),
    [
        ({}, "fileId"),
        ({"fileId": "f", "url": "https://example.com/a.csv"}, "url"),
        ({"url": "ftp://example.com/a.csv"}, "url"),
        ({"fileId": "f", "sheet": ["Sales"]}, "sheet"),
        ({"fileId": "f", "headerRow": -1}, "headerRow"),
        ({"fileId": "f", "maxRows": 0}, "maxRows"),
        ({"fileId": "f", "delimiter": ";;"}, "delimiter"),
    ],
)
def test_a_bad_config_is_refused_naming_the_field(config: dict[str, object], path: str) -> None:
    assert [problem.path for problem in excel_input.validate(config)] == [path]
