"""Which signed PBX deliveries were already accepted, in Redis (shared by every replica).

One key per accepted signature, set with ``SET NX`` and a TTL that lasts while the
delivery's timestamp is still acceptable; after that the timestamp check refuses it anyway,
so the key can go.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError


class DeliveryLogUnavailable(Exception):
    """Redis cannot be reached: the delivery can be neither checked nor remembered."""


class DeliveryLog:
    """Remembers accepted deliveries by their signature digest."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix

    def _key(self, digest: str) -> str:
        return f"{self._prefix}{digest}"

    async def first_time(self, digest: str, ttl_seconds: int) -> bool:
        """Record the delivery; False if it was recorded before (a replay)."""
        try:
            created = await self._redis.set(self._key(digest), "1", nx=True, ex=ttl_seconds)
        except RedisError as exc:
            raise DeliveryLogUnavailable(type(exc).__name__) from exc
        return bool(created)

    async def forget(self, digest: str) -> None:
        """Drop a record whose delivery was not accepted after all, so a retry of it is."""
        try:
            await self._redis.delete(self._key(digest))
        except RedisError as exc:
            raise DeliveryLogUnavailable(type(exc).__name__) from exc

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
