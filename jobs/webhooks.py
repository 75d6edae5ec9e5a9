"""Completion webhooks: the signed POST of an execution's end to its ``callbackUrl``.

The body is sent byte for byte as stored, so every attempt of one delivery carries the same signature and
the same ``X-Hub-Delivery`` id, which receivers use to ignore a repeat.
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

SIGNATURE_HEADER = "X-Hub-Signature-256"
DELIVERY_HEADER = "X-Hub-Delivery"


def signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``, as GitHub signs its webhooks."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_webhook(http: httpx.AsyncClient, url: str, body: str, delivery_id: str, secret: str | None) -> int:
    """POSTs one delivery; returns the receiver's status code (network errors raise ``httpx.HTTPError``)."""
    payload = body.encode()
    headers = {"content-type": "application/json", "user-agent": "workflow-hub", DELIVERY_HEADER: delivery_id}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, payload)
    # Only the status matters: the receiver's body is never read, so a huge or endless one costs nothing.
    async with http.stream("POST", url, content=payload, headers=headers) as response:
        return response.status_code
