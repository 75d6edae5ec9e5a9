"""Optional bearer-token auth for the API and the live channel: off unless ``HUB_API_TOKEN`` is set.

REST calls send ``Authorization: Bearer <token>``; sockets, which browsers cannot give headers, send
``?token=<token>``. A refused socket is accepted and closed with 4401, so that a client can tell "wrong
token" (stop) from a network failure (retry). The pages under ``/ui`` and ``/static`` and the health
check stay open: they hold no data.
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

CLOSE_UNAUTHORIZED = 4401
_OPEN_PATHS = frozenset({"/", "/api/health"})


class BearerAuth:
    """ASGI middleware that lets a request through only with the configured token."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token is None or not _protected(scope) or self._presented(scope):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_UNAUTHORIZED, "reason": "missing or wrong token"})
        else:
            response = JSONResponse(
                {"error": "This hub needs an access token: send Authorization: Bearer <HUB_API_TOKEN>"},
                status_code=401,
                headers={"www-authenticate": "Bearer"},
            )
            await response(scope, receive, send)

    def _presented(self, scope: Scope) -> bool:
        assert self.token is not None
        header = Headers(scope=scope).get("authorization", "")
        presented = header[7:] if header.lower().startswith("bearer ") else ""
        if not presented and scope["type"] == "websocket":
            presented = parse_qs(scope.get("query_string", b"").decode()).get("token", [""])[0]
        return hmac.compare_digest(presented.encode(), self.token.encode())


def _protected(scope: Scope) -> bool:
    if scope["type"] not in ("http", "websocket"):
        return False
    path: str = scope["path"]
    return path not in _OPEN_PATHS and path.startswith(("/api/", "/ws/"))
