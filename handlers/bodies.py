"""Response bodies read within a byte cap, decompressed within the same cap, under one deadline per call.

httpx decompresses a whole network chunk at once and times out per read, so a gzip bomb inflates in memory
and a server that trickles an endless body never times out. Here the raw bytes are counted, the
decompressor is never asked for more than what is left of the cap, and the caller's ``asyncio.timeout``
bounds the whole call.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from handlers.contract import NodeError

_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ByteCap:
    """The most bytes a body may have once decompressed, and the setting that says so, for messages."""

    megabytes: float
    setting: str

    @property
    def max_bytes(self) -> int:
        return int(self.megabytes * 1024 * 1024)

    def message(self, what: str) -> str:
        return f"{what} is larger than the limit of {self.megabytes:g} MB ({self.setting})"


def shown_url(url: str | httpx.URL) -> str:
    """The URL without credentials or query string, which may hold secrets, for messages and events."""
    try:
        parts = urlsplit(str(url))
        port = parts.port
    except ValueError:
        return "(a URL that cannot be parsed)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


class _Inflater:
    """One content-encoding undone, never producing more than it is allowed."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            raise NodeError(f"The response uses the content-encoding {encoding!r}, which the hub does not read")
        self._first = True

    def feed(self, data: bytes, room: int) -> bytes:
        """At most ``room + 1`` bytes of output (one more than fits tells the caller it is over the cap)."""
        if self._zlib is None:
            return data
        try:
            return bytes(self._zlib.decompress(data, room + 1))
        except zlib.error:
            if self.encoding == "deflate" and self._first:
                # Some servers send raw deflate without the zlib header, as httpx also tolerates.
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                return self.feed(data, room)
            raise NodeError("The response's compressed body is damaged") from None
        finally:
            self._first = False


async def capped_chunks(response: httpx.Response, cap: ByteCap, what: str) -> AsyncIterator[bytes]:
    """The body's decoded bytes, chunk by chunk; raises ``NodeError`` once they pass the cap."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap.max_bytes:
        raise NodeError(cap.message(what))
    encodings = [part.strip().lower() for part in response.headers.get("content-encoding", "").split(",")]
    if len(encodings) > 1:
        raise NodeError(f"The response uses several content-encodings ({', '.join(encodings)}); the hub reads one")
    inflater = _Inflater(encodings[0])
    raw = decoded = 0
    async for data in response.aiter_raw(_CHUNK_BYTES):
        raw += len(data)
        chunk = inflater.feed(data, cap.max_bytes - decoded)
        decoded += len(chunk)
        if raw > cap.max_bytes or decoded > cap.max_bytes:
            raise NodeError(cap.message(what))
        if chunk:
            yield chunk


async def read_capped(response: httpx.Response, cap: ByteCap, what: str) -> httpx.Response:
    """The response with its body read within the cap, decoded, so ``.json()`` and ``.text`` work as usual."""
    body = b"".join([chunk async for chunk in capped_chunks(response, cap, what)])
    dropped = ("content-encoding", "content-length")
    headers = [(key, value) for key, value in response.headers.multi_items() if key.lower() not in dropped]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions={"reason_phrase": response.reason_phrase.encode()},
    )
