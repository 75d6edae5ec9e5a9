"""``pdfInput``: the text of a PDF, from an upload (``fileId``) or a ``url``, read with pypdf in a thread.

Output ``{text, pages: [text of each page], pageCount}``; ``maxPages`` stops early on a long document.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from handlers._sources import file_source_problems, open_source
from handlers._validation import optional_integer, raise_problems
from handlers.contract import ConfigProblem, NodeContext, NodeError, NodeResult


class _Unreadable(Exception):
    pass


def validate(config: Mapping[str, Any]) -> list[ConfigProblem]:
    return [*file_source_problems(config), *optional_integer(config, "maxPages", minimum=1)]


def _read(path: Path, max_pages: int | None) -> dict[str, Any]:
    try:
        reader = PdfReader(path)
    except Exception as error:  # noqa: BLE001 - any parser failure means a damaged file
        raise _Unreadable(f"it is damaged or not a PDF ({type(error).__name__}: {error})") from None
    if reader.is_encrypted:
        try:
            opened = bool(reader.decrypt(""))
        except Exception:  # noqa: BLE001 - an encryption the library cannot open is a locked file too
            opened = False
        if not opened:
            raise _Unreadable("it is encrypted with a password; upload a copy without a password")
    try:
        count = len(reader.pages)
        pages = [(page.extract_text() or "").strip() for page in reader.pages[: max_pages or count]]
    except Exception as error:  # noqa: BLE001 - a damaged page tree shows up only while reading pages
        raise _Unreadable(f"it is damaged ({type(error).__name__}: {error})") from None
    return {"text": "\n\n".join(pages), "pages": pages, "pageCount": count}


async def run(ctx: NodeContext) -> NodeResult:
    raise_problems(validate(ctx.config))
    max_pages = ctx.config.get("maxPages")
    async with open_source(ctx) as source:
        if source.kind.name != "pdf":
            raise NodeError(f"{source.name!r} is {source.kind.description}; pdfInput reads PDF files")
        try:
            output = await asyncio.to_thread(_read, source.path, max_pages)
        except _Unreadable as error:
            raise NodeError(f"Could not read the PDF {source.name!r}: {error}") from None
    return NodeResult(True, f"Read {len(output['pages'])} of {output['pageCount']} page(s) from {source.name}", output)
