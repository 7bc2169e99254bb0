"""The one way the services connect to Redis."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def make_redis(url: str, *, decode_responses: bool = False) -> Redis:
    """A Redis client that survives a Redis restart: a pooled connection may be stale
    afterwards, so a command that fails on the connection is tried again on a fresh one (a
    few times, quickly). Callers keep their commands idempotent, so a retry after an unseen
    success changes nothing."""
    return Redis.from_url(
        url,
        decode_responses=decode_responses,
        socket_connect_timeout=2.0,
        socket_timeout=5.0,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
