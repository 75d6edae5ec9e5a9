"""Completion webhooks: the signed POST of an execution's end to its ``callbackUrl``, as Standard Webhooks
(https://www.standardwebhooks.com) specifies, so that receivers verify with any of its libraries.

Every attempt of one delivery carries the same ``webhook-id`` (and ``X-Hub-Delivery``), which receivers use
to ignore a repeat, and the body byte for byte as stored. ``webhook-timestamp`` is the attempt's own time and
is signed with the id and the body, so a captured request cannot be replayed once receivers' tolerance (five
minutes in the libraries) has passed. ``X-Hub-Signature-256``, the body-only signature of earlier releases, is
still sent for one release.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import httpx

from hub.settings import webhook_signing_key

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
LEGACY_SIGNATURE_HEADER = "X-Hub-Signature-256"
DELIVERY_HEADER = "X-Hub-Delivery"


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, keyed by ``webhook_signing_key(secret)``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def legacy_signature(secret: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of the body>``, keyed by the secret as written (kept for one release)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_headers(secret: str | None, delivery_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    """The headers of one attempt: id and timestamp always, the signatures when there is a secret."""
    headers = {ID_HEADER: delivery_id, TIMESTAMP_HEADER: str(timestamp), DELIVERY_HEADER: delivery_id}
    if secret:
        headers[SIGNATURE_HEADER] = standard_signature(secret, delivery_id, timestamp, body)
        headers[LEGACY_SIGNATURE_HEADER] = legacy_signature(secret, body)
    return headers


async def post_webhook(http: httpx.AsyncClient, url: str, body: str, delivery_id: str, secret: str | None) -> int:
    """POSTs one delivery; returns the receiver's status code (network errors raise ``httpx.HTTPError``)."""
    payload = body.encode()
    headers = {
        "content-type": "application/json",
        "user-agent": "workflow-hub",
        **signed_headers(secret, delivery_id, payload, int(time.time())),
    }
    # Only the status matters: the receiver's body is never read, so a huge or endless one costs nothing.
    async with http.stream("POST", url, content=payload, headers=headers) as response:
        return response.status_code
