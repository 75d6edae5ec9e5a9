"""Receives a multipart/form-data upload as it streams in.

The file part goes straight to a file on disk, its bytes counted on the way: past the limit the upload
stops with a 413 and its partial file is deleted. A name with a path in it is refused before a byte is
written. Disk writes run in threads, gathered into large blocks so that a big upload takes few thread hops.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from hub.errors import BadRequest, InvalidRequest, PayloadTooLarge, Problem

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

ENVELOPE_BYTES = 64 * 1024
"""What multipart framing and small form fields may add to a request beyond the file itself."""

_FIELD_BYTES = 1024
_MAX_FIELDS = 20
_WRITE_BLOCK = 1024 * 1024
_MAX_NAME = 255


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    name: str
    path: Path
    size: int


@dataclass(slots=True)
class Upload:
    """The form's text fields, and the file part once it arrived whole."""

    fields: dict[str, str] = field(default_factory=dict)
    file: ReceivedFile | None = None


def _invalid(path: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"The upload has a problem with {path}", [Problem(path, message)])


def file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a stored file's name, or ``None`` when it can."""
    if not name.strip():
        return "the file needs a name"
    if any(mark in name for mark in ("/", "\\", "\x00")) or ".." in name:
        return f"the file name {name!r} has a path in it; send the bare name, such as report.csv"
    if len(name.encode()) > _MAX_NAME or any(ord(char) < 32 for char in name):
        return "the file name must be at most 255 bytes, without control characters"
    return None


def _disposition(raw: bytes) -> tuple[str | None, str | None]:
    """The part's field name and file name. The email parser keeps the file name exactly as sent,
    where multipart parsers strip what looks like a Windows path."""
    message = Message()
    message["content-disposition"] = raw.decode("utf-8", errors="replace")
    name = message.get_param("name", header="content-disposition")
    filename = message.get_param("filename", header="content-disposition")
    return (name if isinstance(name, str) else None, filename if isinstance(filename, str) else None)


class _Receiver:
    """The parser's callbacks (plain functions) and the async side that writes the file."""

    def __init__(self, directory: Path, max_bytes: int, file_field: str) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.file_field = file_field
        self.upload = Upload()
        self.path: Path | None = None
        self._handle: anyio.AsyncFile[bytes] | None = None
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._size = 0
        self._file_name: str | None = None
        self._in_file = False
        self._field_name: str | None = None
        self._text = bytearray()
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._disposition = b""
        self._fields = 0
        self.complete = False

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._in_file = False
        self._field_name = None
        self._text.clear()

    def _header_end(self) -> None:
        if bytes(self._header_name).lower() == b"content-disposition":
            self._disposition = bytes(self._header_value)
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        name, filename = _disposition(self._disposition)
        if name is None:
            raise BadRequest("A multipart part has no name in its Content-Disposition header")
        self._fields += 1
        if self._fields > _MAX_FIELDS:
            raise BadRequest(f"The upload has more than {_MAX_FIELDS} form fields")
        self._field_name = name
        if filename is None:
            return
        if name != self.file_field:
            raise _invalid(name, f"only the field {self.file_field!r} may hold a file")
        if self._file_name is not None:
            raise _invalid(self.file_field, "send one file per upload")
        problem = file_name_problem(filename)
        if problem is not None:
            raise _invalid(self.file_field, problem)
        self._file_name = filename
        self._in_file = True

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            if len(self._text) + end - start > _FIELD_BYTES:
                raise _invalid(self._field_name or "field", f"a form field may hold at most {_FIELD_BYTES} bytes")
            self._text.extend(data[start:end])
            return
        self._size += end - start
        if self._size > self.max_bytes:
            raise PayloadTooLarge(f"The file is larger than the upload limit of {_megabytes(self.max_bytes)}")
        self._pending.append(data[start:end])
        self._pending_bytes += end - start

    def _part_end(self) -> None:
        if self._in_file or self._field_name is None:
            return
        try:
            self.upload.fields[self._field_name] = self._text.decode()
        except UnicodeDecodeError:
            raise _invalid(self._field_name, "a form field must be UTF-8 text") from None

    def _end(self) -> None:
        self.complete = True

    async def write_pending(self, *, final: bool = False) -> None:
        if self._file_name is None or (self._pending_bytes < _WRITE_BLOCK and not final):
            return
        if self._handle is None:
            self.path = self.directory / uuid.uuid4().hex
            await anyio.Path(self.directory).mkdir(parents=True, exist_ok=True)
            self._handle = await anyio.open_file(self.path, "wb")
        block = b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        if block:
            await self._handle.write(block)

    async def finish(self) -> None:
        await self.write_pending(final=True)
        await self.close()
        if self._file_name is not None and self.path is not None:
            self.upload.file = ReceivedFile(self._file_name, self.path, self._size)

    async def close(self) -> None:
        if self._handle is not None:
            await self._handle.aclose()
            self._handle = None

    async def discard(self) -> None:
        await self.close()
        if self.path is not None:
            await anyio.Path(self.path).unlink(missing_ok=True)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _boundary(request: Request) -> bytes:
    content_type, options = parse_options_header(request.headers.get("content-type"))
    if content_type != b"multipart/form-data" or not options.get(b"boundary"):
        raise BadRequest("Send the file as multipart/form-data, in a field named 'file'")
    return options[b"boundary"]


@contextlib.asynccontextmanager
async def receive_upload(
    request: Request, directory: Path, max_bytes: int, *, file_field: str = "file"
) -> AsyncIterator[Upload]:
    """Streams the request's multipart body; the file lands under ``directory``.

    The received file is deleted when the block exits, unless the caller has moved it away. The request as a
    whole is held to ``max_bytes`` plus ``ENVELOPE_BYTES`` by ``hub.body_limit``, in front of every route.
    """
    receiver = _Receiver(directory, max_bytes, file_field)
    parser = MultipartParser(_boundary(request), receiver.callbacks())
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                await receiver.write_pending()
            parser.finalize()
            if not receiver.complete:
                raise BadRequest("The upload ended before its closing multipart boundary")
        except FormParserError:
            raise BadRequest("The upload is not valid multipart/form-data") from None
        except ClientDisconnect:
            raise BadRequest("The client went away before the upload was complete") from None
        await receiver.finish()
        yield receiver.upload
    finally:
        await receiver.discard()
