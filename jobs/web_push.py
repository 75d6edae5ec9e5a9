"""Web Push: one encrypted (aes128gcm), VAPID-signed notification to a browser's push service, via pywebpush."""

from __future__ import annotations

from typing import Any

import aiohttp
from pywebpush import WebPushException, webpush_async

_TTL_SECONDS = 24 * 3600
_TIMEOUT_SECONDS = 10.0


class PushRejected(Exception):
    """Raised when the push service answers with an error; ``status`` is its HTTP status (0: unreachable)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    @property
    def gone(self) -> bool:
        """404 or 410: the subscription expired or was withdrawn, and must be forgotten."""
        return self.status in (404, 410)


async def send_push(
    session: aiohttp.ClientSession, subscription: dict[str, Any], payload: str, private_key: str, subject: str
) -> int:
    """Sends one notification; returns the push service's status, or raises ``PushRejected``."""
    try:
        response = await webpush_async(
            subscription_info=subscription,
            data=payload,
            vapid_private_key=private_key,
            vapid_claims={"sub": subject},
            ttl=_TTL_SECONDS,
            timeout=_TIMEOUT_SECONDS,
            aiohttp_session=session,
        )
    except WebPushException as error:
        status = error.status_code or 0
        raise PushRejected(status, f"the push service answered {status}") from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise PushRejected(0, f"the push service is unreachable ({type(error).__name__})") from None
    return int(response.status)
