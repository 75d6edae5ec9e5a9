"""``excelInput``: the rows of an .xlsx sheet or a .csv file, from an upload (``fileId``) or a ``url``.

Options: ``sheet`` (a name, or a position from 0), ``headerRow`` (1 by default; 0 when there is none),
``maxRows``, and for CSV ``delimiter`` (sniffed when absent). Output ``{rows, columns, rowCount}``.
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
from handlers.templating import is_template


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


def _options(config: Mapping[str, Any]) -> SheetOptions:
    return SheetOptions(
        sheet=config.get("sheet"),
        header_row=int(config.get("headerRow", 1)),
        max_rows=int(config["maxRows"]) if config.get("maxRows") is not None else None,
        delimiter=config.get("delimiter") or None,
    )


async def run(ctx: NodeContext) -> NodeResult:
    raise_problems(validate(ctx.config))
    options = _options(ctx.config)
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
    return NodeResult(True, f"Read {len(sheet.rows)} row(s) from {source.name}", table(sheet.rows, sheet.columns))
