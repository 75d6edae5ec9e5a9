"""Requests for a Host the hub does not answer to get 400, in the hub's ``{"error": ...}`` shape.

Starlette's ``TrustedHostMiddleware`` decides; its own refusal is plain text, so this wraps it and answers
the refusal as JSON instead. A page on another name that resolves to this machine (DNS rebinding) is
same-origin with itself, so only this check stops it.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HostCheck:
    """ASGI middleware: ``TrustedHostMiddleware`` over ``allowed_hosts``, refusing with a JSON 400."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        self.app = app
        self.allowed_hosts = list(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def accepted(scope: Scope, receive: Receive, _: Send) -> None:
            await self.app(scope, receive, send)

        refused = False

        async def refusal(message: Message) -> None:
            # Only the check's own answer comes here (the app answers on ``send``): the plain-text 400.
            nonlocal refused
            if refused:
                return
            refused = True
            host = Headers(scope=scope).get("host", "")
            response = JSONResponse(
                {"error": f"Host {host[:200]!r} is not one this hub answers to; add it to HUB_ALLOWED_HOSTS"},
                status_code=400,
            )
            await response(scope, receive, send)

        # No www. redirect, so that every answer the check gives on its own is the refusal.
        check = TrustedHostMiddleware(accepted, allowed_hosts=self.allowed_hosts, www_redirect=False)
        await check(scope, receive, refusal)
