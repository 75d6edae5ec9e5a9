"""Request bodies are counted as they stream in: past the route's limit the answer is 413, and the rest is
never read.

A ``Content-Length`` over the limit is refused before the app runs. The connection stays open, so that a
client that sends its whole body before reading (most do) gets the 413 rather than a reset; uvicorn discards
the declared rest as it arrives and never holds it. A body without a length (chunked) could go on forever,
so it is counted message by message: the ``receive`` that goes over raises ``PayloadTooLarge``, which the
app's error handler turns into the 413, sent with ``Connection: close`` so the rest is never read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import PayloadTooLarge


@dataclass(frozen=True, slots=True)
class Limit:
    """The largest body a route takes: the setting's megabytes (named in the 413), plus any framing slack."""

    megabytes: float
    setting: str
    slack_bytes: int = 0

    @property
    def max_bytes(self) -> int:
        return int(self.megabytes * 1024 * 1024) + self.slack_bytes

    def refusal(self) -> str:
        return f"The request body is larger than {self.megabytes:g} MB, this route's limit ({self.setting})"


class BodyLimit:
    """ASGI middleware: every HTTP request body is held to ``default``, or to the limit of its exact path."""

    def __init__(self, app: ASGIApp, default: Limit, per_path: Mapping[str, Limit]) -> None:
        self.app = app
        self.default = default
        self.per_path = dict(per_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.default)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > limit.max_bytes:
            response = JSONResponse({"error": limit.refusal()}, status_code=413)
            await response(scope, receive, send)
            return
        received = 0
        exceeded = False

        async def counted() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit.max_bytes:
                    exceeded = True
                    raise PayloadTooLarge(limit.refusal())
            return message

        async def closing(message: Message) -> None:
            if exceeded and message["type"] == "http.response.start":
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        await self.app(scope, counted, closing)
