"""Cross-site requests may not change anything: a state-changing request whose ``Origin`` is another site's
gets 403.

Browsers send ``Origin`` on every cross-site POST, PUT and DELETE, forms included, and a page cannot forge
it; so without this check any page a developer opens could start workflows on their local hub, with its
configured credentials. Requests without ``Origin`` (curl, a Node server, another service) pass, and so do
the hub's own pages: their origin is the one the request was sent to. ``HUB_ALLOWED_ORIGINS`` (and
``HUB_PUBLIC_URL``) add more.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def same_origin(origin: str, scheme: str, host: str) -> bool:
    """Whether ``origin`` is the origin of a request sent to ``host`` over ``scheme``."""
    return origin.lower() == f"{scheme}://{host}".lower()


class OriginCheck:
    """ASGI middleware that refuses state-changing requests from origins that are not the hub's."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        """``allowed`` holds lower-cased origins without a trailing slash (``Settings.own_origins``)."""
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None or self._allowed(origin, scope["scheme"], headers.get("host", "")):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {
                "error": f"Origin {origin[:200]!r} may not call this hub: it is not the hub's own; "
                "add it to HUB_ALLOWED_ORIGINS to allow it"
            },
            status_code=403,
        )
        await response(scope, receive, send)

    def _allowed(self, origin: str, scheme: str, host: str) -> bool:
        return origin.rstrip("/").lower() in self.allowed or same_origin(origin, scheme, host)
