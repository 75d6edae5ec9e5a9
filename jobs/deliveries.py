"""The delivery loop every worker runs: sends what the outbox holds, retries with backoff, records each try.

Deliveries live in the store (written with the terminal state), so they survive restarts of the hub and
of the workers; any worker may send any delivery, one at a time under the outbox's lock. Every attempt is
a ``webhook.delivery`` event of its execution, after the terminal event (so polling sees it, and a socket
that closed at the terminal event does not).

Each delivery is its own task under its own deadline (``HUB_DELIVERY_TIMEOUT_SECONDS``), so a slow receiver
never holds up the others; targets pass the egress guard at connect time, and answers are not read past
their status. A delivery that fails in a way nobody foresaw is recorded as failed, never retried forever.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from handlers.bodies import shown_url
from handlers.egress import EgressRefused, guarded_client
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
MAX_IN_FLIGHT = 20


@dataclass(frozen=True, slots=True)
class Attempt:
    """How one try went: sent, or not (with why), whether the target is gone, and whether trying again is futile."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    gone: bool = False
    final: bool = False


def retry_delay(attempts: int, base_seconds: float) -> float:
    """Exponential backoff after ``attempts`` failed tries, with up to 10% jitter so that retries spread out."""
    delay: float = min(MAX_DELAY_SECONDS, base_seconds * 2.0 ** (attempts - 1))
    return delay * (1 + random.random() / 10)


class Deliverer:
    """Sends due deliveries of the outbox and writes the outcome of each attempt, with its event."""

    def __init__(self, settings: Settings, store: Storage, bus: EventBus) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.outbox = store.outbox
        self.subscriptions = store.push

    async def run_forever(self) -> None:
        timeout = self.settings.delivery_timeout_seconds
        # A claim outlasts the slowest attempt, so no other worker sends a delivery that is still under way.
        lock_seconds = max(LOCK_SECONDS, 3 * timeout)
        running: set[asyncio.Task[None]] = set()
        policy = self.settings.nodes.egress_policy()
        async with guarded_client(policy, timeout=timeout, follow_redirects=False) as http:
            try:
                while True:
                    due = await self._claim(lock_seconds, MAX_IN_FLIGHT - len(running))
                    for delivery in due:
                        task = asyncio.create_task(self._deliver_logged(delivery, http), name=f"delivery-{delivery.id}")
                        running.add(task)
                        task.add_done_callback(running.discard)
                    if not due:
                        await asyncio.sleep(POLL_SECONDS)
            finally:
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

    async def _claim(self, lock_seconds: float, room: int) -> list[Delivery]:
        if room <= 0:
            return []
        try:
            return await self.outbox.claim_due(lock_seconds=lock_seconds, limit=room)
        except Exception:  # noqa: BLE001 - the loop must outlive a bad round; the outbox keeps the work
            logger.warning("could not read the delivery outbox; retrying", exc_info=True)
            return []

    async def _deliver_logged(self, delivery: Delivery, http: httpx.AsyncClient) -> None:
        try:
            await self.deliver(delivery, http)
        except Exception:  # noqa: BLE001 - the store refused the record; the claim lapses and it is tried again
            logger.warning("could not record delivery %s; it is retried", delivery.id, exc_info=True)

    async def deliver(self, delivery: Delivery, http: httpx.AsyncClient) -> None:
        """One attempt within the delivery deadline, recorded whatever happened."""
        where = shown_url(delivery.target) if delivery.kind is DeliveryKind.WEBHOOK else ""
        timeout = self.settings.delivery_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                if delivery.kind is DeliveryKind.WEBHOOK:
                    attempt = await self._webhook(delivery, http)
                else:
                    attempt, where = await self._push(delivery, http)
        except TimeoutError:
            attempt = Attempt(False, error=f"the receiver did not answer within {timeout:g} s")
        except EgressRefused as refused:
            attempt = Attempt(False, error=str(refused), final=True)
        except Exception as error:  # noqa: BLE001 - an unforeseen failure would fail the same way every time
            logger.warning("delivery %s failed unexpectedly; it is not retried", delivery.id, exc_info=True)
            attempt = Attempt(False, error=f"the delivery could not be sent ({type(error).__name__})", final=True)
        await self._record(delivery, attempt, where)

    async def _webhook(self, delivery: Delivery, http: httpx.AsyncClient) -> Attempt:
        try:
            status = await post_webhook(http, delivery.target, delivery.body, delivery.id, self.settings.webhook_secret)
        except httpx.HTTPError as error:
            return Attempt(False, error=f"the receiver is unreachable ({type(error).__name__})")
        if 200 <= status < 300:
            return Attempt(True, status)
        return Attempt(False, status, f"the receiver answered {status}")

    async def _push(self, delivery: Delivery, http: httpx.AsyncClient) -> tuple[Attempt, str]:
        subscription = await self.subscriptions.get(delivery.target)
        if subscription is None:
            return Attempt(False, error="the subscription was removed", gone=True), ""
        where = shown_url(subscription["endpoint"]).rsplit("/", 1)[0]
        if not (self.settings.vapid_private_key and self.settings.vapid_public_key):
            return Attempt(False, error="push is not set up: HUB_VAPID_PRIVATE_KEY is unset", gone=True), where
        notice: dict[str, Any] = loads(delivery.body)
        notice["url"] = f"{(self.settings.public_url or '').rstrip('/')}/ui/executions/{delivery.execution_id}"
        try:
            status = await send_push(
                http,
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
        elif attempt.final or attempts >= maximum:
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
