"""Web Push: one encrypted (aes128gcm), VAPID-signed notification to a browser's push service.

pywebpush encrypts and py_vapid signs; the POST itself goes through the deliverer's guarded httpx client,
so the endpoint passes the egress guard at connect time, and the push service's answer is never read
beyond its status line.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from py_vapid import Vapid
from pywebpush import WebPusher

_TTL_SECONDS = 24 * 3600
_VAPID_HOURS = 12


class PushRejected(Exception):
    """Raised when the push service answers with an error; ``status`` is its HTTP status (0: unreachable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def gone(self) -> bool:
        """404 or 410: the subscription expired or was withdrawn, and must be forgotten."""
        return self.status in (404, 410)


def push_request(subscription: dict[str, Any], payload: str, private_key: str, subject: str) -> dict[str, Any]:
    """The encrypted body and the headers (VAPID included) of one notification."""
    endpoint = str(subscription["endpoint"])
    parts = urlsplit(endpoint)
    claims = {"sub": subject, "aud": f"{parts.scheme}://{parts.netloc}", "exp": int(time.time()) + _VAPID_HOURS * 3600}
    headers: dict[str, str] = dict(Vapid.from_string(private_key=private_key).sign(claims))
    headers.update({"content-encoding": "aes128gcm", "ttl": str(_TTL_SECONDS)})
    body = WebPusher(subscription).encode(payload.encode(), "aes128gcm")["body"]
    return {"content": body, "headers": headers}


async def send_push(
    http: httpx.AsyncClient, subscription: dict[str, Any], payload: str, private_key: str, subject: str
) -> int:
    """Sends one notification; returns the push service's status, or raises ``PushRejected``."""
    request = push_request(subscription, payload, private_key, subject)
    try:
        async with http.stream("POST", str(subscription["endpoint"]), **request) as response:
            status = response.status_code
    except httpx.HTTPError as error:
        raise PushRejected(0, f"the push service is unreachable ({type(error).__name__})") from None
    if status > 202:
        raise PushRejected(status, f"the push service answered {status}")
    return status
