"""``excelInput``: the rows of an .xlsx sheet or a .csv file, from an upload (``fileId``) or a ``url``.

Options: ``sheet`` (a name, or a position from 0), ``headerRow`` (1 by default; 0 when there is none),
``maxRows`` (100,000 by default), and for CSV ``delimiter`` (sniffed from the first 4 KB when absent).
Output ``{rows, columns, rowCount}``, with ``truncated: true`` when the file holds more than ``maxRows``.
An .xlsx whose parts unpack past ``HUB_MAX_UNCOMPRESSED_MB`` is refused before it is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from handlers._records import table
from handlers._sheets import SheetError, SheetOptions, read_csv, read_xlsx
from handlers._sources import file_source_problems, open_source
from handlers._validation import optional_integer, raise_problems
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult
from handlers.settings import NodeSettings
from handlers.templating import is_template

DEFAULT_MAX_ROWS = 100_000


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    problems = [
        *file_source_problems(config),
        *optional_integer(config, "headerRow", minimum=0),
        *optional_integer(config, "maxRows", minimum=1),
    ]
    sheet = config.get("sheet")
    if isinstance(sheet, bool) or (sheet is not None and not isinstance(sheet, str | int)):
        problems.append(ConfigProblem("sheet", "sheet must be a sheet name or a position counted from 0"))
    elif isinstance(sheet, int) and sheet < 0:
        problems.append(ConfigProblem("sheet", "sheet must be a position counted from 0"))
    delimiter = config.get("delimiter")
    if delimiter is not None and not (isinstance(delimiter, str) and (len(delimiter) == 1 or is_template(delimiter))):
        problems.append(ConfigProblem("delimiter", "delimiter must be one character, such as ; or a tab"))
    return problems


def _options(config: Mapping[str, Any], settings: NodeSettings) -> SheetOptions:
    return SheetOptions(
        sheet=config.get("sheet"),
        header_row=int(config.get("headerRow", 1)),
        max_rows=int(config["maxRows"]) if config.get("maxRows") is not None else DEFAULT_MAX_ROWS,
        delimiter=config.get("delimiter") or None,
        max_uncompressed_bytes=int(settings.max_uncompressed_mb * 2**20),
    )


async def run(ctx: NodeContext) -> NodeResult:
    raise_problems(validate(ctx.config))
    options = _options(ctx.config, ctx.settings)
    async with open_source(ctx) as source:
        if source.kind.name == "xlsx":
            read = read_xlsx
        elif source.kind.is_text:
            read = read_csv
        else:
            raise NodeError(f"{source.name!r} is {source.kind.description}; excelInput reads .xlsx and .csv files")
        try:
            sheet = await asyncio.to_thread(read, source.path, options)
        except SheetError as error:
            raise NodeError(f"Could not read {source.name!r}: {error}") from None
    output = table(sheet.rows, sheet.columns)
    if sheet.truncated:
        output["truncated"] = True
        await ctx.log(
            f"{source.name} holds more than {options.max_rows:,} rows; only the first ones are kept. "
            "Raise config.maxRows to read more.",
            "warning",
        )
        return NodeResult(True, f"Read the first {len(sheet.rows)} row(s) of {source.name}", output)
    return NodeResult(True, f"Read {len(sheet.rows)} row(s) from {source.name}", output)
