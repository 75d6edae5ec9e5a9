"""The Redis clients of the hub and the workers, all with the one deadline ``HUB_REDIS_TIMEOUT_SECONDS``.

A Redis that hangs (a black-holed network, a stopped process, a slow command) would otherwise hold every
caller for as long as it hangs; with a socket timeout, a call fails after the deadline and the caller
falls back on the store, which is the truth anyway.
"""

from __future__ import annotations

from arq.connections import ArqRedis
from redis.asyncio import Redis

from hub.settings import Settings


def redis_client(settings: Settings) -> Redis:
    """A client whose connects and commands each give up after the deadline."""
    deadline = settings.redis_timeout_seconds
    client: Redis = Redis.from_url(
        settings.redis_url, socket_timeout=deadline, socket_connect_timeout=deadline, health_check_interval=10
    )
    return client


def arq_client(settings: Settings) -> ArqRedis:
    """The worker's arq pool, with the same deadline (arq's own ``create_pool`` sets no socket timeout)."""
    deadline = settings.redis_timeout_seconds
    client: ArqRedis = ArqRedis.from_url(settings.redis_url, socket_timeout=deadline, socket_connect_timeout=deadline)
    return client
