"""The delivery loop every worker runs: sends what the outbox holds, retries with backoff, records each try.

Deliveries live in the store (written with the terminal state), so they survive restarts of the hub and
of the workers; any worker may send any delivery, one at a time under the outbox's lock. Every attempt is
a ``webhook.delivery`` event of its execution, after the terminal event (so polling sees it, and a socket
that closed at the terminal event does not).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx

from hub.bus import EventBus
from hub.events import EventType, dumps, loads
from hub.settings import Settings
from hub.storage import Delivery, DeliveryKind, DeliveryStatus, Storage
from jobs.web_push import PushRejected, send_push
from jobs.webhooks import post_webhook

logger = logging.getLogger(__name__)

POLL_SECONDS = 1.0
LOCK_SECONDS = 60.0
MAX_DELAY_SECONDS = 3600.0
_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one try went: sent, or not (with why), and whether the target is gone for good."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    gone: bool = False


def retry_delay(attempts: int, base_seconds: float) -> float:
    """Exponential backoff after ``attempts`` failed tries, with up to 10% jitter so that retries spread out."""
    delay: float = min(MAX_DELAY_SECONDS, base_seconds * 2.0 ** (attempts - 1))
    return delay * (1 + random.random() / 10)


def _where(url: str) -> str:
    """A URL without its query string and credentials, which may hold tokens."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


class Deliverer:
    """Sends due deliveries of the outbox and writes the outcome of each attempt, with its event."""

    def __init__(self, settings: Settings, store: Storage, bus: EventBus) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.outbox = store.outbox
        self.subscriptions = store.push

    async def run_forever(self) -> None:
        async with (
            httpx.AsyncClient(timeout=_TIMEOUT_SECONDS, follow_redirects=False) as http,
            aiohttp.ClientSession() as session,
        ):
            while True:
                try:
                    due = await self.outbox.claim_due(lock_seconds=LOCK_SECONDS)
                except Exception:  # noqa: BLE001 - the loop must outlive a bad round; the outbox keeps the work
                    logger.warning("could not read the delivery outbox; retrying", exc_info=True)
                    due = []
                results = await asyncio.gather(
                    *(self.deliver(delivery, http, session) for delivery in due), return_exceptions=True
                )
                for delivery, result in zip(due, results, strict=True):
                    if isinstance(result, Exception):
                        logger.warning("delivery %s failed to run; it is retried", delivery.id, exc_info=result)
                if not due:
                    await asyncio.sleep(POLL_SECONDS)

    async def deliver(self, delivery: Delivery, http: httpx.AsyncClient, session: aiohttp.ClientSession) -> None:
        if delivery.kind is DeliveryKind.WEBHOOK:
            attempt = await self._webhook(delivery, http)
            where = _where(delivery.target)
        else:
            attempt, where = await self._push(delivery, session)
        await self._record(delivery, attempt, where)

    async def _webhook(self, delivery: Delivery, http: httpx.AsyncClient) -> Attempt:
        try:
            status = await post_webhook(http, delivery.target, delivery.body, delivery.id, self.settings.webhook_secret)
        except httpx.HTTPError as error:
            return Attempt(False, error=f"the receiver is unreachable ({type(error).__name__})")
        if 200 <= status < 300:
            return Attempt(True, status)
        return Attempt(False, status, f"the receiver answered {status}")

    async def _push(self, delivery: Delivery, session: aiohttp.ClientSession) -> tuple[Attempt, str]:
        subscription = await self.subscriptions.get(delivery.target)
        if subscription is None:
            return Attempt(False, error="the subscription was removed", gone=True), ""
        where = _where(subscription["endpoint"]).rsplit("/", 1)[0]
        if not (self.settings.vapid_private_key and self.settings.vapid_public_key):
            return Attempt(False, error="push is not set up: HUB_VAPID_PRIVATE_KEY is unset", gone=True), where
        notice: dict[str, Any] = loads(delivery.body)
        notice["url"] = f"{(self.settings.public_url or '').rstrip('/')}/ui/executions/{delivery.execution_id}"
        try:
            status = await send_push(
                session,
                subscription,
                dumps(notice),
                self.settings.vapid_private_key,
                self.settings.vapid_subject,
            )
        except PushRejected as error:
            if error.gone:
                await self.subscriptions.forget_endpoint(subscription["endpoint"])
            return Attempt(False, error.status or None, str(error), gone=error.gone), where
        return Attempt(True, status), where

    async def _record(self, delivery: Delivery, attempt: Attempt, where: str) -> None:
        attempts = delivery.attempts + 1
        maximum = self.settings.webhook_max_attempts
        next_at = 0.0
        if attempt.ok:
            status = DeliveryStatus.DELIVERED
        elif attempt.gone:
            status = DeliveryStatus.GONE
        elif attempts >= maximum:
            status = DeliveryStatus.FAILED
        else:
            status = DeliveryStatus.PENDING
            next_at = time.time() + retry_delay(attempts, self.settings.webhook_retry_seconds)
        await self.outbox.record(
            delivery.id, status=status, attempts=attempts, next_attempt_at=next_at, error=attempt.error
        )
        data: dict[str, Any] = {
            "deliveryId": delivery.id,
            "kind": delivery.kind.value,
            "target": where,
            "attempt": attempts,
            "maxAttempts": maximum,
            "outcome": "retrying" if status is DeliveryStatus.PENDING else status.value,
            "statusCode": attempt.status_code,
            "error": attempt.error,
        }
        if status is DeliveryStatus.PENDING:
            data["nextAttemptInSeconds"] = round(next_at - time.time(), 1)
        event = await self.store.append_event(delivery.execution_id, EventType.WEBHOOK_DELIVERY, data)
        await self.bus.publish([event])
        if status is DeliveryStatus.FAILED:
            logger.warning("gave up on %s delivery %s after %d attempts", delivery.kind, delivery.id, attempts)
