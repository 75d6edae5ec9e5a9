"""Reading .xlsx and .csv files into records, a row at a time (blocking: call these in a thread).

openpyxl's read-only mode streams the sheet's XML, so a sheet of 100,000 rows is never in memory as a
workbook; only the records asked for are. Dates become ISO 8601 strings (a date without a time of day
as ``2024-03-01``) and numbers stay numbers, so the records are JSON as they are. In a CSV, a column of
numbers holds numbers. An empty cell is ``None``.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl

_SNIFF_CHARS = 4 * 1024
"""csv.Sniffer is quadratic in its sample: 4 KB of whole lines tell the delimiter as well as 64 KB do."""
_DELIMITERS = ",;\t|"
_NUMBER = re.compile(r"^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$")


class SheetError(Exception):
    """Raised when a file cannot be read as the sheet asked for; the message says why."""


@dataclass(frozen=True, slots=True)
class SheetOptions:
    sheet: str | int | None = None
    header_row: int = 1
    """The 1-based row holding the column names; 0 when the file has none (columns are column_1, ...)."""
    max_rows: int | None = None
    delimiter: str | None = None
    max_uncompressed_bytes: int | None = None
    """What the parts of an .xlsx may unpack to, each and all together."""


@dataclass(frozen=True, slots=True)
class Sheet:
    rows: list[dict[str, Any]]
    columns: list[str]
    truncated: bool = False
    """True when the file holds more than ``max_rows`` rows, and only the first ones were read."""


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str) and not value:
        return None
    return value


def _number(text: str) -> int | float:
    return float(text) if any(mark in text for mark in ".eE") else int(text)


def _numbers_by_column(sheet: Sheet) -> Sheet:
    """A CSV column whose every value is a canonical number holds numbers; one "007" or "1,5" keeps the
    whole column text, so zip codes and local decimals survive."""
    for column in sheet.columns:
        values = [row.get(column) for row in sheet.rows]
        if any(value is not None for value in values) and all(
            value is None or _NUMBER.match(value) for value in values
        ):
            for row in sheet.rows:
                if row.get(column) is not None:
                    row[column] = _number(row[column])
    return sheet


def _names(header: Sequence[Any]) -> list[str]:
    """Column names from a header row: blanks get column_N, repeats get _2, _3."""
    names: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(header, start=1):
        base = str(_cell(value)).strip() if value not in (None, "") else f"column_{index}"
        name, suffix = base, 2
        while name in seen:
            name, suffix = f"{base}_{suffix}", suffix + 1
        seen.add(name)
        names.append(name)
    return names


def _records(lines: Iterable[Sequence[Any]], options: SheetOptions) -> Sheet:
    columns: list[str] = []
    rows: list[dict[str, Any]] = []
    for number, values in enumerate(lines, start=1):
        if number < options.header_row:
            continue
        if number == options.header_row:
            columns = _names(values)
            continue
        if all(value is None for value in values):
            continue
        if len(values) > len(columns):
            columns.extend(f"column_{index}" for index in range(len(columns) + 1, len(values) + 1))
        if options.max_rows is not None and len(rows) >= options.max_rows:
            return Sheet(rows, columns, truncated=True)
        rows.append({name: values[index] if index < len(values) else None for index, name in enumerate(columns)})
    return Sheet(rows, columns)


def check_unpacked_size(path: Path, max_bytes: int) -> None:
    """Refuses a zip whose parts would unpack past ``max_bytes``, each or all together, before any is read.

    The sizes come from the zip's directory; zipfile never inflates a part past its recorded size, so a
    part that lies about it fails its CRC check instead of filling memory.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise SheetError(f"it is not a readable Excel workbook ({error})") from None
    limit = f"the limit of {max_bytes / 2**20:g} MB (HUB_MAX_UNCOMPRESSED_MB)"
    for member in members:
        if member.file_size > max_bytes:
            raise SheetError(f"its part {member.filename} unpacks to {member.file_size:,} bytes, past {limit}")
    total = sum(member.file_size for member in members)
    if total > max_bytes:
        raise SheetError(f"its parts unpack to {total:,} bytes together, past {limit}")


def read_xlsx(path: Path, options: SheetOptions) -> Sheet:
    if options.max_uncompressed_bytes is not None:
        check_unpacked_size(path, options.max_uncompressed_bytes)
    # A file object, not a path: openpyxl judges a path by its extension, and uploads are stored without one.
    with path.open("rb") as file:
        try:
            workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
        except Exception as error:  # noqa: BLE001 - any failure to open means the file is not a readable workbook
            raise SheetError(f"it is not a readable Excel workbook ({type(error).__name__}: {error})") from None
        try:
            worksheet = _worksheet(workbook, options.sheet)
            lines = (tuple(_cell(value) for value in row) for row in worksheet.iter_rows(values_only=True))
            try:
                return _records(lines, options)
            except Exception as error:  # noqa: BLE001 - a damaged sheet fails part-way through its XML
                raise SheetError(f"its sheet could not be read ({type(error).__name__}: {error})") from None
        finally:
            workbook.close()


def _worksheet(workbook: Any, sheet: str | int | None) -> Any:
    names = workbook.sheetnames
    if sheet is None:
        return workbook.worksheets[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise SheetError(f"it has {len(names)} sheet(s), so there is no sheet {sheet} (counted from 0)")
        return workbook.worksheets[sheet]
    if sheet not in names:
        raise SheetError(f"it has no sheet {sheet!r}; its sheets are {', '.join(map(repr, names))}")
    return workbook[sheet]


def read_csv(path: Path, options: SheetOptions) -> Sheet:
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            delimiter = options.delimiter or _sniff(file.read(_SNIFF_CHARS))
            file.seek(0)
            lines = (tuple(value or None for value in row) for row in csv.reader(file, delimiter=delimiter))
            return _numbers_by_column(_records(lines, options))
    except UnicodeDecodeError:
        raise SheetError("it is not UTF-8 text; save it as CSV UTF-8") from None
    except csv.Error as error:
        raise SheetError(f"it is not a readable CSV file ({error})") from None


def _sniff(sample: str) -> str:
    """The delimiter of the sample's whole lines, or a comma when it cannot tell."""
    whole = sample[: sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(whole, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","
