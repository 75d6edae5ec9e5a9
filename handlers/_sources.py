"""Where a file-reading node gets its file: an upload (``config.fileId``) or a download (``config.url``).

A download goes through the worker's guarded client, streams to a temporary file, counting decompressed
bytes against ``HUB_MAX_UPLOAD_MB``, within one deadline (``HUB_HTTP_TIMEOUT_SECONDS``) for the whole
transfer; the temporary file is gone when the node is done with it. An upload comes through the file store,
which may spool it to a local file for the block. Either way the node gets a path to read in a thread.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import httpx

from handlers.bodies import ByteCap, capped_chunks, shown_url
from handlers.contract import ConfigProblem, NodeContext, NodeError
from handlers.egress import url_problem
from handlers.filetypes import FileKind, kind_of_content_type, recognise
from handlers.templating import is_template


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file on local disk, with the name people know it by and its recognised kind."""

    path: Path
    name: str
    kind: FileKind


def file_source_problems(config: Mapping[str, Any]) -> list[ConfigProblem]:
    """Exactly one of ``fileId`` and ``url``; a url that is not a template must be http(s)."""
    file_id, url = config.get("fileId"), config.get("url")
    problems = []
    for key, value in (("fileId", file_id), ("url", url)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            problems.append(ConfigProblem(key, f"{key} must be a non-empty string"))
    if file_id is None and url is None:
        problems.append(ConfigProblem("fileId", "fileId (an uploaded file) or url is required"))
    elif file_id is not None and url is not None:
        problems.append(ConfigProblem("url", "give fileId or url, not both"))
    problem = url_problem(url) if isinstance(url, str) and url.strip() and not is_template(url) else None
    if problem is not None:
        problems.append(ConfigProblem("url", f"url {problem}"))
    return problems


@asynccontextmanager
async def open_source(ctx: NodeContext) -> AsyncIterator[SourceFile]:
    """The node's file, downloaded first when it comes from a url."""
    file_id = ctx.config.get("fileId")
    if file_id is not None:
        async with _uploaded(ctx, str(file_id)) as source:
            yield source
        return
    directory = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="hub-download-"))
    try:
        yield await _download(ctx, str(ctx.config["url"]), directory)
    finally:
        await asyncio.to_thread(shutil.rmtree, directory, True)


@asynccontextmanager
async def _uploaded(ctx: NodeContext, file_id: str) -> AsyncIterator[SourceFile]:
    if ctx.files is None:
        raise NodeError("This run has no file store, so fileId cannot be read")
    async with ctx.files.open(file_id) as stored:
        kind = kind_of_content_type(stored.content_type)
        if kind is None:
            raise NodeError(f"{stored.name!r} has the unsupported content type {stored.content_type}")
        yield SourceFile(Path(stored.path), stored.name, kind)


async def _download(ctx: NodeContext, url: str, directory: Path) -> SourceFile:
    problem = url_problem(url)
    if problem is not None:
        raise NodeError(f"url {problem}")
    cap = ByteCap(ctx.settings.max_file_mb, "HUB_MAX_UPLOAD_MB")
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "download"
    path = directory / "download"
    timeout = ctx.settings.http_timeout_seconds
    try:
        async with asyncio.timeout(timeout), ctx.http.stream("GET", url) as response:
            if response.status_code >= 400:
                raise NodeError(f"Fetching {shown_url(url)} failed: the server answered {response.status_code}")
            async with await anyio.open_file(path, "wb") as file:
                async for chunk in capped_chunks(response, cap, f"The file at {shown_url(url)}"):
                    await file.write(chunk)
            content_type = response.headers.get("content-type", "")
    except (TimeoutError, httpx.TimeoutException):
        raise NodeError(f"Fetching {shown_url(url)} timed out after {timeout:g} s") from None
    except httpx.HTTPError as error:
        raise NodeError(f"Fetching {shown_url(url)} failed: {type(error).__name__}: {error}") from None
    kind = await asyncio.to_thread(recognise, path, name, content_type)
    if kind is None:
        raise NodeError(f"The file at {shown_url(url)} is not of a type the hub reads")
    return SourceFile(path, name, kind)
