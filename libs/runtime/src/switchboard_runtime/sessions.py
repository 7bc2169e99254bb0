"""Sessions ended before they expire, agreed on by every replica of every service.

A session token is valid until its ``exp`` on its own; ending it sooner needs shared
state, kept in Redis under the chain's key prefix:

- ``<prefix>sessions:ended:<session id>``: one session ended (logout), kept until the
  token would have expired anyway;
- ``<prefix>sessions:ended-before:<operator id>``: every session of the operator issued
  up to that moment ended (an admin ending them, the operator deactivated), kept for the
  longest a session lives.

Every request checks both with one ``MGET`` (:func:`switchboard_runtime.auth.authenticator`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from switchboard_runtime.auth import SESSION_TTL, Session


class RevocationsUnavailable(Exception):
    """Redis could not be asked whether a session was ended."""


class SessionRevocations:
    """The ended sessions, in Redis (``redis``), under ``prefix``."""

    def __init__(
        self, redis: Redis, prefix: str = "", *, now: Callable[[], float] = time.time
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}sessions:"
        self._now = now

    def _ended_key(self, session_id: str) -> str:
        return f"{self._prefix}ended:{session_id}"

    def _ended_before_key(self, operator_id: str) -> str:
        return f"{self._prefix}ended-before:{operator_id}"

    async def end(self, session: Session) -> None:
        """End one session (logout) until the moment its token expires."""
        seconds = max(1, math.ceil(session.expires_at - self._now()))
        try:
            await self._redis.set(self._ended_key(session.session_id), "1", ex=seconds)
        except (RedisError, OSError) as exc:
            raise RevocationsUnavailable(repr(exc)) from exc

    async def end_all(self, operator_id: str) -> None:
        """End every session of ``operator_id`` issued until now; later logins are new."""
        ttl = math.ceil(SESSION_TTL.total_seconds())
        try:
            await self._redis.set(self._ended_before_key(operator_id), repr(self._now()), ex=ttl)
        except (RedisError, OSError) as exc:
            raise RevocationsUnavailable(repr(exc)) from exc

    async def is_ended(self, session: Session) -> bool:
        """Whether ``session`` was ended by :meth:`end` or :meth:`end_all`."""
        try:
            ended, ended_before = await self._redis.mget(
                self._ended_key(session.session_id),
                self._ended_before_key(session.principal.operator_id),
            )
        except (RedisError, OSError) as exc:
            raise RevocationsUnavailable(repr(exc)) from exc
        if ended is not None:
            return True
        return ended_before is not None and session.issued_at <= float(ended_before)


__all__ = ["RevocationsUnavailable", "SessionRevocations"]
