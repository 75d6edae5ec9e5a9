"""Long-lived clients a worker keeps for its nodes (one MySQL pool per connection, one OpenAI client)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

logger = logging.getLogger(__name__)


class ResourceCache:
    """Opens each resource once per worker, on first use, and closes them all at shutdown."""

    def __init__(self) -> None:
        self._items: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, open_resource: Callable[[], Awaitable[Any]]) -> Any:
        if key in self._items:
            return self._items[key]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._items:
                self._items[key] = await open_resource()
        return self._items[key]

    async def close(self) -> None:
        items, self._items = self._items, {}
        for key, item in items.items():
            try:
                await _close(item)
            except Exception:  # noqa: BLE001 - one resource failing to close must not keep the others open
                logger.warning("could not close resource %s cleanly", key, exc_info=True)


async def _close(item: Any) -> None:
    for name in ("aclose", "close"):
        method = getattr(item, name, None)
        if method is not None:
            result = method()
            if inspect.isawaitable(result):
                await result
            break
    waiter = getattr(item, "wait_closed", None)
    if waiter is not None:
        with contextlib.suppress(Exception):
            await waiter()
