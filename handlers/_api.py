"""What the nodes that call a SaaS API share: a required setting, one request with a timeout, its JSON body.

Messages name the service and the host, never the URL's query or a header, which may carry a credential.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import httpx

from handlers.bodies import ByteCap, read_capped
from handlers.contract import NodeContext, NodeError


def required_setting(value: str | None, name: str, node_type: str) -> str:
    """A setting the node cannot run without; unset, the node fails saying which variable to set."""
    if not value:
        raise NodeError(f"{name} is not set; the {node_type} node needs it in the environment or .env")
    return value


async def request(ctx: NodeContext, service: str, method: str, url: str, **options: Any) -> httpx.Response:
    """One request through the worker's shared client, within the hub's HTTP timeout and response cap."""
    timeout = ctx.settings.http_timeout_seconds
    cap = ByteCap(ctx.settings.max_response_mb, "HUB_HTTP_MAX_RESPONSE_MB")
    try:
        async with asyncio.timeout(timeout), ctx.http.stream(method, url, **options) as response:
            return await read_capped(response, cap, f"{service}'s answer")
    except (TimeoutError, httpx.TimeoutException):
        raise NodeError(f"{service} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as error:
        host = urlsplit(url).hostname or url
        raise NodeError(f"Could not reach {service} at {host}: {type(error).__name__}") from None


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it is not JSON (an HTML error page from a proxy, say)."""
    try:
        return response.json()
    except ValueError:
        return None


def answered(service: str, response: httpx.Response) -> str:
    """The start of an error message: ``Twilio answered 401 Unauthorized``."""
    return f"{service} answered {response.status_code} {response.reason_phrase}".rstrip()
